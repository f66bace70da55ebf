"""The loyalty program of one tenant: the whole rule set, as one validated document.

A ``Program`` is what a vertical preset holds, what the JSON API accepts to post a new
version, and what every domain function takes to know the rules in force. Units are in the
field names: ``*_fen`` is money in fen (integer minor units), ``*_bp`` a share in basis
points (10 000 = 100 %), ``*_price_bp`` the share of the price the member pays (8800 means
"pay 88 %", i.e. 8.8折), ``*_months`` / ``*_days`` calendar units. Every number is a
tenant's choice; SPEC numbers only appear as defaults in the presets.

The defaults here are the one source of what an omitted field means, for a version posted through
the API or the CLI and for the blank preset alike: ``presets/blank.json`` sets only what has no
default (a test keeps it so). In particular: no return window (points and tier spend count at once,
``pending_days`` 0), stored value off (when turned on: PIN required, refund on closing), a points
shortfall on returns deducted from the refund. Changing a default changes the meaning of stored
versions that omit the field: migrate them (see migration 0009) so history keeps its rules.

Invalid documents raise ``pydantic.ValidationError`` whose locations name the field
(cross-references such as an unknown tier code are reported on the field that holds them).
The document's own rules raise ``ProgramRuleError``: a stable code and params that the app
translates (tenants/services/programs.py), with an English sentence for logs.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from tenants.domain.errors import DomainError

CURRENT_SCHEMA_VERSION = 1


class ProgramRuleError(ValueError):
    """A broken rule of the program document: ``code`` is stable (see ``PROGRAM_RULE_CODES``), ``params``
    fill the translated message; ``str()`` is the English sentence (logs, CLI without a language)."""

    def __init__(self, code: str, english: str, /, **params: object) -> None:
        if code not in PROGRAM_RULE_CODES:  # a typo would reach users untranslated
            raise ValueError(f"unknown program rule code {code!r}")
        super().__init__(english)
        self.code = code
        self.params = dict(params)


# Every code a program document may be refused with, so the app can check its catalogue is complete.
PROGRAM_RULE_CODES: frozenset[str] = frozenset({
    "text_missing", "earning_classes_not_from_full_price", "earning_classes_not_increasing",
    "earning_class_codes_not_unique", "rolling_expiry_needs_months", "abc_shares_not_whole",
    "schema_version_unsupported", "card_type_codes_not_unique", "several_default_card_types",
    "tier_codes_not_unique", "base_tier_has_keep", "unknown_tier_codes", "payment_rules_same_start",
    "rolling_expiry_needs_days", "unknown_category_codes", "category_codes_not_unique", "from_tiers_not_lower",
})

NonNegative = Annotated[int, Field(ge=0)]
Positive = Annotated[int, Field(ge=1)]
PriceBP = Annotated[int, Field(ge=0, le=10_000)]
ShareBP = Annotated[int, Field(ge=0, le=10_000)]
Months = Annotated[int, Field(ge=1, le=1200)]
Code = Annotated[str, Field(min_length=1, max_length=40, pattern=r"^[a-z0-9][a-z0-9_\-]*$")]
Locale = Literal["zh_CN", "en"]


class _Model(BaseModel):
    # Unknown keys are refused so a typo in a posted program is an error, not a silent default;
    # every section may carry a free ``description`` to document the tenant's choices.
    model_config = ConfigDict(extra="forbid", frozen=True)

    description: str = ""


class LocalizedText(BaseModel):
    """A text shown to people, in Simplified Chinese and English (at least one given)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    zh_CN: str = ""
    en: str = ""

    @model_validator(mode="after")
    def _one_language_at_least(self) -> LocalizedText:
        if not (self.zh_CN.strip() or self.en.strip()):
            raise ProgramRuleError("text_missing", "give the text in zh_CN or en")
        return self

    def text(self, locale: str = "zh_CN") -> str:
        """The text in ``locale`` ("zh_CN", "zh", "en", "en_US" ...), falling back to the other language."""
        wanted = self.en if locale.lower().startswith("en") else self.zh_CN
        return wanted or self.zh_CN or self.en


