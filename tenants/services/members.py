"""Members: enrol, update, find; the summary the counter and the API show."""

from __future__ import annotations

import datetime as dt
import json
import re
import secrets

from email_validator import EmailNotValidError, validate_email
from flask_babel import gettext as _
from sqlalchemy import String, cast, func, or_, select, union
from sqlalchemy.exc import IntegrityError

from saas.audit import audit
from saas.billing.entitlements import check_limit
from saas.extensions import db
from saas.models import StaffUser
from saas.passwords import hash_password
from saas.phones import InvalidPhone, last4, parse_phone
from saas.settings import phone_region
from saas.text import clean_name, clean_tags, clean_text
from tenants.domain import points as dpoints
from tenants.domain.cards import issue_card
from tenants.domain.dates import is_plausible_birthday
from tenants.domain.enrolment import EnrolmentFacts, check_enrolment
from tenants.domain.errors import DomainError
from tenants.domain.program import GiftCardEnrolment, Program
from tenants.domain.stored_value import balance as sv_balance
from tenants.models import Card, Member, Store, TierAccount
from tenants.services import ledger
from tenants.services.business_time import in_tenant_zone, resolve_business_time
from tenants.services.consent import record_enrolment_consent, request_source, set_general_consent
from tenants.services.errors import ServiceError
from tenants.services.programs_in_force import require_program
from tenants.services.stores import require_store
from tenants.services.tiers import new_account, tier_in_force

EDITABLE = ("name", "email", "gender", "birthday", "id_birthday", "id_doc_type", "id_doc_number", "address",
            "profile", "notes", "tags", "marketing_consent", "responsible_staff_id")
# Fields that hold no null: a null sent for one of them clears it to this.
CLEARED = {"name": "", "address": "", "notes": "", "tags": [], "profile": {}}


def checked_birthday(birthday: dt.date | None, on: dt.date, field: str = "birthday") -> dt.date | None:
    """The birthday, or ServiceError validation_failed when no person could have it on `on`."""
    if birthday is not None and not is_plausible_birthday(birthday, on):
        raise ServiceError("validation_failed",
                           fields={field: _("A birthday must be a past date, not before 1900.")})
    return birthday


def normalize_phone(raw: str | None) -> str | None:
    """A member's phone in E.164 (+8613812345678), read in the tenant's region when typed without its
    country code. None when empty; ServiceError when it is not a mobile number."""
    try:
        return parse_phone(raw, phone_region())
    except InvalidPhone as err:
        raise ServiceError("validation_failed", fields={"phone": _("Enter a valid mobile number.")}) from err


def normalize_email(raw: str | None) -> str | None:
    """A member's e-mail checked and normalised by email-validator (no DNS look-up), lower-cased so the
    one-member-per-e-mail key holds. None when empty; ServiceError when it is no address."""
    if raw is None or not str(raw).strip():
        return None
    try:
        email = validate_email(str(raw).strip(), check_deliverability=False).normalized.lower()
    except EmailNotValidError as err:
        raise ServiceError("validation_failed", fields={"email": _("Enter a valid e-mail address.")}) from err
    if len(email) > 254:
        raise ServiceError("validation_failed", fields={"email": _("Enter a valid e-mail address.")})
    return email


