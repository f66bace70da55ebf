"""Program changes and versions in a shop owner's words, in the reader's language (zh_CN first, English).

One label catalogue: ``LABELS`` names every field path of the `Program` model as `program_diff` writes it
(``tiers.*.keep.min``), ``NOUNS`` the things one adds or removes (a tier, a card type) and the sub-sections
whose name goes before their fields' labels. Values are shown in shop-owner units: money as ¥ with thousands
separators, a price share as 折 (8.8折 / "pay 88%"), shares as %, months and days with their unit, yes/no,
names in the reader's language. `sentence(change, old, new)` is one line such as
"金卡：升级门槛 累计消费 ¥10,000 → ¥8,000"; `grouped_sentences` groups a comparison by part; `summary` is a
version's rules part by part.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from babel.numbers import format_decimal
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from tenants.domain.program_diff import KIND_LISTS, MAPS, Change, as_document, diff_programs, facts, lookup

PARTS = {
    "description": _l("Description"), "schema_version": _l("Format"), "vertical": _l("Trade"),
    "name": _l("Program name"), "currency": _l("Currency"), "enrolment": _l("Enrolment"),
    "card_types": _l("Card types"), "categories": _l("Goods categories"), "tiers": _l("Tiers"),
    "linked_cards": _l("Couple and family cards"), "earning": _l("Earning points"),
    "redemption": _l("Using points"), "expiry": _l("Points expiry"), "stored_value": _l("Stored value"),
    "returns": _l("Returns"), "stores": _l("Store rules"), "segments": _l("Member segments"),
    "care": _l("Member care"),
}
GENERAL = ("description", "schema_version", "vertical", "name", "currency")  # one group: "General"

# Things added or removed (items of lists and maps, optional sections), and sub-sections named before their fields.
NOUNS = {
    "enrolment.conditions.free": _l("free sign-up"),
    "enrolment.conditions.single_purchase": _l("enrol with one purchase"),
    "enrolment.conditions.cumulative_purchase": _l("enrol with purchases adding up"),
    "enrolment.conditions.card_fee": _l("enrol by paying the card fee"),
    "enrolment.conditions.gift_card": _l("enrol by activating a gift card"),
    "card_types.*": _l("card type"),
    "card_types.*.fee_waivers.*": _l("card fee waived for a top-up of at least %(key)s"),
    "card_types.*.renewal": _l("card renewal"),
    "categories.*": _l("category"),
    "tiers.*": _l("tier"),
    "tiers.*.reach.cumulative": _l("reach by cumulative %(measure)s"),
    "tiers.*.reach.single_purchase": _l("reach by one purchase"),
    "tiers.*.reach.single_top_up": _l("reach by one top-up"),
    "tiers.*.reach.fee": _l("reach by paying a tier fee"),
    "tiers.*.reach.hq_grant": _l("granted by head office"),
    "tiers.*.reach.campaign_grant": _l("granted by a campaign"),
    "tiers.*.keep": _l("keep threshold"),
    "tiers.*.downgrade": _l("downgrade"),
    "tiers.*.benefits": _l("benefits"),
    "tiers.*.benefits.category_price_bp.*": _l("price for %(key)s"),
    "tiers.*.benefits.birthday": _l("birthday"),
    "linked_cards": _l("couple and family cards"),
    "linked_cards.thresholds.*": _l("linked bars for %(key)s"),
    "earning.base": _l("base rate"),
    "earning.classes.*": _l("earning class"),
    "redemption.payment": _l("points as payment"),
    "redemption.payment.rules.*": _l("payment rule from %(key)s points"),
    "redemption.catalogue.*": _l("reward"),
    "redemption.threshold_rewards.*": _l("threshold reward"),
    "redemption.stepped.*": _l("stepped rate from %(key)s points"),
    "redemption.nights": _l("points for nights"),
    "redemption.window": _l("redemption window"),
    "stored_value.bonus_rows.*": _l("top-up bonus from %(key)s"),
    "stored_value.bonus_rows.*.unlock_category_price_bp.*": _l("unlocked price for %(key)s"),
    "stores.*": _l("store rule"),
    "stores.*.earn": _l("earning rate"),
    "stores.*.tier_discount_price_bp.*": _l("price for %(key)s"),
    "segments.abc": _l("ABC classes"),
    "segments.rfm": _l("RFM"),
    "segments.lifecycle": _l("lifecycle"),
    "care.follow_ups.*": _l("follow-up"),
}

# Field labels by path; a path not listed is labelled by its field's name (FIELD_LABELS). "" = the noun alone.
LABELS = {
    "description": _l("Description of the program"),
    "schema_version": _l("Format version"),
    "vertical": _l("Trade"),
    "name": _l("Program name"),
    "currency": _l("Currency"),
    "enrolment.conditions": _l("ways to enrol"),
    "earning.classes": _l("earning classes"),
    "enrolment.real_name_required": _l("real name required"),
    "enrolment.approval_for_identity_changes": _l("changes of name or ID need approval"),
    "enrolment.conditions.single_purchase.min_fen": _l("enrol with one purchase of at least"),
    "enrolment.conditions.cumulative_purchase.min_fen": _l("enrol with purchases adding up to"),
    "enrolment.conditions.cumulative_purchase.months": _l("enrol with purchases adding up within"),
    "enrolment.conditions.card_fee.fee_fen": _l("enrolment card fee"),
    "enrolment.conditions.gift_card.activation_days": _l("gift card activation within"),
    "card_types.*.default": _l("default card"),
    "card_types.*.fee_fen": _l("card fee"),
    "card_types.*.fee_waivers": _l("card fee waivers"),
    "card_types.*.fee_waivers.*.min_fen": _l("card fee waived for a top-up of at least"),
    "card_types.*.validity_months": _l("valid for"),
    "card_types.*.renewal.min": _l("card renewal, %(measure)s at least"),
    "card_types.*.renewal.extend_months": _l("card renewal extends by"),
    "card_types.*.pin_required": _l("PIN required"),
    "card_types.*.replacement_fee_fen": _l("replacement fee"),
    "card_types.*.replacement_delay_working_days": _l("replacement takes"),
    "card_types.*.exchange_fee_fen": _l("exchange fee"),
    "tiers.*.reach": _l("how the tier is reached"),
    "tiers.*.reach.cumulative.min": _l("reach threshold, cumulative %(measure)s"),
    "tiers.*.reach.cumulative.measure": _l("reach threshold, measured by"),
    "tiers.*.reach.cumulative.window": _l("reach threshold, counted over"),
    "tiers.*.reach.single_purchase.min_fen": _l("reach threshold, one purchase"),
    "tiers.*.reach.single_top_up.min_fen": _l("reach threshold, one top-up"),
    "tiers.*.reach.fee.fee_fen": _l("tier fee"),
    "tiers.*.reach.campaign_grant.validity_months": _l("campaign grant lasts"),
    "tiers.*.validity_months": _l("tier valid for"),
    "tiers.*.keep.min": _l("keep threshold, %(measure)s in the period"),
    "tiers.*.keep.measure": _l("keep threshold, measured by"),
    "tiers.*.downgrade.mode": _l("downgrade"),
    "tiers.*.downgrade.periods": _l("downgrade after periods below the bar"),
    "tiers.*.reset_counter_on_change": _l("counter starts again on a tier change"),
    "tiers.*.benefits.discount_price_bp": _l("member price"),
    "tiers.*.benefits.category_price_bp": _l("prices by category"),
    "tiers.*.benefits.category_price_bp.*": _l("price for %(key)s"),
    "tiers.*.benefits.excluded_categories": _l("categories without a discount"),
    "tiers.*.benefits.combinable": _l("discount also on marked-down goods"),
    "tiers.*.benefits.points_multiplier": _l("points multiplier"),
    "tiers.*.benefits.birthday.price_bp": _l("birthday price"),
    "tiers.*.benefits.birthday.window": _l("birthday benefits during"),
    "tiers.*.benefits.birthday.gift": _l("birthday gift"),
    "tiers.*.benefits.birthday.bonus_points": _l("birthday bonus points"),
    "tiers.*.benefits.perks": _l("perks"),
    "linked_cards.kinds": _l("kinds"),
    "linked_cards.max_members": _l("members per card at most"),
    "linked_cards.thresholds": _l("bars of linked groups"),
    "linked_cards.thresholds.*.reach_min": _l("linked group reach threshold for %(key)s"),
    "linked_cards.thresholds.*.keep_min": _l("linked group keep threshold for %(key)s"),
    "linked_cards.anniversary_gift": _l("anniversary gift"),
    "earning.base.points": _l("base rate, points"),
    "earning.base.per_fen": _l("base rate, for every"),
    "earning.classes.*.min_off_bp": _l("from a markdown of"),
    "earning.classes.*.earn_bp": _l("earns"),
    "earning.special_earn_bp": _l("special offers earn"),
    "earning.excluded_tenders": _l("payments that earn no points"),
    "earning.excluded_line_kinds": _l("lines that earn no points"),
    "earning.first_purchase_earns": _l("the enrolling purchase earns points"),
    "earning.referral_points": _l("points for a referral"),
    "earning.pending_days": _l("points count after the return window of"),
    "redemption.payment.enabled": _l("points as payment"),
    "redemption.payment.points": _l("points as payment, points"),
    "redemption.payment.fen": _l("points as payment, worth"),
    "redemption.payment.min_points": _l("points as payment, at least"),
    "redemption.payment.max_share_bp": _l("points pay at most"),
    "redemption.payment.rules": _l("points payment rules"),
    "redemption.payment.rules.*.from_points": _l("payment rule from %(key)s points, from"),
    "redemption.payment.rules.*.step_points": _l("payment rule from %(key)s points, each step of"),
    "redemption.payment.rules.*.step_fen": _l("payment rule from %(key)s points, a step pays"),
    "redemption.catalogue": _l("rewards"),
    "redemption.catalogue.*.points": _l("costs"),
    "redemption.catalogue.*.kind": _l("kind"),
    "redemption.catalogue.*.value_fen": _l("value"),
    "redemption.threshold_rewards": _l("threshold rewards"),
    "redemption.threshold_rewards.*.mode": _l("how"),
    "redemption.threshold_rewards.*.points": _l("points needed"),
    "redemption.threshold_rewards.*.voucher_fen": _l("voucher"),
    "redemption.threshold_rewards.*.gift": _l("gift"),
    "redemption.stepped": _l("stepped rates"),
    "redemption.stepped.*.from_points": _l("stepped rate from %(key)s points, from"),
    "redemption.stepped.*.step_points": _l("stepped rate from %(key)s points, each step of"),
    "redemption.stepped.*.value_fen": _l("stepped rate from %(key)s points, a step buys"),
    "redemption.nights.points_per_night": _l("points a night"),
    "redemption.nights.room_type": _l("room type"),
    "redemption.window.months": _l("redemption open in"),
    "redemption.issuing_store_only": _l("only at the store that issued the card"),
    "expiry.mode": _l("Points expiry"),
    "expiry.months": _l("Points expire after"),
    "expiry.days": _l("Points expire after"),
    "stored_value.enabled": _l("stored value offered"),
    "stored_value.min_top_up_fen": _l("smallest top-up"),
    "stored_value.bonus_rows": _l("top-up bonuses"),
    "stored_value.bonus_rows.*.min_top_up_fen": _l("top-up bonus from %(key)s, from"),
    "stored_value.bonus_rows.*.bonus_fen": _l("top-up bonus from %(key)s, bonus"),
    "stored_value.bonus_rows.*.waive_card_fee": _l("top-up bonus from %(key)s, card fee waived"),
    "stored_value.bonus_rows.*.unlock_tier": _l("top-up bonus from %(key)s, unlocks the tier"),
    "stored_value.bonus_rows.*.unlock_category_price_bp": _l("top-up bonus from %(key)s, unlocked prices"),
    "stored_value.bonus_rows.*.unlock_category_price_bp.*": _l("unlocked price for %(key)s"),
    "stored_value.pin_required": _l("PIN required to pay"),
    "stored_value.expiry_months": _l("stored value expires after"),
    "stored_value.refund_on_close": _l("refunded when the membership closes"),
    "stored_value.refund_bonus": _l("the bonus is refunded too"),
    "returns.shortfall_policy": _l("points already spent on a return"),
    "stores.*.floor": _l("floor"),
    "stores.*.honours_card": _l("honours the card"),
    "stores.*.earn.points": _l("store earning rate, points"),
    "stores.*.earn.per_fen": _l("store earning rate, for every"),
    "stores.*.discount_price_bp": _l("store price"),
    "stores.*.tier_discount_price_bp": _l("prices by tier"),
    "stores.*.tier_discount_price_bp.*": _l("price for %(key)s"),
    "segments.abc.mode": _l("ABC classes by"),
    "segments.abc.period_months": _l("ABC classes over"),
    "segments.abc.shares_bp": _l("shares of A, B, C"),
    "segments.abc.a_min_points": _l("class A from"),
    "segments.abc.b_min_points": _l("class B from"),
    "segments.rfm.period_months": _l("RFM over"),
    "segments.rfm.recent_days": _l("RFM recent within"),
    "segments.rfm.frequent_visits": _l("RFM frequent from"),
    "segments.rfm.monetary_fen": _l("RFM high spend from"),
    "segments.lifecycle.new_days": _l("new members for"),
    "segments.lifecycle.dormant_months": _l("dormant after"),
    "segments.lifecycle.lost_months": _l("lost after"),
    "segments.lifecycle.familiar_visits": _l("familiar from"),
    "segments.lifecycle.falling_drop_bp": _l("falling when spend drops by"),
    "care.follow_ups": _l("follow-ups"),
    "care.follow_ups.*.trigger": _l("when"),
    "care.follow_ups.*.after_days": _l("days later"),
    "care.follow_ups.*.min_fen": _l("purchases from"),
    "care.message_occasions": _l("message occasions"),
}
FIELD_LABELS = {
    "description": _l("description"), "code": _l("code"), "name": _l("name"), "kind": _l("kind"),
    "from_tiers": _l("only from the tiers"), "measure": _l("measured by"), "window": _l("counted over"),
    "months": _l("months"), "min": _l("at least"),
}

ENUMS = {
    ("measure", "spend"): _l("spend"), ("measure", "points"): _l("points"),
    ("measure", "points_earned"): _l("points earned"),
    ("window", "calendar_year"): _l("the calendar year"), ("window", "rolling_12_months"): _l("the last 12 months"),
    ("window", "since_tier_start"): _l("since the tier began"), ("window", "current_period"): _l("the current period"),
    ("window", "lifetime"): _l("all time"), ("window", "day"): _l("the birthday"),
    ("window", "month"): _l("the birthday month"),
    ("mode", "at_expiry"): _l("at the end of the period"),
    ("mode", "after_consecutive_periods"): _l("after periods in a row"),
    ("mode", "never"): _l("never expire"), ("mode", "end_of_next_year"): _l("expire at the end of the next year"),
    ("mode", "rolling_months"): _l("expire months after earning"),
    ("mode", "rolling_days"): _l("expire days after earning"),
    ("mode", "window_close"): _l("expire when the next redemption window closes"),
    ("mode", "every"): _l("one for every so many points"), ("mode", "at_least"): _l("one once the balance reaches"),
    ("mode", "spend_rank"): _l("rank by spend"), ("mode", "points_bands"): _l("points bands"),
    ("kind", "gift"): _l("gift"), ("kind", "voucher"): _l("voucher"), ("kind", "top_up_at_least"): _l("top-up"),
    ("kinds", "couple"): _l("couple"), ("kinds", "family"): _l("family"),
    ("shortfall_policy", "deduct_from_refund"): _l("deducted from the refund"),
    ("shortfall_policy", "write_off"): _l("written off"),
    ("trigger", "first_purchase"): _l("first purchase"), ("trigger", "enrolment"): _l("enrolment"),
    ("trigger", "large_purchase"): _l("large purchase"), ("trigger", "referral"): _l("referral"),
    ("trigger", "dormant"): _l("becoming dormant"), ("trigger", "complaint"): _l("complaint"),
    ("trigger", "chronic_refill"): _l("chronic medicine refill"),
}

POINT_FIELDS = frozenset({"points", "bonus_points", "from_points", "step_points", "referral_points", "a_min_points",
                          "b_min_points", "points_per_night", "min_points"})
TIER_FIELDS = frozenset({"from_tiers", "unlock_tier"})
CATEGORY_FIELDS = frozenset({"excluded_categories"})


def _zh() -> bool:
    return not str(get_locale() or "zh_CN").lower().startswith("en")


def _locale() -> str:
    return "zh_CN" if _zh() else "en"


def text_of(value) -> str:
    if isinstance(value, dict):
        wanted = value.get("en") if not _zh() else value.get("zh_CN")
        return wanted or value.get("zh_CN") or value.get("en") or ""
    return str(value)


def money(fen) -> str:
    """¥ and the yuan grouped by the reader's language; fen only when there are any (¥10,000 · ¥12.50)."""
    if fen is None:
        return _("none")
    yuan = Decimal(int(fen)) / 100
    digits = "#,##0" if yuan == yuan.to_integral() else "#,##0.00"
    return "¥" + format_decimal(yuan, format=digits, locale=_locale())