# --- enrolment (§3) ------------------------------------------------------------------------


class FreeSignUp(_Model):
    kind: Literal["free"] = "free"


class SinglePurchaseEnrolment(_Model):
    """Enrol with one purchase of at least ``min_fen`` of goods money."""

    kind: Literal["single_purchase"]
    min_fen: Positive


class CumulativePurchaseEnrolment(_Model):
    """Enrol once purchases within the last ``months`` months add up to ``min_fen``."""

    kind: Literal["cumulative_purchase"]
    min_fen: Positive
    months: Months


class CardFeeEnrolment(_Model):
    """Enrol by paying the card fee of the card type issued (``fee_fen`` when given, else the card's)."""

    kind: Literal["card_fee"]
    fee_fen: NonNegative | None = None


class GiftCardEnrolment(_Model):
    """Enrol by activating a gift card handed out before opening, within ``activation_days`` of opening."""

    kind: Literal["gift_card"]
    activation_days: Positive


EnrolmentCondition = Annotated[
    FreeSignUp | SinglePurchaseEnrolment | CumulativePurchaseEnrolment | CardFeeEnrolment | GiftCardEnrolment,
    Field(discriminator="kind"),
]


class Enrolment(_Model):
    """How one becomes a member: any one condition suffices."""

    conditions: list[EnrolmentCondition] = Field(min_length=1)
    real_name_required: bool = False
    approval_for_identity_changes: bool = False


# --- cards (§4) ----------------------------------------------------------------------------


class CardFeeWaiver(_Model):
    """The card fee is waived when the member tops up at least ``min_fen`` at once."""

    kind: Literal["top_up_at_least"] = "top_up_at_least"
    min_fen: Positive


class CardRenewal(_Model):
    """The card is renewed for ``extend_months`` when ``min`` (points or fen) was earned/spent in its period."""

    measure: Literal["points_earned", "spend"] = "points_earned"
    min: NonNegative
    extend_months: Months


class CardType(_Model):
    code: Code
    name: LocalizedText
    default: bool = False
    fee_fen: NonNegative = 0
    fee_waivers: list[CardFeeWaiver] = []
    validity_months: Months | None = None  # None: valid for life
    renewal: CardRenewal | None = None
    pin_required: bool = False
    replacement_fee_fen: NonNegative = 0
    replacement_delay_working_days: NonNegative = 0
    exchange_fee_fen: NonNegative = 0


# --- tiers (§5) ----------------------------------------------------------------------------

Window = Literal["calendar_year", "rolling_12_months", "since_tier_start", "current_period", "lifetime"]


class CumulativeReach(_Model):
    """Reached when ``measure`` (spend in fen, or purchase points) within ``window`` reaches ``min``.

    Windows: calendar_year = 1 Jan to the day; rolling_12_months = (day − 12 months, day];
    since_tier_start = after the day the current tier began; current_period = the current
    validity period of the current tier; lifetime = everything (bounded by a counter reset).
    """

    kind: Literal["cumulative"]
    measure: Literal["spend", "points"] = "spend"
    window: Window = "lifetime"
    min: Positive
    from_tiers: list[Code] = []  # only members on one of these tiers (empty: any lower tier)


class SinglePurchaseReach(_Model):
    """Reached by one purchase whose goods money is at least ``min_fen``.

    Like the cumulative and top-up rules it may be limited to members on ``from_tiers``: "as silver, one
    purchase ≥ ¥1,500 → gold" beside "from the base tier, one purchase ≥ ¥2,000 → gold".
    """

    kind: Literal["single_purchase"]
    min_fen: Positive
    from_tiers: list[Code] = []  # only members on one of these tiers (empty: any lower tier)


class SingleTopUpReach(_Model):
    """Reached by one top-up of at least ``min_fen`` (the bonus does not count)."""

    kind: Literal["single_top_up"]
    min_fen: Positive
    from_tiers: list[Code] = []  # only members on one of these tiers (empty: any lower tier)


