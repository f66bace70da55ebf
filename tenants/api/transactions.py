"""Business transactions through the API: purchases (and their preview), returns, top-ups, stored-value
payments, redemptions and manual points adjustments. All idempotent by key, all with a business time."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from flask_babel import lazy_gettext as _l
from pydantic import Field

from tenants.api import api_route
from tenants.api.schemas import MAX_FEN, MAX_POINTS, ApiModel, Id, TransactionBody
from tenants.services import points as points_service
from tenants.services import stored_value as sv_service
from tenants.services.cards import verify_pin
from tenants.services.errors import ServiceError
from tenants.services.members import get_member
from tenants.services.purchases import LineIn, TenderIn, get_purchase, record_purchase, record_return


class LineBody(ApiModel):
    line_id: str = Field(min_length=1, max_length=40, description="Unique within the receipt.")
    regular_fen: int = Field(ge=0, le=MAX_FEN, description="Regular price of the line (price × quantity), in fen.")
    charged_fen: int | None = Field(default=None, ge=0, le=MAX_FEN,
                                    description="What the POS charged before the member discount; default regular.")
    kind: Literal["goods", "shipping", "card_fee", "top_up", "red_packet", "service"] = "goods"
    category: str = Field(default="", max_length=40)
    special: bool = Field(default=False, description="A special offer: no member discount, no points.")
    quantity: int = Field(default=1, ge=1, le=100000)
    sku: str = Field(default="", max_length=60)


class TenderBody(ApiModel):
    kind: str = Field(min_length=1, max_length=20,
                      description="cash, bank_card, wechat, alipay, stored_value, voucher, points, gift_card ...")
    amount_fen: int = Field(default=0, ge=0, le=MAX_FEN)
    points: int = Field(default=0, ge=0, le=MAX_POINTS)


class PurchaseIn(TransactionBody):
    member_id: Id
    store_id: Id | None = None
    receipt_no: str = Field(default="", max_length=60)
    device: str = Field(default="", max_length=60)
    lines: list[LineBody] = Field(min_length=1, max_length=500)
    tenders: list[TenderBody] = Field(default_factory=list, max_length=20,
                                      description="Money tenders must add up to the amount due; none: all cash.")
    pin: str | None = Field(default=None, pattern=r"^\d{4,8}$", description="Card PIN, for stored_value tenders.")
    member_confirmed: bool = Field(default=False, description="The member confirmed a stored-value payment by phone.")


class PricedLineOut(ApiModel):
    line_id: str
    kind: str
    category: str
    quantity: int
    regular_fen: int
    charged_fen: int
    voucher_fen: int
    points_fen: int
    price_bp: int | None
    discount_source: str | None
    discount_fen: int
    due_fen: int
    spend_fen: int
    earn_class: str
    earn_bp: int
    points: int


class TierChangeOut(ApiModel):
    on: dt.date
    action: str
    from_tier: str
    to_tier: str
    period_start: dt.date
    period_end: dt.date | None
    reason: dict[str, Any]
    program_version: int


class PurchaseOut(ApiModel):
    id: Id | None = Field(description="null for a preview.")
    preview: bool
    member_id: Id
    business_date: dt.date
    goods_fen: int
    voucher_fen: int
    points_used: int
    points_value_fen: int
    discount_fen: int
    amount_due_fen: int
    tenders: list[dict[str, Any]]
    lines: list[PricedLineOut]
    points_earned: int
    points_pending_until: dt.date
    points_status: Literal["pending", "available"]
    spend_fen: int
    tier_before: str
    tier_after: str
    tier_changes: list[TierChangeOut]
    balances: dict[str, int]


class ReturnIn(TransactionBody):
    member_id: Id | None = Field(default=None, description="When given, must be the purchase's member.")
    lines: dict[str, int] = Field(description="line_id → quantity returned now.")
    store_id: Id | None = None


class ReturnOut(ApiModel):
    id: Id
    purchase_id: Id
    member_id: Id
    business_date: dt.date
    returned: dict[str, int]
    refund_fen: int
    refund_by_tender: dict[str, int]
    points_given_back: int
    points_taken_back: int
    shortfall_points: int
    deducted_fen: int
    written_off_fen: int
    spend_reversed_fen: int
    balances: dict[str, int]


class TopUpIn(TransactionBody):
    amount_fen: int = Field(ge=1, le=MAX_FEN)
    store_id: Id | None = None


class TopUpOut(ApiModel):
    id: Id
    member_id: Id
    business_date: dt.date
    amount_fen: int
    bonus_fen: int
    credited_fen: int
    card_fee_fen: int
    card_fee_waived: bool
    unlock_tier: str | None
    unlocked_price_bp: dict[str, int]
    tier: str
    tier_changes: list[TierChangeOut]
    stored_value_fen: int
    points_earned: int = Field(description="Always 0: a top-up earns no points (they are earned when the money is "
                                           "spent), and no bonus row gives points.")
    balances: dict[str, int] = Field(description="points_balance and stored_value_fen after the top-up.")


class PaymentIn(TransactionBody):
    amount_fen: int = Field(ge=1, le=MAX_FEN)
    reference: str = Field(default="", max_length=50)
    pin: str | None = Field(default=None, pattern=r"^\d{4,8}$")
    member_confirmed: bool = False


class PaymentOut(ApiModel):
    member_id: Id
    amount_fen: int
    stored_value_fen: int


class RedemptionIn(TransactionBody):
    kind: Literal["catalogue", "threshold", "stepped", "nights"]
    code: str = Field(default="", max_length=40, description="Catalogue item or threshold reward code.")
    quantity: int = Field(default=1, ge=1, le=1000)
    points: int = Field(default=0, ge=0, le=MAX_POINTS, description="Stepped rate: the points to use (whole steps).")
    nights: int = Field(default=0, ge=0, le=10_000)
    store_id: Id | None = None


class RedemptionOut(ApiModel):
    id: Id
    member_id: Id
    kind: str
    code: str
    quantity: int
    points: int
    value_fen: int
    voucher_fen: int
    gift: dict[str, str] | None
    business_date: dt.date
    balances: dict[str, int]


class AdjustmentIn(TransactionBody):
    delta: int = Field(ge=-MAX_POINTS, le=MAX_POINTS,
                       description="Points to add (positive) or take (negative); never below zero.")
    reason: str = Field(min_length=1, max_length=200)


class AdjustmentOut(ApiModel):
    member_id: Id
    delta: int
    reason: str
    points_balance: int


def _stored_value_ok(member_id: int, pin: str | None, confirmed: bool) -> bool:
    return confirmed or (pin is not None and verify_pin(member_id, pin))


def _purchase(body: PurchaseIn, at: dt.datetime, preview: bool) -> dict:
    uses_balance = any(t.kind == "stored_value" for t in body.tenders)
    return record_purchase(
        member_id=body.member_id, business_at=at, store_id=body.store_id, device=body.device,
        receipt_no=body.receipt_no, preview=preview,
        lines=[LineIn(**line.model_dump()) for line in body.lines],
        tenders=[TenderIn(**t.model_dump()) for t in body.tenders],
        pin_verified=uses_balance and not preview and _stored_value_ok(body.member_id, body.pin,
                                                                       body.member_confirmed),
    )


@api_route("/purchases", "POST", summary=_l("Record a purchase"), body=PurchaseIn, response=PurchaseOut,
           operation="purchase")
def create_purchase(body: PurchaseIn, at: dt.datetime):
    """Price with the program in force at ``business_at``: member discount, points per line (pending until the
    return window passes), points/vouchers/stored value as payment, and the tier effect."""
    return _purchase(body, at, preview=False)


@api_route("/purchases/preview", "POST", summary=_l("Preview a purchase"), body=PurchaseIn, response=PurchaseOut,
           status=200, operation="purchase.preview")
def preview_purchase(body: PurchaseIn, at: dt.datetime):
    """The same answer as recording it, without recording anything."""
    return _purchase(body, at, preview=True)


@api_route("/purchases/<int:purchase_id>", summary=_l("One purchase"), response=PurchaseOut)
def show_purchase(purchase_id: int):
    p = get_purchase(purchase_id)
    return PurchaseOut(
        id=p.id, preview=False, member_id=p.member_id, business_date=p.business_date, goods_fen=p.goods_fen,
        voucher_fen=p.voucher_fen, points_used=p.points_used, points_value_fen=p.points_value_fen,
        discount_fen=p.discount_fen, amount_due_fen=p.amount_due_fen, tenders=p.tenders, lines=p.lines,
        points_earned=p.points_earned, points_pending_until=p.pending_until,
        points_status="pending" if p.pending_until > p.business_date else "available", spend_fen=p.spend_fen,
        tier_before=p.tier_before, tier_after=p.tier_after, tier_changes=[], balances={},
    )


@api_route("/purchases/<int:purchase_id>/returns", "POST", summary=_l("Return goods of a purchase"), body=ReturnIn,
           response=ReturnOut, operation="purchase.return")
def create_return(purchase_id: int, body: ReturnIn, at: dt.datetime):
    """Cumulative per purchase: used points come back, earned points are taken back, spend is reversed."""
    if any(q < 0 for q in body.lines.values()):
        raise ServiceError("validation_failed", fields={"lines": "quantities are not negative"})
    return record_return(purchase_id=purchase_id, member_id=body.member_id, lines=body.lines, business_at=at,
                         store_id=body.store_id)


@api_route("/members/<int:member_id>/top-ups", "POST", summary=_l("Top up stored value"), body=TopUpIn,
           response=TopUpOut, operation="member.top_up")
def top_up(member_id: int, body: TopUpIn, at: dt.datetime):
    return sv_service.top_up(member_id=member_id, amount_fen=body.amount_fen, business_at=at,
                             store_id=body.store_id)


@api_route("/members/<int:member_id>/stored-value/payments", "POST", summary=_l("Pay from stored value"),
           body=PaymentIn, response=PaymentOut, operation="member.pay")
def pay(member_id: int, body: PaymentIn, at: dt.datetime):
    """Outside an itemised purchase (e.g. a hotel folio); needs the PIN or the member's confirmation."""
    get_member(member_id)
    return sv_service.pay(member_id=member_id, amount_fen=body.amount_fen, business_at=at,
                          pin_verified=_stored_value_ok(member_id, body.pin, body.member_confirmed),
                          reference=body.reference)


@api_route("/members/<int:member_id>/redemptions", "POST", summary=_l("Redeem points"), body=RedemptionIn,
           response=RedemptionOut, operation="member.redeem")
def redeem(member_id: int, body: RedemptionIn, at: dt.datetime):
    return points_service.redeem(member_id=member_id, kind=body.kind, business_at=at, code=body.code,
                                 quantity=body.quantity, points=body.points, nights=body.nights,
                                 store_id=body.store_id)


@api_route("/members/<int:member_id>/points-adjustments", "POST", summary=_l("Adjust points by hand"),
           body=AdjustmentIn, response=AdjustmentOut, operation="member.adjust")
def adjust(member_id: int, body: AdjustmentIn, at: dt.datetime):
    """With a reason, recorded in the ledger; never below zero; never counts for tiers."""
    return points_service.adjust_points(member_id=member_id, delta=body.delta, reason=body.reason, business_at=at)
