"""Between the ledger tables and the pure domain: load lots as domain values, persist movements.

Balances on the member row are materialised sums of the entries, changed only here and only
under the member's row lock (`lock_member`), in the caller's single transaction. Database CHECKs
forbid negative lots and balances as the last line of defence.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from sqlalchemy import or_, select

from saas.extensions import db
from saas.ids import new_id
from tenants.domain import points as dpoints
from tenants.domain import stored_value as dsv
from tenants.models import Member, PointsEntry, PointsLot, StoredValueEntry, StoredValueLot
from tenants.services.errors import ServiceError


def lock_member(member_id: int) -> Member:
    """The member row, locked for this transaction (serialises every ledger change of a member)."""
    member = db.session.execute(
        select(Member).where(Member.id == member_id).with_for_update().execution_options(populate_existing=True)
    ).scalar_one_or_none()
    if member is None:
        raise ServiceError("not_found")
    return member


# --- points -----------------------------------------------------------------------------------


def _lot_to_domain(row: PointsLot) -> dpoints.PointsLot:
    return dpoints.PointsLot(
        lot_id=str(row.id),
        points=row.points,
        earned_on=row.earned_on,
        available_on=row.available_on,
        expires_on=row.expires_on,
        purchase_id=str(row.purchase_id) if row.purchase_id else None,
    )


def load_points_lots(member_id: int, also: Iterable[int] = ()) -> dict[str, PointsLot]:
    """The member's lots that still hold points, plus the lots named in `also` (for give-backs)."""
    also = [int(x) for x in also]
    condition = PointsLot.points > 0
    if also:
        condition = or_(condition, PointsLot.id.in_(also))
    rows = db.session.scalars(
        select(PointsLot).where(PointsLot.member_id == member_id, condition).order_by(PointsLot.id)
    )
    return {str(row.id): row for row in rows}


def domain_lots(rows: dict[str, PointsLot]) -> list[dpoints.PointsLot]:
    return [_lot_to_domain(row) for row in rows.values()]


def apply_points(member: Member, rows: dict[str, PointsLot], movement_lots, entries, *, version: int,
                 staff_id: int | None = None, source: str = "purchase", purchase_id: int | None = None,
                 approved_by: int | None = None, reason: str = "") -> int:
    """Persist a domain points movement: lot remainders, new lots, entries, the member's balance.

    Returns the signed change of the balance.
    """
    for lot in movement_lots:
        row = rows.get(lot.lot_id)
        if row is None:
            row = PointsLot(id=int(lot.lot_id), member_id=member.id, points=lot.points, earned=lot.points,
                            earned_on=lot.earned_on, available_on=lot.available_on, expires_on=lot.expires_on,
                            purchase_id=purchase_id if lot.purchase_id else None, source=source,
                            released=lot.available_on <= lot.earned_on)
            db.session.add(row)
            rows[lot.lot_id] = row
        elif row.points != lot.points:
            row.points = lot.points
    delta = 0
    for entry in entries:
        db.session.add(PointsEntry(
            member_id=member.id, lot_id=int(entry.lot_id) if entry.lot_id else None, kind=entry.kind,
            points=entry.points, moved=entry.moved, business_date=entry.on, ref=str(entry.ref or "")[:60],
            reason=(entry.reason or reason)[:200], program_version=version, staff_id=staff_id,
            approved_by=approved_by,
        ))
        delta += entry.points
    member.points_balance += delta
    return delta


def points_summary(member_id: int, as_of: dt.date, soon: dt.date) -> dict:
    rows = load_points_lots(member_id)
    lots = domain_lots(rows)
    bal = dpoints.balance(lots, as_of)
    return {
        "total": bal.total,
        "available": bal.available,
        "pending": bal.pending,
        "expiring_soon": dpoints.expiring_points(lots, as_of, soon),
        "expiring_before": soon.isoformat(),
    }


# --- stored value -----------------------------------------------------------------------------


def load_sv_lots(member_id: int) -> dict[str, StoredValueLot]:
    rows = db.session.scalars(
        select(StoredValueLot)
        .where(StoredValueLot.member_id == member_id,
               or_(StoredValueLot.principal_fen > 0, StoredValueLot.bonus_fen > 0))
        .order_by(StoredValueLot.id)
    )
    return {str(row.id): row for row in rows}


def sv_domain_lots(rows: dict[str, StoredValueLot]) -> list[dsv.StoredValueLot]:
    return [dsv.StoredValueLot(lot_id=str(r.id), principal_fen=r.principal_fen, bonus_fen=r.bonus_fen,
                               topped_up_on=r.topped_up_on, expires_on=r.expires_on) for r in rows.values()]


def apply_stored_value(member: Member, rows: dict[str, StoredValueLot], movement: dsv.StoredValueMovement, *,
                       version: int, staff_id: int | None = None, reason: str = "",
                       approved_by: int | None = None) -> int:
    for lot in movement.lots:
        row = rows.get(lot.lot_id)
        if row is None:
            row = StoredValueLot(id=int(lot.lot_id), member_id=member.id, principal_fen=lot.principal_fen,
                                 bonus_fen=lot.bonus_fen, topped_up_on=lot.topped_up_on, expires_on=lot.expires_on)
            db.session.add(row)
            rows[lot.lot_id] = row
        else:
            row.principal_fen, row.bonus_fen = lot.principal_fen, lot.bonus_fen
    delta = 0
    for entry in movement.entries:
        db.session.add(StoredValueEntry(
            member_id=member.id, lot_id=int(entry.lot_id) if entry.lot_id else None, kind=entry.kind,
            principal_fen=entry.principal_fen, bonus_fen=entry.bonus_fen, business_date=entry.on,
            ref=str(entry.ref or "")[:60], reason=reason[:200], program_version=version, staff_id=staff_id,
            approved_by=approved_by,
        ))
        delta += entry.principal_fen + entry.bonus_fen
    member.stored_value_fen += delta
    return delta


def new_lot_id() -> str:
    return str(new_id())