class FeeReach(_Model):
    """Reached by paying a tier fee of ``fee_fen``."""

    kind: Literal["fee"]
    fee_fen: Positive


class HqGrantReach(_Model):
    """Granted by head office only."""

    kind: Literal["hq_grant"]


class CampaignGrantReach(_Model):
    """Granted by a campaign; the grant lasts ``validity_months`` from the grant day."""

    kind: Literal["campaign_grant"]
    validity_months: Months


ReachRule = Annotated[
    CumulativeReach | SinglePurchaseReach | SingleTopUpReach | FeeReach | HqGrantReach | CampaignGrantReach,
    Field(discriminator="kind"),
]


class KeepRule(_Model):
    """The keep threshold: renewal bar of the tier, and the bar for landing on it when falling.

    Measured over the current validity period, in fen (spend) or points (purchase points).
    """

    measure: Literal["spend", "points"] = "spend"
    min: NonNegative


class Downgrade(_Model):
    """At the end of a period below the keep bar: fall at once, or after ``periods`` such periods in a row."""

    mode: Literal["at_expiry", "after_consecutive_periods"] = "at_expiry"
    periods: Positive = 1


class BirthdayBenefit(_Model):
    """Birthday benefits: a price rate (the better of it and the tier's applies), a gift, bonus points."""

    price_bp: PriceBP | None = None
    window: Literal["day", "month"] = "day"
    gift: LocalizedText | None = None
    bonus_points: NonNegative = 0


class Benefits(_Model):
    """What a tier gives at the counter (§6).

    ``discount_price_bp`` applies to regular-price goods (and to marked-down goods too when
    ``combinable``); ``category_price_bp`` replaces it for a category (hotel rooms vs dining);
    special offers and ``excluded_categories`` never get a tier discount.
    """

    discount_price_bp: PriceBP | None = None
    category_price_bp: dict[str, PriceBP] = {}
    excluded_categories: list[str] = []
    combinable: bool = False
    points_multiplier: Decimal = Field(default=Decimal(1), ge=0, le=100, decimal_places=4)
    birthday: BirthdayBenefit | None = None
    perks: list[LocalizedText] = []


class Tier(_Model):
    code: Code
    name: LocalizedText
    reach: list[ReachRule] = []
    validity_months: Months | None = None  # None: for life
    keep: KeepRule | None = None
    downgrade: Downgrade = Downgrade()
    reset_counter_on_change: bool = False
    benefits: Benefits = Benefits()


class LinkedThreshold(_Model):
    """A linked group's own bars for one tier: replaces the cumulative reach ``min`` and the keep ``min``."""

    reach_min: Positive | None = None
    keep_min: NonNegative | None = None


class LinkedCards(_Model):
    """Couple/family cards: members share one tier, measured on the group's combined activity."""

    kinds: list[Literal["couple", "family"]] = Field(default=["couple", "family"], min_length=1)
    max_members: Annotated[int, Field(ge=2, le=20)] = 4
    thresholds: dict[str, LinkedThreshold] = {}
    anniversary_gift: LocalizedText | None = None


# --- points (§7) ---------------------------------------------------------------------------


class EarnRate(_Model):
    """``points`` points for every ``per_fen`` fen of money that earns (1 per 100 = ¥1 → 1 point)."""

    points: Positive = 1
    per_fen: Positive = 100


class EarningClass(_Model):
    """Lines whose markdown is at least ``min_off_bp`` (of the regular price) earn ``earn_bp`` of the rate."""

    code: Code
    name: LocalizedText | None = None
    min_off_bp: ShareBP
    earn_bp: ShareBP


