"""The member page's points and stored-value ledgers in words: what each entry was (the purchase and its store,
the reward, the top-up, the closure, a person's reason with who asked and who approved) and the program version
it was counted under, with the day that version took effect.

Entries keep a machine reference (`purchase:<id>`, `top_up:<id>`, `redemption:<id>`, ...) and, for manual
adjustments, the reason typed; here they are read back with one query per kind of thing they name.
"""

from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from saas.extensions import db
from saas.i18n import format_day, format_money
from saas.models import StaffUser
from tenants.domain.errors import DomainError
from tenants.models import (
    Member,
    PointsEntry,
    ProgramVersion,
    Purchase,
    Redemption,
    Store,
    StoredValueEntry,
    TopUp,
)
from tenants.programs import _validated
from tenants.scoping import current_tenant_id

ROWS = 30

POINTS_KINDS = {"earn": _l("Earned"), "birthday": _l("Birthday bonus"), "release": _l("Became usable"),
                "redeem": _l("Redeemed"), "return_give_back": _l("Given back by a return"),
                "return_take_back": _l("Taken back by a return"), "expire": _l("Expired"), "adjust": _l("Adjusted"),
                "import": _l("Imported")}
SV_KINDS = {"top_up": _l("Top-up"), "bonus": _l("Top-up bonus"), "pay": _l("Paid with the balance"),
            "refund_credit": _l("Refunded to the balance"), "expire": _l("Expired"),
            "close_refund": _l("Refunded on closing"), "forfeit": _l("Forfeited"), "import": _l("Imported"),
            "adjust": _l("Adjusted")}


def _ref_id(ref: str, prefix: str) -> int | None:
    head, _sep, tail = (ref or "").partition(":")
    return int(tail) if head == prefix and tail.isdigit() and int(tail) < 2**63 else None


def _by_id(model, ids: set[int]) -> dict:
    return {row.id: row for row in db.session.scalars(select(model).where(model.id.in_(ids)))} if ids else {}


class _Lookups:
    """What the entries name, read once for the page."""

    def __init__(self, entries, lang: str):
        self.lang = lang
        refs = [e.ref for e in entries]
        self.purchases = _by_id(Purchase, {i for r in refs for p in ("purchase", "return")
                                           if (i := _ref_id(r, p)) is not None})
        self.top_ups = _by_id(TopUp, {i for r in refs if (i := _ref_id(r, "top_up")) is not None})
        self.redemptions = _by_id(Redemption, {i for r in refs if (i := _ref_id(r, "redemption")) is not None})
        store_ids = {x.store_id for x in (*self.purchases.values(), *self.top_ups.values()) if x.store_id}
        self.stores = {s.id: s.name for s in db.session.scalars(select(Store).where(Store.id.in_(store_ids)))} \
            if store_ids else {}
        people = {p for e in entries for p in (e.staff_id, getattr(e, "approved_by", None)) if p}
        self.people = {p.id: p.name for p in db.session.scalars(select(StaffUser).where(StaffUser.id.in_(people)))} \
            if people else {}
        referred = {i for r in refs if (i := _ref_id(r, "referral")) is not None}
        self.referred = {m.id: m.name for m in db.session.scalars(select(Member).where(Member.id.in_(referred)))} \
            if referred else {}
        versions = {e.program_version for e in entries}
        self.versions = {v.version: v for v in db.session.scalars(
            select(ProgramVersion).where(ProgramVersion.version.in_(versions)))} if versions else {}

    def version_words(self, number: int) -> str:
        row = self.versions.get(number)
        if row is None:
            return _("Version %(n)s", n=number)
        return _("Version %(n)s, in force from %(day)s", n=number, day=format_day(row.effective_from))

    def program(self, number: int):
        row = self.versions.get(number)
        try:
            return _validated(current_tenant_id(), row.id, row.version) if row is not None else None
        except (DomainError, ValueError):
            return None

    def purchase_words(self, purchase: Purchase | None) -> str:
        if purchase is None:
            return _("A purchase")
        where = self.stores.get(purchase.store_id)
        text = (_("Purchase of %(amount)s at %(store)s", amount=format_money(purchase.amount_due_fen), store=where)
                if where else _("Purchase of %(amount)s", amount=format_money(purchase.amount_due_fen)))
        if purchase.receipt_no:
            text += " · " + _("receipt %(no)s", no=purchase.receipt_no)
        return text

    def redemption_words(self, row: Redemption | None) -> str:
        if row is None:
            return _("A reward")
        if row.kind == "nights":
            return _("%(n)s free nights", n=row.quantity)
        if row.kind == "stepped":
            return _("Points paid %(amount)s", amount=format_money(row.value_fen))
        name = row.gift or row.code
        program = self.program(row.program_version)
        if program is not None:
            for item in program.redemption.catalogue:
                if item.code == row.code:
                    name = item.name.text(self.lang)
        if row.voucher_fen:
            return _("A voucher of %(amount)s", amount=format_money(row.voucher_fen))
        return _("Reward: %(name)s × %(n)s", name=name, n=row.quantity)

    def people_words(self, entry) -> str:
        asked, approved = self.people.get(entry.staff_id), self.people.get(getattr(entry, "approved_by", None))
        if asked and approved:
            return _("by %(asked)s, approved by %(approved)s", asked=asked, approved=approved)
        return _("by %(asked)s", asked=asked) if asked else ""