def luhn_digit(digits: str) -> str:
    """The Luhn check digit of `digits` (card numbers carry one, so a mistyped digit is caught)."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        n = int(ch)
        if i % 2 == 0:
            n *= 2
            n = n - 9 if n > 9 else n
        total += n
    return str((10 - total % 10) % 10)


def new_card_number() -> str:
    """A 12-digit number with a check digit (typed at counters, printed on cards, in the QR)."""
    body = "8" + f"{secrets.randbelow(10**10):010d}"
    return body + luhn_digit(body)


MAX_RECEIPTS = 50


def checked_receipts(receipts, on: dt.date) -> list[tuple[dt.date, int]]:
    """Receipts as (date, fen): each a real date not after `on` and a positive amount, or one field error."""
    clean = []
    for day, fen in list(receipts)[:MAX_RECEIPTS + 1]:
        if isinstance(day, str):
            try:
                day = dt.date.fromisoformat(day)
            except ValueError:
                day = None
        if not isinstance(day, dt.date) or day > on or not isinstance(fen, int) or fen <= 0:
            raise ServiceError("validation_failed", fields={"receipts": _(
                "Each receipt needs a date up to today and an amount above zero.")})
        clean.append((day, fen))
    if len(clean) > MAX_RECEIPTS:
        raise ServiceError("validation_failed", fields={"receipts": _("At most %(max)d receipts.", max=MAX_RECEIPTS)})
    return clean


def enrolment_facts(on: dt.date, *, purchase_fen: int = 0, receipts=(), **facts) -> EnrolmentFacts:
    """What the enrolment conditions are checked against: today's qualifying purchase and the earlier
    receipts (checked) count as the person's purchases."""
    today = ((on, purchase_fen),) if purchase_fen else ()
    return EnrolmentFacts(on=on, single_purchase_fen=purchase_fen, purchases=today + tuple(receipts), **facts)


def store_opening_day(program: Program, store_id: int | None) -> dt.date | None:
    """The enrolling store's opening day, when the program enrols by gift cards activated within N days of it
    (otherwise nothing to read)."""
    if store_id is None or not any(isinstance(c, GiftCardEnrolment) for c in program.enrolment.conditions):
        return None
    store = db.session.get(Store, (_tenant_id(), store_id))
    return store.opened_on if store is not None else None