class Earning(_Model):
    base: EarnRate = EarnRate()
    classes: list[EarningClass] = Field(
        default=[EarningClass(code="regular", min_off_bp=0, earn_bp=10_000)], min_length=1
    )
    special_earn_bp: ShareBP = 0
    excluded_tenders: list[str] = []
    excluded_line_kinds: list[str] = ["shipping", "card_fee", "top_up", "red_packet"]
    first_purchase_earns: bool = True
    referral_points: NonNegative = 0
    pending_days: Annotated[int, Field(ge=0, le=366)] = 0  # the return window: 0 = counts at once

    @field_validator("classes")
    @classmethod
    def _classes_ascend_from_full_price(cls, classes: list[EarningClass]) -> list[EarningClass]:
        bounds = [c.min_off_bp for c in classes]
        if bounds[0] != 0:
            raise ProgramRuleError("earning_classes_not_from_full_price",
                                   "the first earning class must start at min_off_bp 0 (full price)")
        if any(later <= earlier for earlier, later in zip(bounds, bounds[1:], strict=False)):
            raise ProgramRuleError("earning_classes_not_increasing",
                                   "earning classes must have strictly increasing min_off_bp")
        if len({c.code for c in classes}) != len(classes):
            raise ProgramRuleError("earning_class_codes_not_unique", "earning class codes must be unique")
        return classes


class PointsPaymentRule(_Model):
    """From ``from_points`` points offered, each ``step_points`` points pay ``step_fen`` of goods; the offer
    must be whole steps ("2000 points pay ¥150": from 2000, steps of 2000, ¥150 a step)."""

    from_points: Positive
    step_points: Positive
    step_fen: Positive


class PointsPayment(_Model):
    """Points as payment for goods: ``points`` points are worth ``fen`` fen (100 points = 100 fen).

    With ``rules``, the rule is chosen by the points offered: the one with the highest ``from_points`` not
    above the offer ("from 5000 points, each 1000 points pay ¥90" beside "2000 points pay ¥150"); an offer
    below every rule fits none and is refused. ``points``/``fen`` then only value a return's shortfall.
    """

    enabled: bool = True
    points: Positive = 100
    fen: Positive = 100
    min_points: Positive = 1
    max_share_bp: ShareBP = 10_000  # of the goods amount left after vouchers
    rules: list[PointsPaymentRule] = []

    @field_validator("rules")
    @classmethod
    def _one_rule_per_threshold(cls, rules: list[PointsPaymentRule]) -> list[PointsPaymentRule]:
        starts = [r.from_points for r in rules]
        if len(set(starts)) != len(starts):
            raise ProgramRuleError("payment_rules_same_start",
                                   "two points-payment rules start at the same number of points")
        return sorted(rules, key=lambda r: r.from_points)


class CatalogueItem(_Model):
    code: Code
    name: LocalizedText
    points: Positive
    kind: Literal["gift", "voucher"] = "gift"
    value_fen: NonNegative = 0


class ThresholdReward(_Model):
    """A points threshold reward.

    ``every``: each ``points`` points buy one reward (2000 → a ¥200 voucher);
    ``at_least``: one reward for ``points`` points once the balance reaches them.
    """

    code: Code
    name: LocalizedText
    mode: Literal["every", "at_least"] = "every"
    points: Positive
    voucher_fen: NonNegative = 0
    gift: LocalizedText | None = None


class SteppedRate(_Model):
    """From ``from_points`` points on, each ``step_points`` points buy ``value_fen`` of goods."""

    from_points: NonNegative
    step_points: Positive
    value_fen: Positive


class NightsRule(_Model):
    points_per_night: Positive
    room_type: LocalizedText | None = None


class RedemptionWindow(_Model):
    """Redemption is open only in these calendar months (1–12)."""

    months: list[Annotated[int, Field(ge=1, le=12)]] = Field(min_length=1)


class Redemption(_Model):
    payment: PointsPayment = PointsPayment()
    catalogue: list[CatalogueItem] = []
    threshold_rewards: list[ThresholdReward] = []
    stepped: list[SteppedRate] = []
    nights: NightsRule | None = None
    window: RedemptionWindow | None = None
    issuing_store_only: bool = False