def number(value) -> str:
    return format_decimal(value, locale=_locale())


def price(bp) -> str:
    """A share of the price paid: 8800 → 8.8折 (en: pay 88%); 10 000 → full price; None → no discount."""
    if bp is None:
        return _("no discount")
    if bp >= 10_000:
        return _("full price")
    if _zh():
        return f"{format_decimal(Decimal(bp) / 1000, format='0.##', locale='zh_CN')}折"
    return _("pay %(share)s", share=share(bp))


def share(bp) -> str:
    return f"{format_decimal(Decimal(bp) / 100, format='0.##', locale=_locale())}%"


def yes_no(value) -> str:
    return _("yes") if value else _("no")


class Names:
    """Names of the codes a document uses (tiers, categories, stores), in the reader's language."""

    def __init__(self, *documents: dict) -> None:
        self.tiers: dict[str, str] = {}
        self.categories: dict[str, str] = {}
        self.stores: dict[str, str] = {}
        for document in reversed(documents):  # the newer document's names win
            for tier in document.get("tiers") or []:
                self.tiers[tier["code"]] = text_of(tier["name"])
            for category in document.get("categories") or []:
                self.categories[category["code"]] = text_of(category["name"])
            for code, rule in (document.get("stores") or {}).items():
                self.stores[code] = text_of(rule["name"]) if rule.get("name") else code

    def key(self, schema: str, key: str) -> str:
        """A map or list key as people know it."""
        if "category_price_bp" in schema:
            return self.categories.get(key, key)
        if "tier_discount_price_bp" in schema or schema.startswith("linked_cards.thresholds"):
            return self.tiers.get(key, key)
        if schema.startswith("stores"):
            return self.stores.get(key, key)
        base = key.split("#")[0]
        if not base.isdigit():
            return key
        if schema.endswith("fee_waivers") or schema.endswith("bonus_rows"):
            return money(int(base))
        if schema.endswith((".rules", ".stepped")):
            return number(int(base))
        return key