def enroll_member(*, business_at: dt.datetime, name: str = "", phone: str | None = None, email: str | None = None,
                  birthday: dt.date | None = None, gender: str | None = None, store_id: int | None = None,
                  staff_id: int | None = None, referrer_id: int | None = None, marketing_consent: bool = False,
                  source: str = "counter", card_type: str | None = None, physical_card_number: str | None = None,
                  pin: str | None = None, real_name_verified: bool = False, id_doc_type: str | None = None,
                  id_doc_number: str | None = None, purchase_fen: int = 0, card_fee_paid_fen: int = 0,
                  top_up_fen: int = 0, gift_card_activated: bool = False, store_opened_on: dt.date | None = None,
                  receipts: list[tuple[dt.date, int]] | None = None, profile: dict | None = None) -> Member:
    """Enrol a member under the program's conditions (any one suffices); give the virtual card.

    `receipts`: (date, goods money in fen) of earlier purchases the clerk enters for "cumulative purchases
    ≥ Y within N months" (checked against the window; kept in the member's profile). A gift card counts
    from the enrolling store's opening day. Duplicate phone or e-mail: ServiceError duplicate_phone /
    duplicate_email. The caller commits.
    """
    check_limit("members")
    business_at = in_tenant_zone(business_at)
    on = business_at.date()
    version, program = require_program(on)
    phone, email = normalize_phone(phone), normalize_email(email)
    checked_birthday(birthday, on)
    receipts = checked_receipts(receipts or [], on)
    store_opened_on = store_opened_on or store_opening_day(program, store_id)
    facts = enrolment_facts(on, phone=phone, email=email, real_name_verified=real_name_verified,
                            purchase_fen=purchase_fen, receipts=receipts, card_type=card_type,
                            card_fee_paid_fen=card_fee_paid_fen, top_up_fen=top_up_fen,
                            gift_card_activated=gift_card_activated, store_opened_on=store_opened_on)
    try:
        decision = check_enrolment(program, facts)
        program.card_type(card_type)
    except DomainError as err:
        raise ServiceError.from_domain(err) from err
    if phone and db.session.scalar(select(func.count()).where(Member.phone == phone)):
        raise ServiceError("duplicate_phone", fields={"phone": _("A member with this phone number already exists.")})
    if email and db.session.scalar(select(func.count()).where(Member.email == email)):
        raise ServiceError("duplicate_email", fields={"email": _("A member with this e-mail already exists.")})
    if physical_card_number and db.session.scalar(
            select(func.count(Card.id)).where(Card.number == physical_card_number.strip())):
        raise ServiceError("validation_failed",
                           fields={"physical_card_number": _("This card number is already in use.")})
    require_store(store_id)  # another tenant's store is unknown here (not a foreign-key error at the flush)
    if referrer_id is not None and db.session.get(Member, (_tenant_id(), referrer_id)) is None:
        raise ServiceError("validation_failed", fields={"referrer_id": _("Unknown member.")})
    account = new_account(program, version.version, on)
    db.session.flush()
    member = Member(name=clean_name(name)[:80], phone=phone, phone_last4=last4(phone),
                    email=email, birthday=birthday, gender=gender, enrolled_store_id=store_id, enrolled_by=staff_id,
                    responsible_staff_id=staff_id, referrer_id=referrer_id, marketing_consent=marketing_consent,
                    source=source, joined_on=on, tier_account_id=account.id, real_name_verified=real_name_verified,
                    id_doc_type=id_doc_type, id_doc_number=id_doc_number, profile=dict(profile or {}))
    if receipts:
        member.profile["enrolment_receipts"] = [[day.isoformat(), fen] for day, fen in receipts]
    db.session.add(member)
    db.session.flush()
    record_enrolment_consent(member, marketing_consent, staff_id=staff_id)
    virtual = issue_card(program, new_card_number(), str(member.id), on, card_type)
    # Card-fee income is sales of the staff who sold the card (SPEC §4): on the physical card when
    # one is handed over, else on the virtual one.
    db.session.add(Card(member_id=member.id, number=virtual.number, kind="virtual", card_type=virtual.card_type,
                        status=virtual.status, issued_on=on, valid_until=virtual.valid_until, store_id=store_id,
                        fee_fen=0 if physical_card_number else decision.card_fee_fen, sold_by=staff_id,
                        pin_hash=hash_password(pin) if pin else None))
    if physical_card_number:
        physical = issue_card(program, physical_card_number.strip(), str(member.id), on, card_type)
        db.session.add(Card(member_id=member.id, number=physical.number, kind="physical",
                            card_type=physical.card_type, status=physical.status, issued_on=on,
                            valid_until=physical.valid_until, fee_fen=decision.card_fee_fen, sold_by=staff_id,
                            store_id=store_id, pin_hash=hash_password(pin) if pin else None))
    if referrer_id is not None and program.earning.referral_points:
        referrer = ledger.lock_member(referrer_id)
        rows = ledger.load_points_lots(referrer.id)
        movement = dpoints.bonus_lot(program, ledger.new_lot_id(), program.earning.referral_points, on,
                                     ref=f"referral:{member.id}")
        ledger.apply_points(referrer, rows, movement.lots, movement.entries, version=version.version,
                            staff_id=staff_id, source="referral", reason="referral")
    try:
        db.session.flush()
    except IntegrityError as err:  # a concurrent twin took the phone or the card number
        db.session.rollback()
        raise ServiceError("duplicate_phone",
                           fields={"phone": _("A member with this phone number already exists.")}) from err
    return member


def _tenant_id() -> int:
    from tenants.scoping import current_tenant_id

    return current_tenant_id()


def get_member(member_id: int) -> Member:
    member = db.session.get(Member, (_tenant_id(), member_id))
    if member is None:
        raise ServiceError("not_found")
    return member


def find_by_phone(phone: str) -> Member | None:
    """The member with this number, however it is spelled. A query string's unencoded + arrives as a space
    (?phone=+447911123456): a leading space before digits is read as that +."""
    if phone[:1] == " " and phone[1:].strip().isdigit():
        phone = "+" + phone[1:].strip()
    try:
        phone = normalize_phone(phone)
    except ServiceError:
        return None
    return db.session.execute(select(Member).where(Member.phone == phone)).scalar_one_or_none() if phone else None


def find_by_card(number: str) -> tuple[Member, Card] | None:
    card = db.session.execute(select(Card).where(Card.number == number.strip())).scalar_one_or_none()
    if card is None:
        return None
    return get_member(card.member_id), card