class Expiry(_Model):
    """When earned points expire, counted from the purchase date (§19.10).

    never; end_of_next_year (usable until 31 Dec of the following year); rolling_months
    (``months`` after earning); rolling_days (``days`` after earning); window_close (at the end of
    the next redemption window).
    """

    mode: Literal["never", "end_of_next_year", "rolling_months", "rolling_days", "window_close"] = "never"
    months: Months | None = None
    days: Annotated[int, Field(ge=1, le=36_600)] | None = None

    @model_validator(mode="after")
    def _length_for_rolling(self) -> Expiry:
        if self.mode == "rolling_months" and self.months is None:
            raise ProgramRuleError("rolling_expiry_needs_months", "rolling_months expiry needs months")
        if self.mode == "rolling_days" and self.days is None:
            raise ProgramRuleError("rolling_expiry_needs_days", "rolling_days expiry needs days")
        return self


# --- stored value (§8) ---------------------------------------------------------------------


class TopUpBonus(_Model):
    """One row of top-up bonuses, matched when a single top-up is at least ``min_top_up_fen``."""

    min_top_up_fen: Positive
    bonus_fen: NonNegative = 0
    waive_card_fee: bool = False
    unlock_tier: str | None = None
    unlock_category_price_bp: dict[str, PriceBP] = {}


class StoredValue(_Model):
    enabled: bool = False  # a program offers stored value only when it says so
    min_top_up_fen: NonNegative = 0
    bonus_rows: list[TopUpBonus] = []
    pin_required: bool = True
    expiry_months: Months | None = None
    refund_on_close: bool = True
    refund_bonus: bool = False


class Returns(_Model):
    """What happens when points to take back were already spent (§7, §19.11)."""

    shortfall_policy: Literal["deduct_from_refund", "write_off"] = "deduct_from_refund"


class StoreRule(_Model):
    """Per-store (mall alliance merchant) overrides: earning rate, discount, whether the card is honoured."""

    name: LocalizedText | None = None
    floor: str | None = None
    honours_card: bool = True
    earn: EarnRate | None = None
    discount_price_bp: PriceBP | None = None
    tier_discount_price_bp: dict[str, PriceBP] = {}


# --- segments (§10) ------------------------------------------------------------------------


class AbcRules(_Model):
    mode: Literal["spend_rank", "points_bands"] = "spend_rank"
    period_months: Months = 12
    shares_bp: list[ShareBP] = Field(default=[2000, 3000, 5000], min_length=3, max_length=3)
    a_min_points: NonNegative = 3000
    b_min_points: NonNegative = 1500

    @field_validator("shares_bp")
    @classmethod
    def _shares_make_a_whole(cls, shares: list[int]) -> list[int]:
        if sum(shares) != 10_000:
            raise ProgramRuleError("abc_shares_not_whole", "A, B and C shares must add up to 10000 bp")
        return shares


class RfmRules(_Model):
    """A dimension is "high" when recency ≤ ``recent_days``, visits ≥ ``frequent_visits``, spend ≥ ``monetary_fen``."""

    period_months: Months = 12
    recent_days: Positive = 90
    frequent_visits: Positive = 3
    monetary_fen: Positive = 300_000


class LifecycleRules(_Model):
    new_days: Positive = 30
    dormant_months: Months = 3
    lost_months: Months = 6
    familiar_visits: Positive = 3
    falling_drop_bp: ShareBP = 3000


class Segments(_Model):
    abc: AbcRules = AbcRules()
    rfm: RfmRules = RfmRules()
    lifecycle: LifecycleRules = LifecycleRules()


# --- member care (§11), read by the care jobs ----------------------------------------------


class FollowUpRule(_Model):
    """A follow-up task created ``after_days`` after ``trigger`` (for large purchases: at least ``min_fen``)."""

    code: Code
    name: LocalizedText
    trigger: Literal[
        "first_purchase", "enrolment", "large_purchase", "referral", "dormant", "complaint", "chronic_refill"
    ]
    after_days: NonNegative = 0
    min_fen: Positive | None = None


class Care(_Model):
    follow_ups: list[FollowUpRule] = []
    message_occasions: list[str] = []


# --- goods categories (§6) -----------------------------------------------------------------