def _field(schema: str) -> str:
    return schema.rsplit(".", 1)[-1]


def value_words(schema: str, value, owner: dict | None = None, names: Names | None = None) -> str:
    """``value`` of the field at ``schema`` in shop-owner units."""
    names = names or Names()
    owner = owner or {}
    name = _field(schema)
    if name == "*":  # a map entry: the map's unit
        name = _field(schema.rsplit(".", 1)[0])
    if isinstance(value, list):
        if not value:
            return _("none")
        if name in TIER_FIELDS:
            return "、".join(names.tiers.get(v, v) for v in value) if _zh() else ", ".join(
                names.tiers.get(v, v) for v in value)
        if name in CATEGORY_FIELDS:
            items = [names.categories.get(v, v) for v in value]
        elif name == "months" and schema.startswith("redemption.window"):
            items = [_("month %(n)d", n=v) for v in value]
        elif name == "shares_bp":
            items = [share(v) for v in value]
        else:
            items = [value_words(schema + ".*" if isinstance(v, dict) and not _is_text(v) else schema, v, owner,
                                 names) if not isinstance(v, str) else str(ENUMS.get((name, v), v)) for v in value]
        return ("、" if _zh() else ", ").join(items)
    if isinstance(value, dict):
        if _is_text(value):
            return text_of(value) or _("none")
        return item_words(schema, value, names)
    if value is None:
        if name.endswith("validity_months") or name == "expiry_months":
            return _("for life")
        if name.endswith("price_bp"):
            return _("no discount")
        return _("none")
    if isinstance(value, bool):
        return yes_no(value)
    if name in TIER_FIELDS:
        return names.tiers.get(value, value)
    if isinstance(value, str) and (name, value) in ENUMS:
        return str(ENUMS[(name, value)])
    if name == "points_multiplier":
        try:
            return f"×{format_decimal(Decimal(str(value)), format='0.####', locale=_locale())}"
        except InvalidOperation:
            return str(value)
    if not isinstance(value, int):
        return str(value)
    if name == "min" or name.endswith("_min"):
        measure = owner.get("measure", "spend")
        return money(value) if measure == "spend" else _("%(n)s points", n=number(value))
    if name.endswith("_fen") or name in ("fen", "min_fen"):
        return money(value)
    if name.endswith("price_bp"):
        return price(value)
    if name.endswith("_bp"):
        return share(value)
    if name in POINT_FIELDS:
        return _("%(n)s points", n=number(value))
    if name.endswith("working_days"):
        return _("%(n)s working days", n=number(value))
    if name.endswith("days"):
        return _("%(n)s days", n=number(value))
    if name.endswith("months"):
        return _("%(n)s months", n=number(value))
    if name.endswith("periods"):
        return _("%(n)s periods", n=number(value))
    if name.endswith("visits"):
        return _("%(n)s visits", n=number(value))
    return number(value)