def search_condition(q: str, tags: bool = False):
    """Who a search names: a full phone, the last 4 digits, a card number (scanners type like keyboards), or
    part of a name (and, with `tags`, a tag exactly). None for an empty search."""
    q = (q or "").strip()
    if not q:
        return None
    digits = re.sub(r"\D", "", q)
    if digits and digits == re.sub(r"[\s\-()]", "", q).removeprefix("+"):
        if len(digits) == 4:
            return Member.phone_last4 == digits
        # Two unique-index probes (card number, phone), then members by primary key. An OR of the two
        # is served by no index: it walked all the tenant's members (1.5 s at a million, bench/RESULTS.md).
        ids = select(Card.member_id).where(Card.number == digits)
        try:
            phone = normalize_phone(q)  # with its + (a foreign number) or without (the tenant's region)
        except ServiceError:
            phone = None
        if phone:
            ids = union(ids, select(Member.id).where(Member.phone == phone))
        return Member.id.in_(ids)
    named = func.lower(Member.name).contains(q.lower(), autoescape=True)
    if not tags:
        return named
    # The tags are a JSON list of strings: its text holds the tag between quotes (PostgreSQL writes jsonb text
    # in UTF-8; SQLite keeps the JSON as SQLAlchemy wrote it, non-ASCII escaped).
    text = cast(Member.tags, String)
    spellings = dict.fromkeys((json.dumps(q, ensure_ascii=False), json.dumps(q)))
    return or_(named, *(text.contains(spelling, autoescape=True) for spelling in spellings))


def search_members(q: str, limit: int = 10) -> list[Member]:
    """Counter search: full phone, last 4 digits, card number (scanners type like keyboards), or name."""
    condition = search_condition(q)
    if condition is None:
        return []
    query = select(Member).where(condition)
    return list(db.session.scalars(query.order_by(Member.name, Member.id).limit(limit)))


def update_member(member: Member, changes: dict, actor_id: int | None = None) -> Member:
    for key in changes:
        if key not in EDITABLE and key != "phone":
            raise ServiceError("validation_failed", fields={key: _("This field cannot be changed here.")})
    changes = {key: CLEARED[key] if value is None and key in CLEARED else value for key, value in changes.items()}
    if changes.get("marketing_consent", False) is None:
        raise ServiceError("validation_failed", fields={"marketing_consent": _("Choose yes or no.")})
    today = resolve_business_time(None).date()
    for field in ("birthday", "id_birthday"):
        if field in changes:
            checked_birthday(changes[field], today, field)
    if "phone" in changes:
        phone = _kept_or_normalized_phone(member, changes["phone"])
        if phone != member.phone and phone and db.session.scalar(
                select(func.count()).where(Member.phone == phone, Member.id != member.id)):
            raise ServiceError("duplicate_phone",
                               fields={"phone": _("A member with this phone number already exists.")})
    if "email" in changes:
        email = normalize_email(changes["email"])
        if email and db.session.scalar(select(func.count()).where(Member.email == email, Member.id != member.id)):
            raise ServiceError("duplicate_email", fields={"email": _("A member with this e-mail already exists.")})
        changes = {**changes, "email": email}
    if "name" in changes:
        changes = {**changes, "name": clean_name(changes["name"])[:80]}
    if "notes" in changes:
        changes = {**changes, "notes": clean_text(changes["notes"])[:2000]}
    if "tags" in changes:
        changes = {**changes, "tags": clean_tags(changes["tags"])}
    if changes.get("responsible_staff_id") is not None:
        changes = {**changes, "responsible_staff_id": _active_staff_id(changes["responsible_staff_id"])}
    if "marketing_consent" in changes:  # per channel, through the consent service (it audits its change)
        set_general_consent(member, bool(changes.pop("marketing_consent")), source=request_source(),
                            staff_id=actor_id)
    changed = [key for key in ("name", "phone", *EDITABLE[1:]) if key in changes
               and getattr(member, key) != (phone if key == "phone" else changes[key])]
    before_staff = member.responsible_staff_id
    for key in EDITABLE:
        if key in changes:
            setattr(member, key, changes[key])
    if "phone" in changes:
        member.phone, member.phone_last4 = phone, last4(phone)
    if changed:  # which fields, never their values (the log is read by more people than the profile)
        audit("member.updated", f"member:{member.id}", actor_id=actor_id, fields=changed)
    if "responsible_staff_id" in changed:
        audit("member.handed_over", f"member:{member.id}", actor_id=actor_id,
              from_staff=str(before_staff) if before_staff else None, to_staff=str(changes["responsible_staff_id"]))
    return member


