"""Who may become a member (SPEC §3): any one of the tenant's enrolment conditions suffices."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from tenants.domain.dates import add_months
from tenants.domain.errors import DomainError
from tenants.domain.program import (
    CardFeeEnrolment,
    CumulativePurchaseEnrolment,
    FreeSignUp,
    GiftCardEnrolment,
    Program,
    SinglePurchaseEnrolment,
)
from tenants.domain.stored_value import card_fee_for_top_up


@dataclass(frozen=True)
class EnrolmentFacts:
    """What the counter knows when someone asks to join.

    ``purchases``: (date, goods money in fen) of the person's recent purchases, the current one
    included. ``top_up_fen``: a top-up made with the sign-up (may waive the card fee).
    """

    on: date
    phone: str | None = None
    email: str | None = None
    real_name_verified: bool = False
    single_purchase_fen: int = 0
    purchases: Sequence[tuple[date, int]] = ()
    card_type: str | None = None
    card_fee_paid_fen: int = 0
    top_up_fen: int = 0
    gift_card_activated: bool = False
    store_opened_on: date | None = None


@dataclass(frozen=True)
class EnrolmentDecision:
    condition: str  # the kind of the first condition met
    # The card fee of this sign-up, recorded as card income (SPEC §4): charged with it, or paid as the
    # card-fee condition itself; 0 when the card has none or a top-up waived it.
    card_fee_fen: int


def card_fee_due(program: Program, facts: EnrolmentFacts) -> int:
    """The card fee for this sign-up, after waivers by a top-up made with it."""
    return card_fee_for_top_up(program, facts.top_up_fen, facts.card_type)


def check_enrolment(program: Program, facts: EnrolmentFacts) -> EnrolmentDecision:
    """Decide whether ``facts`` allow enrolment; DomainError contact_required, real_name_required or
    enrolment_conditions_not_met (params: the condition kinds) otherwise, the first of
    ``enrolment_refusals``.

    Gift cards activate within ``activation_days`` days of the store opening, that day counted
    (opened 1 May, 10 days: until 11 May inclusive).
    """
    refusals = enrolment_refusals(program, facts)
    if refusals:
        raise refusals[0]
    return _condition_met(program, facts)  # not None: enrolment_refusals found a condition met


def enrolment_refusals(program: Program, facts: EnrolmentFacts) -> list[DomainError]:
    """Every reason ``facts`` do not allow enrolment, in the order ``check_enrolment`` reports them
    (a form shows them all at once): no contact, no real-name check, no condition met."""
    refusals = []
    if not (facts.phone or facts.email):
        refusals.append(DomainError("contact_required"))
    if program.enrolment.real_name_required and not facts.real_name_verified:
        refusals.append(DomainError("real_name_required"))
    if _condition_met(program, facts) is None:
        refusals.append(DomainError("enrolment_conditions_not_met",
                                    conditions=[c.kind for c in program.enrolment.conditions]))
    return refusals


def _condition_met(program: Program, facts: EnrolmentFacts) -> EnrolmentDecision | None:
    """The first of the program's conditions that ``facts`` meet, or None."""
    fee = card_fee_due(program, facts)
    for cond in program.enrolment.conditions:
        if isinstance(cond, FreeSignUp):
            return EnrolmentDecision(cond.kind, fee)
        if isinstance(cond, SinglePurchaseEnrolment) and facts.single_purchase_fen >= cond.min_fen:
            return EnrolmentDecision(cond.kind, fee)
        if isinstance(cond, CumulativePurchaseEnrolment):
            since = add_months(facts.on, -cond.months)
            total = sum(fen for day, fen in facts.purchases if since < day <= facts.on)
            if total >= cond.min_fen:
                return EnrolmentDecision(cond.kind, fee)
        if isinstance(cond, CardFeeEnrolment):
            wanted = cond.fee_fen if cond.fee_fen is not None else fee
            if facts.card_fee_paid_fen >= wanted:
                return EnrolmentDecision(cond.kind, wanted)
        if (
            isinstance(cond, GiftCardEnrolment)
            and facts.gift_card_activated
            and facts.store_opened_on is not None
            and 0 <= (facts.on - facts.store_opened_on).days <= cond.activation_days
        ):
            return EnrolmentDecision(cond.kind, fee)
    return None