class Category(_Model):
    """A category of goods the tenant sells (hotel rooms, dining; prescription drugs ...).

    Rules name categories by ``code`` (tier rates, exclusions, rates unlocked by top-ups); staff
    see and choose the ``name``. A line of a purchase carries the code.
    """

    code: Code
    name: LocalizedText


# Names for the codes the first presets used, for a program version written before categories were listed.
KNOWN_CATEGORY_NAMES = {
    "rooms": {"zh_CN": "客房", "en": "Rooms"},
    "dining": {"zh_CN": "餐饮", "en": "Dining"},
    "prescription": {"zh_CN": "处方药", "en": "Prescription drugs"},
}


def _category_codes_named(data: dict) -> list[str]:
    """The category codes a raw program document's rules name, in the order they first appear."""
    codes: list[str] = []
    for tier in data.get("tiers") or []:
        benefits = tier.get("benefits") if isinstance(tier, dict) else None
        if isinstance(benefits, dict):
            codes += [*(benefits.get("category_price_bp") or {}), *(benefits.get("excluded_categories") or [])]
    stored = data.get("stored_value")
    for row in (stored.get("bonus_rows") or []) if isinstance(stored, dict) else []:
        if isinstance(row, dict):
            codes += list(row.get("unlock_category_price_bp") or {})
    return list(dict.fromkeys(c for c in codes if isinstance(c, str)))


def _check_category_codes(codes, info: ValidationInfo) -> None:
    categories = info.data.get("categories")
    if categories is None:  # the list already failed; its own error says why
        return
    unknown = sorted(set(codes) - {c.code for c in categories})
    if unknown:
        raise ProgramRuleError("unknown_category_codes",
                               f"unknown category code(s): {', '.join(unknown)} (list them under categories)",
                               codes=", ".join(unknown))


# --- the program ---------------------------------------------------------------------------


