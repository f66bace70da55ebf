"""Members, cards and tier status through the API (POS integration).

``POST /members`` enrols (with a sign-up top-up credited, the card fee reported); ``GET /members/<id>`` (with
the returns' points shortfall and the cumulative tier progress); ``GET /members?phone=`` / ``?card=`` finds one;
``PATCH /members/<id>`` updates the profile; ``GET /members/<id>/tier`` explains the tier;
``GET /members/<id>/ledger`` pages the points and stored-value movements; cards: report lost,
replace, exchange, close.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from flask_babel import lazy_gettext as _l
from pydantic import EmailStr, Field
from sqlalchemy import func, select

from saas.extensions import db
from tenants.api import api_route
from tenants.api.schemas import MAX_FEN, ApiModel, Id, Page, PageQuery, QueryModel, TransactionBody, int_cursor
from tenants.api.transactions import TopUpOut
from tenants.domain.stored_value import card_fee_waived_by_top_up
from tenants.models import Card, PointsEntry, StoredValueEntry
from tenants.programs import business_today
from tenants.services import cards as card_service
from tenants.services import stored_value as sv_service
from tenants.services.business_time import in_tenant_zone
from tenants.services.cards import verify_pin
from tenants.services.errors import ServiceError
from tenants.services.members import enroll_member, find_by_card, find_by_phone, get_member, member_json, update_member
from tenants.services.programs_in_force import require_program
from tenants.services.purchases import member_shortfall
from tenants.services.tier_grants import grant_tier
from tenants.services.tiers import explain_member, link_members, tier_progress, unlink_member


class ProgressOut(ApiModel):
    measure: Literal["spend", "points"] = Field(description="spend (fen) or purchase points.")
    window: str = Field(description="calendar_year, rolling_12_months, since_tier_start, current_period, lifetime.")
    have: int = Field(description="Counted so far in the window, as of the day.")
    pending: int = Field(description="Bought, counting once its return window has passed.")
    window_end: dt.date | None = Field(description="When the window stops counting what is spent now (exclusive).")


class TierOut(ApiModel):
    code: str
    since: dt.date
    period_end: dt.date | None
    linked: str
    progress: list[ProgressOut] = Field(
        description="The cumulative measure so far in each window the program's tiers count in, one per measure "
                    "and window; also at the top tier, where no upgrade is left.")


class PointsOut(ApiModel):
    balance: int = Field(description="All points held (available + pending).")
    total: int
    available: int
    pending: int = Field(description="Earned but not usable until the return window has passed.")
    expiring_soon: int
    expiring_before: dt.date


class StoredValueOut(ApiModel):
    balance_fen: int
    usable_fen: int
    principal_fen: int
    bonus_fen: int


class ShortfallOut(ApiModel):
    points: int = Field(description="Points that returns could not take back (already spent), over all returns.")
    deducted_fen: int = Field(description="Their value deducted from refunds (tenant rule deduct_from_refund).")
    written_off_fen: int = Field(description="Their value written off (tenant rule write_off, or refund too small).")


class CardOut(ApiModel):
    number: str
    kind: Literal["virtual", "physical"]
    status: str
    card_type: str
    valid_until: dt.date | None


class MemberOut(ApiModel):
    id: Id
    name: str
    phone: str | None
    email: str | None
    birthday: dt.date | None
    gender: str | None
    status: str
    joined_on: dt.date
    marketing_consent: bool
    enrolled_store_id: Id | None
    responsible_staff_id: Id | None
    tier: TierOut
    points: PointsOut
    shortfall: ShortfallOut = Field(description="The points shortfall recorded by returns (SPEC §19.11).")
    stored_value: StoredValueOut
    cards: list[CardOut]


class ReceiptIn(ApiModel):
    date: dt.date
    amount_fen: int = Field(gt=0, le=MAX_FEN)
class MemberEnrolledOut(MemberOut):
    card_fee_fen: int = Field(description="The card fee of the sign-up, recorded as card sales (charged with it, "
                                          "or paid as the card-fee condition); 0 when the card has none or the "
                                          "sign-up top-up waived it.")
    card_fee_waived: bool = Field(description="The card has a fee and the sign-up top-up waived it.")
    top_up: TopUpOut | None = Field(description="The top-up made with the sign-up (top_up_fen), with its bonus; "
                                                "null without one.")


class MemberIn(TransactionBody):
    name: str = Field(default="", max_length=80)
    phone: str | None = Field(default=None, max_length=20, description="Mobile number; one member per number.")
    email: EmailStr | None = None
    birthday: dt.date | None = None
    gender: Literal["female", "male", "other"] | None = None
    store_id: Id | None = Field(default=None, description="The enrolling store.")
    referrer_id: Id | None = None
    marketing_consent: bool = False
    card_type: str | None = None
    physical_card_number: str | None = Field(default=None, max_length=40)
    pin: str | None = Field(default=None, pattern=r"^\d{4,8}$")
    real_name_verified: bool = False
    id_doc_type: str | None = Field(default=None, max_length=20)
    id_doc_number: str | None = Field(default=None, max_length=40)
    purchase_fen: int = Field(default=0, ge=0, le=MAX_FEN,
                              description="A purchase made with the sign-up (enrolment conditions).")
    card_fee_paid_fen: int = Field(default=0, ge=0, le=MAX_FEN)
    top_up_fen: int = Field(default=0, ge=0, le=MAX_FEN,
                            description="A top-up made with the sign-up (may waive the card fee).")
    receipts: list[ReceiptIn] = Field(default=[], max_length=50, description=(
        "Earlier purchases that qualify for \"cumulative purchases within N months\" enrolment."))
    gift_card_activated: bool = Field(default=False, description=(
        "A gift card handed out before the store opened, activated now (within the program's days of opening)."))


class MemberPatch(ApiModel):
    name: str | None = Field(default=None, max_length=80)
    phone: str | None = Field(default=None, max_length=20)
    email: EmailStr | None = None
    birthday: dt.date | None = None
    gender: Literal["female", "male", "other"] | None = None
    address: str | None = Field(default=None, max_length=200)
    notes: str | None = Field(default=None, max_length=2000)
    tags: list[str] | None = None
    marketing_consent: bool | None = None


class FindQuery(QueryModel):
    phone: str | None = Field(default=None, description="The member's mobile number.")
    card: str | None = Field(default=None, description="A card number (virtual or physical).")


class AsOfQuery(QueryModel):
    on: dt.date | None = Field(default=None, description="A business date (YYYY-MM-DD); default: today.")


class Reason(ApiModel):
    code: str
    params: dict[str, Any]


class TierNeedOut(ApiModel):
    model_config = {"extra": "ignore"}
    tier_code: str
    required: int
    have: int
    missing: int
    pending: int
    deadline: dt.date | None
    reason: Reason


class TierStatusOut(ApiModel):
    tier: str
    period_end: dt.date | None
    next_tier: str | None
    upgrades: list[TierNeedOut]
    keep: TierNeedOut | None
    reasons: list[Reason] = Field(description="What to tell the member, most useful first (stable codes).")
    progress: list[ProgressOut] = Field(description="The cumulative measures so far, as in the member's tier.")


class LedgerEntryOut(ApiModel):
    id: Id
    ledger: Literal["points", "stored_value"]
    kind: str
    amount: int = Field(description="Points, or fen for stored value (signed).")
    business_date: dt.date
    ref: str
    reason: str
    program_version: int


class LedgerQuery(PageQuery):
    ledger: Literal["points", "stored_value"] = "points"


class CardActionIn(TransactionBody):
    new_number: str | None = Field(default=None, max_length=40, description="Default: a new number is made.")


class IssueCardIn(TransactionBody):
    number: str = Field(min_length=1, max_length=40, description="The number printed on the card.")
    card_type: str | None = None
    pin: str | None = Field(default=None, pattern=r"^\d{4,8}$")
    store_id: Id | None = None


class CloseCardIn(TransactionBody):
    pin: str | None = Field(default=None, pattern=r"^\d{4,8}$")
    identity_verified: bool = Field(description="Staff checked the member's identity document.")


class CloseCardOut(ApiModel):
    card: str
    status: str
    refund_fen: int
    forfeited_fen: int


class LinkIn(TransactionBody):
    member_ids: list[Id] = Field(min_length=2, max_length=10)
    kind: Literal["couple", "family"]


class LinkOut(ApiModel):
    tier_account_id: Id
    tier: str
    member_ids: list[Id]


def _member_out(member, on: dt.date | None = None) -> dict:
    on = on or business_today()
    data = member_json(member, on)
    data["tier"]["progress"] = tier_progress(member, on)
    data["shortfall"] = member_shortfall(member.id)
    return data


@api_route("/members", "POST", summary=_l("Enrol a member"), body=MemberIn, response=MemberEnrolledOut,
           status=201, operation="member.enrol")
def create_member(body: MemberIn, at: dt.datetime):
    """Enrol under the program's conditions; the member gets a virtual card at once.

    A ``top_up_fen`` is credited to the stored value with its bonus (as ``POST /members/{id}/top-ups``) and
    may waive the card fee; the answer says what the card fee is (``card_fee_fen``) and what the top-up gave."""
    data = body.model_dump(exclude={"business_at", "store_id", "receipts"})
    member = enroll_member(business_at=at, store_id=body.store_id, source="api",
                           receipts=[(r.date, r.amount_fen) for r in body.receipts], **data)
    topped = None
    if body.top_up_fen:
        topped = sv_service.top_up(member_id=member.id, amount_fen=body.top_up_fen, business_at=at,
                                   store_id=body.store_id)
    db.session.flush()
    _version, program = require_program(in_tenant_zone(at).date())
    fee = db.session.scalar(select(func.coalesce(func.sum(Card.fee_fen), 0)).where(Card.member_id == member.id))
    return {**_member_out(member), "card_fee_fen": int(fee), "top_up": topped,
            "card_fee_waived": fee == 0 and card_fee_waived_by_top_up(program, body.top_up_fen, body.card_type)}


def _found(phone: str | None, card: str | None):
    if bool(phone) == bool(card):
        raise ServiceError("validation_failed", fields={"phone": "give phone or card"})
    if phone:
        member = find_by_phone(phone)
    else:
        found = find_by_card(card)
        member = found[0] if found else None
    if member is None:
        raise ServiceError("not_found")
    return _member_out(member)


@api_route("/members", summary=_l("Find a member by phone or card"), query=FindQuery, response=MemberOut)
def find_member(query: FindQuery):
    """Exactly one of ``phone`` or ``card``; 404 when there is no such member. Prefer ``POST /members/lookup``:
    a phone number in a URL lands in every access log on its way."""
    return _found(query.phone, query.card)


class LookupIn(ApiModel):
    phone: str | None = Field(default=None, max_length=40, description="The member's mobile number.")
    card: str | None = Field(default=None, max_length=40, description="A card number (virtual or physical).")


@api_route("/members/lookup", "POST", summary=_l("Find a member by phone or card (in the body)"), body=LookupIn,
           response=MemberOut, read_only=True)
def lookup_member(body: LookupIn):
    """As ``GET /members``, with the phone or card in the body so it stays out of URLs and their logs. Changes
    nothing and needs no idempotency key."""
    return _found(body.phone, body.card)


@api_route("/members/<int:member_id>", summary=_l("One member"), query=AsOfQuery, response=MemberOut)
def show_member(member_id: int, query: AsOfQuery):
    """The member as of ``on`` (default today): the tier in force then, even before the daily evaluation ran."""
    return _member_out(get_member(member_id), query.on)


@api_route("/members/<int:member_id>", "PATCH", summary=_l("Update a member"), body=MemberPatch,
           response=MemberOut, operation="member.update")
def patch_member(member_id: int, body: MemberPatch):
    """Only the fields sent are changed."""
    member = update_member(get_member(member_id), body.model_dump(exclude_unset=True))
    db.session.flush()
    return _member_out(member)


@api_route("/members/<int:member_id>/tier", summary=_l("Tier status and what is needed"), query=AsOfQuery,
           response=TierStatusOut)
def tier_status(member_id: int, query: AsOfQuery):
    """The tier, and what the member needs to reach the next tier and to keep the current one."""
    return explain_member(get_member(member_id), query.on or business_today())


@api_route("/members/<int:member_id>/ledger", summary=_l("Points or stored-value movements"), query=LedgerQuery,
           response=Page[LedgerEntryOut])
def ledger(member_id: int, query: LedgerQuery):
    """Newest first; ``?ledger=stored_value`` for the stored-value movements."""
    get_member(member_id)
    model = PointsEntry if query.ledger == "points" else StoredValueEntry
    stmt = select(model).where(model.member_id == member_id).order_by(model.id.desc()).limit(query.limit + 1)
    before = int_cursor(query.cursor)
    if before is not None:
        stmt = stmt.where(model.id < before)
    rows = list(db.session.scalars(stmt))
    more = len(rows) > query.limit
    rows = rows[: query.limit]
    items = [LedgerEntryOut(id=r.id, ledger=query.ledger, kind=r.kind,
                            amount=r.points if query.ledger == "points" else r.principal_fen + r.bonus_fen,
                            business_date=r.business_date, ref=r.ref, reason=r.reason,
                            program_version=r.program_version) for r in rows]
    return Page[LedgerEntryOut](items=items, next_cursor=str(rows[-1].id) if more else None)


@api_route("/members/<int:member_id>/cards", "POST", summary=_l("Issue a physical card"), body=IssueCardIn,
           response=CardOut, operation="card.issue")
def issue_card(member_id: int, body: IssueCardIn, at: dt.datetime):
    get_member(member_id)
    return card_service.issue_physical_card(member_id, body.number, at.date(), card_type=body.card_type,
                                            pin=body.pin, store_id=body.store_id)


def _card(number: str) -> Card:
    return card_service.card_by_number(number)


@api_route("/cards/<number>/loss", "POST", summary=_l("Report a card lost"), body=TransactionBody,
           response=CardOut, status=200, operation="card.loss")
def report_lost(number: str, at: dt.datetime):
    """挂失: the card is refused from ``business_at`` on; tier, points and balance stay with the member."""
    return card_service.report_lost(_card(number), at)


@api_route("/cards/<number>/replacement", "POST", summary=_l("Replace a lost card"), body=CardActionIn,
           response=CardOut, operation="card.replace")
def replace(number: str, body: CardActionIn, at: dt.datetime):
    """补卡 after the program's delay: a new number carrying everything; the old one stays refused."""
    return card_service.replace_lost_card(_card(number), at.date(), body.new_number)