def _is_text(value) -> bool:
    return isinstance(value, dict) and bool(value) and set(value) <= {"zh_CN", "en"}


def item_words(schema: str, item: dict, names: Names | None = None) -> str:
    """A whole object (an added tier, a reach rule, a keep threshold) in one phrase: its name or its fields."""
    names = names or Names()
    if isinstance(item.get("name"), dict):
        return text_of(item["name"])
    parts = []
    for key, value in item.items():
        if key in ("description", "kind", "code") or value in (None, [], {}, ""):
            continue
        child = f"{schema}.{key}"
        label = field_label(child, item)
        words = value_words(child, value, item, names)
        parts.append(f"{label} {words}".strip() if label else words)
    return ("；" if _zh() else "; ").join(parts)


def noun(schema: str, owner: dict | None = None, key: str = "", names: Names | None = None,
         keyed: str = "") -> str:
    template = NOUNS.get(schema) or LABELS.get(schema) or FIELD_LABELS.get(_field(schema)) or ""
    return _format(template, owner, key, keyed or schema.rsplit(".", 1)[0], names)


def _format(template, owner: dict | None, key: str, keyed: str, names: Names | None) -> str:
    """``template`` with its measure (spend / points, from the owner) and its key (a tier, a category ...)."""
    text = str(template)
    if "%(" not in text:
        return text
    measure = str(ENUMS.get(("measure", (owner or {}).get("measure", "spend")), ""))
    return text % {"measure": measure, "key": (names or Names()).key(keyed, key)}