class Program(_Model):
    """A tenant's whole loyalty program (one version). Tiers are ordered from the base tier up."""

    schema_version: int = CURRENT_SCHEMA_VERSION
    vertical: str = "blank"
    name: LocalizedText
    currency: str = Field(default="CNY", pattern=r"^[A-Z]{3}$")
    enrolment: Enrolment = Enrolment(conditions=[FreeSignUp()])
    card_types: list[CardType] = Field(min_length=1)
    # Before the rules that name them (validators read it). Absent in a document: the codes its rules
    # name, so versions written before the list existed stay valid.
    categories: list[Category] = []
    tiers: list[Tier] = Field(min_length=1)
    linked_cards: LinkedCards | None = None
    earning: Earning = Earning()
    redemption: Redemption = Redemption()
    expiry: Expiry = Expiry()
    stored_value: StoredValue = StoredValue()
    returns: Returns = Returns()
    stores: dict[str, StoreRule] = {}
    segments: Segments = Segments()
    care: Care = Care()

    @model_validator(mode="before")
    @classmethod
    def _categories_default_to_those_named(cls, data):
        if isinstance(data, dict) and "categories" not in data:
            data = {**data, "categories": [
                {"code": code, "name": KNOWN_CATEGORY_NAMES.get(code, {"zh_CN": code, "en": code})}
                for code in _category_codes_named(data)]}
        return data

    @field_validator("categories")
    @classmethod
    def _categories_unique(cls, categories: list[Category]) -> list[Category]:
        if len({c.code for c in categories}) != len(categories):
            raise ProgramRuleError("category_codes_not_unique", "category codes must be unique")
        return categories

    @field_validator("schema_version")
    @classmethod
    def _known_version(cls, version: int) -> int:
        if version != CURRENT_SCHEMA_VERSION:
            raise ProgramRuleError("schema_version_unsupported",
                                   f"schema_version {version} is not supported (expected {CURRENT_SCHEMA_VERSION})",
                                   version=version, expected=CURRENT_SCHEMA_VERSION)
        return version

    @field_validator("card_types")
    @classmethod
    def _card_types_unique(cls, card_types: list[CardType]) -> list[CardType]:
        if len({c.code for c in card_types}) != len(card_types):
            raise ProgramRuleError("card_type_codes_not_unique", "card type codes must be unique")
        if sum(c.default for c in card_types) > 1:
            raise ProgramRuleError("several_default_card_types", "at most one card type is the default")
        return card_types

    @field_validator("tiers")
    @classmethod
    def _tiers_well_formed(cls, tiers: list[Tier], info: ValidationInfo) -> list[Tier]:
        if len({t.code for t in tiers}) != len(tiers):
            raise ProgramRuleError("tier_codes_not_unique", "tier codes must be unique")
        lower: set[str] = set()
        for tier in tiers:
            for rule in tier.reach:
                outside = sorted(set(getattr(rule, "from_tiers", [])) - lower)
                if outside:
                    raise ProgramRuleError("from_tiers_not_lower",
                                           f"tier {tier.code}: from_tiers must name lower tiers ({', '.join(outside)})",
                                           tier=tier.code, codes=", ".join(outside))
            lower.add(tier.code)
        base = tiers[0]
        # Every fall ends somewhere: the base tier is the floor. It may run in periods of its own (a base card
        # valid a year), which start again at their end, but it has no keep threshold to fall from.
        if base.keep is not None:
            raise ProgramRuleError("base_tier_has_keep", "the base (first) tier has no keep threshold")
        _check_category_codes([c for t in tiers for c in [*t.benefits.category_price_bp,
                                                          *t.benefits.excluded_categories]], info)
        return tiers

    @field_validator("linked_cards")
    @classmethod
    def _linked_tiers_exist(cls, linked: LinkedCards | None, info: ValidationInfo) -> LinkedCards | None:
        if linked is not None:
            _check_tier_codes(linked.thresholds, info)
        return linked

    @field_validator("stored_value")
    @classmethod
    def _unlocked_tiers_exist(cls, stored: StoredValue, info: ValidationInfo) -> StoredValue:
        _check_tier_codes([r.unlock_tier for r in stored.bonus_rows if r.unlock_tier], info)
        _check_category_codes([c for r in stored.bonus_rows for c in r.unlock_category_price_bp], info)
        return stored

    @field_validator("stores")
    @classmethod
    def _store_tiers_exist(cls, stores: dict[str, StoreRule], info: ValidationInfo) -> dict[str, StoreRule]:
        for rule in stores.values():
            _check_tier_codes(rule.tier_discount_price_bp, info)
        return stores

    # -- look-ups used by the rules --

    def tier(self, code: str) -> Tier:
        """The tier with ``code``; DomainError unknown_tier otherwise."""
        return self.tiers[self.tier_index(code)]

    def tier_index(self, code: str) -> int:
        for index, tier in enumerate(self.tiers):
            if tier.code == code:
                return index
        raise DomainError("unknown_tier", tier=code)

    @property
    def base_tier(self) -> Tier:
        return self.tiers[0]

    def category(self, code: str) -> Category | None:
        """The listed category with ``code``, or None (a line without a category, or an unknown code)."""
        return next((c for c in self.categories if c.code == code), None)

    def category_name(self, code: str, locale: str = "zh_CN") -> str:
        """What staff call category ``code``; the code itself when the program does not list it."""
        category = self.category(code)
        return category.name.text(locale) if category else code

    def card_type(self, code: str | None = None) -> CardType:
        """The card type with ``code``, or the default one (the first when none is marked)."""
        if code is None:
            return next((c for c in self.card_types if c.default), self.card_types[0])
        for card_type in self.card_types:
            if card_type.code == code:
                return card_type
        raise DomainError("unknown_card_type", card_type=code)


def _check_tier_codes(codes, info: ValidationInfo) -> None:
    tiers = info.data.get("tiers")
    if tiers is None:  # tiers already failed; their own error says why
        return
    known = {t.code for t in tiers}
    unknown = sorted(set(codes) - known)
    if unknown:
        raise ProgramRuleError("unknown_tier_codes", f"unknown tier code(s): {', '.join(unknown)}",
                               codes=", ".join(unknown))