@api_route("/cards/<number>/exchange", "POST", summary=_l("Exchange a damaged card"), body=CardActionIn,
           response=CardOut, operation="card.exchange")
def exchange(number: str, body: CardActionIn, at: dt.datetime):
    return card_service.exchange_card(_card(number), at.date(), body.new_number)


@api_route("/cards/<number>/closure", "POST", summary=_l("Close a card and refund the balance"), body=CloseCardIn,
           response=CloseCardOut, status=200, operation="card.close")
def close(number: str, body: CloseCardIn, at: dt.datetime):
    """退卡: with the PIN and the member's identity checked; the stored value is refunded per the program."""
    card = _card(number)
    pin_ok = verify_pin(card.member_id, body.pin) if body.pin else False
    return card_service.close_card(card, at, pin_verified=pin_ok, identity_verified=body.identity_verified)


@api_route("/tier-links", "POST", summary=_l("Link members into a couple or family card"), body=LinkIn,
           response=LinkOut, operation="tier.link")
def link(body: LinkIn, at: dt.datetime):
    account = link_members(list(body.member_ids), body.kind, at.date())
    return LinkOut(tier_account_id=account.id, tier=account.tier_code, member_ids=list(body.member_ids))


@api_route("/members/<int:member_id>/tier-link", "DELETE", summary=_l("Unlink a member"), body=TransactionBody,
           response=LinkOut, operation="tier.unlink")