def field_label(schema: str, owner: dict | None = None, key: str = "", names: Names | None = None,
                keyed: str = "") -> str | None:
    """The label of the field at ``schema``; None when the catalogue has none (a test walks every field)."""
    if schema in LABELS:
        template = LABELS[schema]
    elif schema in PARTS:
        template = PARTS[schema]
    elif _field(schema) in FIELD_LABELS:
        template = FIELD_LABELS[_field(schema)]
    else:
        return None
    return _format(template, owner, key, keyed, names)


def _is_item_level(pieces: list[str], depth: int) -> bool:
    parent = ".".join(pieces[:depth])
    return pieces[depth] == "*" or parent in KIND_LISTS or parent in MAPS


def where_and_label(change: Change, old: dict, new: dict, names: Names) -> tuple[str, str]:
    """Where a change is (the named things on its path: "金卡", "南京路店") and what the field is called."""
    pieces = change.schema.split(".")
    where: list[str] = []
    key, keyed, last_item = "", "", 0
    end = len(change.path) if change.kind == "changed" else len(change.path) - 1
    for depth in range(1, end):
        if not _is_item_level(pieces, depth):
            continue
        key, keyed, last_item = str(change.path[depth]), ".".join(pieces[:depth]), depth
        item = lookup(new, change.path[:depth + 1]) or lookup(old, change.path[:depth + 1])
        if isinstance(item, dict) and isinstance(item.get("name"), dict):
            where.append(text_of(item["name"]))
        elif isinstance(item, dict) and item.get("code"):
            where.append(str(item["code"]))
        elif keyed == "stores":
            where.append(names.stores.get(key, key))
    if change.kind != "changed":
        return " · ".join(where), ""
    if change.schema in LABELS:
        label = field_label(change.schema, change.owner, key, names, keyed) or ""
    else:
        bits = [noun(".".join(pieces[:depth + 1]), change.owner, key, names, keyed)
                for depth in range(last_item + 1, len(pieces) - 1) if ".".join(pieces[:depth + 1]) in NOUNS]
        own = field_label(change.schema, change.owner, key, names, keyed)
        bits.append(own if own is not None else noun(change.schema, change.owner, key, names, keyed))
        label = " ".join(b for b in bits if b)
    return " · ".join(where), label