def _points_words(e: PointsEntry, look: _Lookups) -> str:
    ref = e.ref or ""
    if e.kind == "adjust" or ref == "adjust":
        return e.reason
    if (pid := _ref_id(ref, "purchase")) is not None:
        text = look.purchase_words(look.purchases.get(pid))
        return text if e.kind != "redeem" else _("Points paid part of it: %(what)s", what=text)
    if (pid := _ref_id(ref, "return")) is not None:
        return _("Return from: %(what)s", what=look.purchase_words(look.purchases.get(pid)))
    if (rid := _ref_id(ref, "redemption")) is not None:
        return look.redemption_words(look.redemptions.get(rid))
    if (mid := _ref_id(ref, "referral")) is not None:
        return _("For referring %(name)s", name=look.referred.get(mid) or _("a new member"))
    if ref.startswith("birthday:"):
        return _("Birthday bonus of %(year)s", year=ref.partition(":")[2])
    if ref == "expiry" or e.kind == "expire":
        return _("Past their expiry date")
    if e.kind == "release":
        return _("The return window passed: the points can be used")
    if e.kind == "import" or ref.startswith("import:"):
        return _("Balance brought over from the previous system")
    return e.reason


def _stored_words(e: StoredValueEntry, look: _Lookups) -> str:
    ref = e.ref or ""
    if e.kind == "adjust" or ref == "adjust":
        return e.reason
    if (tid := _ref_id(ref, "top_up")) is not None:
        top_up = look.top_ups.get(tid)
        if top_up is None:
            return _("A top-up")
        where = look.stores.get(top_up.store_id)
        return (_("Top-up of %(amount)s at %(store)s", amount=format_money(top_up.amount_fen), store=where) if where
                else _("Top-up of %(amount)s", amount=format_money(top_up.amount_fen)))
    if (pid := _ref_id(ref, "purchase")) is not None:
        return look.purchase_words(look.purchases.get(pid))
    if (pid := _ref_id(ref, "return")) is not None:
        return _("Return from: %(what)s", what=look.purchase_words(look.purchases.get(pid)))
    if ref.startswith("pay:"):
        return _("Payment: %(reference)s", reference=ref.partition(":")[2]) if ref[4:] else _("A payment")
    if e.kind == "close_refund":
        return _("Handed back when the membership was closed")
    if e.kind == "forfeit":
        return _("Bonus not refunded when the membership was closed")
    if ref == "expiry" or e.kind == "expire":
        return _("Past its expiry date")
    if e.kind == "import" or ref.startswith("import:"):
        return _("Balance brought over from the previous system")
    return e.reason


def ledger_rows(member_id: int, lang: str) -> dict:
    """The last entries of both ledgers, newest first, each as {entry, what, words, people, version}."""
    points = list(db.session.scalars(select(PointsEntry).where(PointsEntry.member_id == member_id)
                                     .order_by(PointsEntry.created_at.desc(), PointsEntry.id.desc()).limit(ROWS)))
    stored = list(db.session.scalars(select(StoredValueEntry).where(StoredValueEntry.member_id == member_id)
                                     .order_by(StoredValueEntry.created_at.desc(), StoredValueEntry.id.desc())
                                     .limit(ROWS)))
    look = _Lookups([*points, *stored], lang)

    def row(e, kinds, words) -> dict:
        manual = e.kind == "adjust"
        return {"entry": e, "what": kinds.get(e.kind, e.kind), "words": words(e, look),
                "people": look.people_words(e) if manual else "", "version": look.version_words(e.program_version)}

    return {"points_rows": [row(e, POINTS_KINDS, _points_words) for e in points],
            "stored_rows": [row(e, SV_KINDS, _stored_words) for e in stored]}