def _active_staff_id(raw) -> int:
    """A responsible person must be an active staff member of the tenant (another tenant's reads as unknown)."""
    try:
        staff_id = int(raw)
    except (TypeError, ValueError):
        staff_id = 0
    person = db.session.get(StaffUser, (_tenant_id(), staff_id)) if 0 < staff_id < 2**63 else None
    if person is None or not person.active:
        raise ServiceError("validation_failed", fields={"responsible_staff_id": _("Choose an active staff member.")})
    return person.id


def _kept_or_normalized_phone(member: Member, raw) -> str | None:
    """A new phone must be a mobile; the member's own number sent back unchanged is kept even when it is
    not (a landline enrolled before numbers were checked, rewritten to E.164 by migration 0009)."""
    try:
        return normalize_phone(raw)
    except ServiceError:
        try:
            same = member.phone is not None and parse_phone(raw, phone_region(), mobile=False) == member.phone
        except InvalidPhone:
            same = False
        if not same:
            raise
        return member.phone


PERSONAL_FIELDS = ("name", "phone", "email", "birthday", "gender")


def personal_json(member: Member | None) -> dict:
    """The member's personal fields as `member_json` shows them (all None for a member no longer there)."""
    if member is None:
        return dict.fromkeys(PERSONAL_FIELDS)
    return {
        "name": member.name,
        "phone": member.phone,
        "email": member.email,
        "birthday": member.birthday.isoformat() if member.birthday else None,
        "gender": member.gender,
    }


def member_json(member: Member, as_of: dt.date, soon_days: int = 30) -> dict:
    """The member as the API and the counter show it: identity, tier, balances (as of a date)."""
    account = db.session.get(TierAccount, (member.tenant_id, member.tier_account_id))
    tier = tier_in_force(account, as_of)
    points = ledger.points_summary(member.id, as_of, as_of + dt.timedelta(days=soon_days))
    sv = sv_balance(ledger.sv_domain_lots(ledger.load_sv_lots(member.id)), as_of)
    cards = db.session.scalars(select(Card).where(Card.member_id == member.id).order_by(Card.issued_on, Card.id))
    return {
        "id": str(member.id),
        **personal_json(member),
        "status": member.status,
        "joined_on": member.joined_on.isoformat(),
        "marketing_consent": member.marketing_consent,
        "enrolled_store_id": str(member.enrolled_store_id) if member.enrolled_store_id else None,
        "responsible_staff_id": str(member.responsible_staff_id) if member.responsible_staff_id else None,
        "tier": {"code": tier.tier_code, "since": tier.since.isoformat(),
                 "period_end": tier.period_end.isoformat() if tier.period_end else None,
                 "linked": account.kind},
        "points": {**points, "balance": member.points_balance},
        "stored_value": {"balance_fen": member.stored_value_fen, "usable_fen": sv.usable_fen,
                         "principal_fen": sv.principal_fen, "bonus_fen": sv.bonus_fen},
        "cards": [{"number": c.number, "kind": c.kind, "status": c.status, "card_type": c.card_type,
                   "valid_until": c.valid_until.isoformat() if c.valid_until else None} for c in cards],
    }


def reveal_id_document(member: Member, actor_id: int, **details) -> str:
    """查看证件号: the full ID number, each reveal written to the audit log (the caller checks the permission
    and commits)."""
    if not member.id_doc_number:
        raise ServiceError("not_found")
    audit("member.id_document_revealed", f"member:{member.id}", actor_id=actor_id, **details)
    return member.id_doc_number