def sentence(change: Change, old: dict, new: dict, names: Names | None = None) -> str:
    """One change as a sentence in the reader's language."""
    names = names or Names(new, old)
    where, label = where_and_label(change, old, new, names)
    if change.kind == "changed":
        old_words = value_words(change.schema, change.old, lookup(old, change.path[:-1]) or change.owner, names)
        new_words = value_words(change.schema, change.new, lookup(new, change.path[:-1]) or change.owner, names)
        if not where:
            return _("%(what)s: %(old)s → %(new)s", what=label, old=old_words, new=new_words)
        return _("%(where)s: %(what)s %(old)s → %(new)s", where=where, what=label, old=old_words, new=new_words)
    item = change.new if change.kind != "removed" else change.old
    thing = noun(change.schema, item if isinstance(item, dict) else {}, str(change.path[-1]), names,
                 change.schema.rsplit(".", 1)[0] if _is_item_level(change.schema.split("."), len(change.path) - 1)
                 else "")
    about = item_words(change.schema, item, names) if isinstance(item, dict) else value_words(
        change.schema, item, change.owner, names)
    if change.kind == "moved":
        item = lookup(new, change.path)
        name = text_of(item["name"]) if isinstance(item, dict) and isinstance(item.get("name"), dict) else thing
        text = _("%(thing)s %(name)s: position %(old)s → %(new)s", thing=thing, name=name, old=change.old,
                 new=change.new)
    elif change.kind == "added":
        text = _("New %(thing)s %(name)s", thing=thing, name=about) if about != thing else _(
            "New %(thing)s", thing=thing)
    else:
        text = _("Removed %(thing)s %(name)s", thing=thing, name=about) if about != thing else _(
            "Removed %(thing)s", thing=thing)
    return _("%(where)s: %(change)s", where=where, change=text) if where else text


