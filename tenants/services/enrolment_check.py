"""Every reason an enrolment would be refused, by form field, before anything is written.

`enroll_member` stops at its first refusal (and still checks everything itself, inside the
transaction that writes); a form asks here first so a person sees every problem at once, each next
to its field.
"""

from __future__ import annotations

import datetime as dt

from flask_babel import gettext as _
from sqlalchemy import func, select

from saas.extensions import db
from tenants.domain.enrolment import enrolment_refusals
from tenants.domain.program import (
    CardFeeEnrolment,
    CumulativePurchaseEnrolment,
    GiftCardEnrolment,
    SinglePurchaseEnrolment,
)
from tenants.models import Card, Member
from tenants.services.errors import ServiceError
from tenants.services.members import (
    checked_birthday,
    checked_receipts,
    enrolment_facts,
    normalize_email,
    normalize_phone,
    store_opening_day,
)
from tenants.services.programs_in_force import require_program

# Where a condition not met is shown: the field that would meet it.
CONDITION_FIELDS = ((SinglePurchaseEnrolment, "purchase"), (CumulativePurchaseEnrolment, "receipts"),
                    (CardFeeEnrolment, "card_fee_paid"), (GiftCardEnrolment, "gift_card_activated"))
REFUSAL_FIELDS = {"contact_required": "phone", "real_name_required": "id_doc_number"}


def enrolment_field_errors(*, on: dt.date, phone: str | None = None, email: str | None = None,
                           physical_card_number: str | None = None, card_type: str | None = None,
                           real_name_verified: bool = False, purchase_fen: int = 0, card_fee_paid_fen: int = 0,
                           top_up_fen: int = 0, receipts: list | None = None, gift_card_activated: bool = False,
                           store_id: int | None = None, birthday: dt.date | None = None) -> dict[str, str]:
    """{field: translated message} for everything `enroll_member` would refuse in these fields; a refusal
    with no field of its own is under "" (the program's conditions when no field meets them)."""
    errors: dict[str, str] = {}
    _version, program = require_program(on)
    try:
        phone = normalize_phone(phone)
    except ServiceError as err:
        errors.update(err.fields)
        phone = None
    try:
        email = normalize_email(email)
    except ServiceError as err:
        errors.update(err.fields)
        email = None
    if phone and db.session.scalar(select(func.count()).where(Member.phone == phone)):
        errors["phone"] = _("A member with this phone number already exists.")
    if email and db.session.scalar(select(func.count()).where(Member.email == email)):
        errors["email"] = _("A member with this e-mail already exists.")
    if physical_card_number and db.session.scalar(
            select(func.count(Card.id)).where(Card.number == physical_card_number.strip())):
        errors["physical_card_number"] = _("This card number is already in use.")
    try:
        receipts = checked_receipts(receipts or [], on)
    except ServiceError as err:
        errors.update(err.fields)
        receipts = []
    try:
        checked_birthday(birthday, on)
    except ServiceError as err:
        errors.update(err.fields)
    facts = enrolment_facts(on, phone=phone, email=email, real_name_verified=real_name_verified,
                            purchase_fen=purchase_fen, receipts=receipts, card_type=card_type,
                            card_fee_paid_fen=card_fee_paid_fen, top_up_fen=top_up_fen,
                            gift_card_activated=gift_card_activated,
                            store_opened_on=store_opening_day(program, store_id))
    for refusal in enrolment_refusals(program, facts):
        if refusal.code == "contact_required" and ("phone" in errors or "email" in errors):
            continue  # a contact was typed, only not well: its own error says so
        field = REFUSAL_FIELDS.get(refusal.code, "")
        if refusal.code == "enrolment_conditions_not_met":
            field = next((name for cond in program.enrolment.conditions for kind, name in CONDITION_FIELDS
                          if isinstance(cond, kind)), "")
        errors.setdefault(field, ServiceError.from_domain(refusal).message)
    return errors