def unlink(member_id: int, at: dt.datetime):
    account = unlink_member(get_member(member_id), at.date())
    return LinkOut(tier_account_id=account.id, tier=account.tier_code, member_ids=[member_id])



class TierGrantIn(TransactionBody):
    tier: str = Field(max_length=40)
    kind: Literal["fee", "hq_grant", "campaign_grant"] = Field(
        description="fee: the tier's fee paid now (fee_fen); hq_grant: by head office; campaign_grant: by a "
                    "campaign (the tier lasts the campaign rule's months).")
    reason: str = Field(default="", max_length=200, description="Required for grants: why, or which campaign.")
    fee_fen: int = Field(default=0, ge=0, le=MAX_FEN)


class TierGrantOut(ApiModel):
    member_id: Id
    tier: str
    period_end: dt.date | None
    tier_changes: list[dict]


@api_route("/members/<int:member_id>/tier-grants", "POST", summary=_l("Give a member a tier (fee, HQ or campaign)"),
           body=TierGrantIn, response=TierGrantOut, operation="tier.grant")
def grant(member_id: int, body: TierGrantIn, at: dt.datetime):
    """The tier must offer this way in (a fee, HQ grant or campaign grant rule) and be above the member's."""
    return grant_tier(member_id=get_member(member_id).id, tier_code=body.tier, kind=body.kind, business_at=at,
                      reason=body.reason, fee_fen=body.fee_fen)