def part_label(part: str) -> str:
    return str(_("General")) if part in GENERAL else str(PARTS.get(part, part))


def grouped_sentences(old, new) -> list[dict]:
    """The changes from ``old`` to ``new`` grouped by part: [{part, label, sentences}] in the program's order."""
    old_doc, new_doc = as_document(old), as_document(new)
    names = Names(new_doc, old_doc)
    groups: dict[str, dict] = {}
    for change in diff_programs(old_doc, new_doc):
        key = "general" if change.part in GENERAL else change.part
        group = groups.setdefault(key, {"part": key, "label": part_label(change.part), "sentences": []})
        group["sentences"].append(sentence(change, old_doc, new_doc, names))
    return list(groups.values())


def summary(program) -> list[dict]:
    """A version's rules in words, part by part and item by item:
    [{part, label, blocks: [{title, lines: [(what, value)]}]}] (title: the tier, card type ... or "")."""
    document = as_document(program)
    names = Names(document)
    groups: dict[str, dict] = {}
    for fact in facts(document):
        field_name = _field(fact.schema)
        if field_name in ("kind", "code") or fact.schema == "schema_version" or (
                field_name == "description" and (fact.schema != "description" or not fact.new)) or (
                field_name == "name" and fact.schema != "name" and isinstance(fact.new, dict)):
            continue
        key = "general" if fact.part in GENERAL else fact.part
        group = groups.setdefault(key, {"part": key, "label": part_label(fact.part), "blocks": []})
        where, label = where_and_label(fact, document, document, names)
        if not group["blocks"] or group["blocks"][-1]["title"] != where:
            group["blocks"].append({"title": where, "lines": []})
        group["blocks"][-1]["lines"].append((label or part_label(fact.part),
                                             value_words(fact.schema, fact.new, fact.owner, names)))
    return list(groups.values())
