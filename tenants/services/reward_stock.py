"""Stock of the reward catalogue (SPEC §7): receipts, stock counts, and the ledger they write.

The catalogue is a program rule (which items, at how many points); stock is the tenant's inventory,
one `RewardStock` row per item. Every change appends a `RewardStockMovement`, so the stock is always
the sum of its item's movements: received (+N), counted (the difference a count found) and redeemed
(−quantity, written by `points.redeem` in the redemption's transaction). `returned` is reserved for a
reversed redemption; nothing reverses a redemption yet.

Each change locks the item's stock row (`SELECT … FOR UPDATE`, the row created first when missing),
so receipts, counts and redemptions of one item queue up and none is lost. Quantities are whole
pieces. Only items of the catalogue in force on the business date are accepted.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite

from saas.audit import audit
from saas.extensions import db
from saas.ids import new_id
from saas.text import clean_name
from tenants.domain.program import CatalogueItem
from tenants.models import RewardStock, RewardStockMovement
from tenants.pagination import Page, paginate
from tenants.programs import business_today, program_in_force
from tenants.scoping import current_tenant_id
from tenants.services.errors import ServiceError

KINDS = ("received", "counted", "redeemed", "returned")
MAX_RECEIPT = 100_000  # pieces in one delivery
MAX_STOCK = 1_000_000  # pieces of one item on hand
NOTE_MAX_LENGTH = 200
LOW_STOCK = 5  # at or below: shown as running low


@dataclass(frozen=True)
class StockLevel:
    """A catalogue item with its stock on hand."""

    item: CatalogueItem
    stock: int

    @property
    def code(self) -> str:
        return self.item.code

    @property
    def low(self) -> bool:
        return self.stock <= LOW_STOCK


def catalogue_item(item_code: str, on: dt.date | None = None) -> CatalogueItem | None:
    """The item of the catalogue in force on `on` (default: today) with this code, or None."""
    found = program_in_force(on)
    if found is None:
        return None
    return next((i for i in found[1].redemption.catalogue if i.code == item_code), None)


def stock_levels(on: dt.date | None = None) -> list[StockLevel]:
    """Every item of the catalogue in force, in catalogue order, with its stock (no row yet: 0)."""
    found = program_in_force(on)
    if found is None:
        return []
    stock = dict(db.session.execute(select(RewardStock.item_code, RewardStock.stock)).all())
    return [StockLevel(item, stock.get(item.code, 0)) for item in found[1].redemption.catalogue]


def stock_level(item_code: str, on: dt.date | None = None) -> StockLevel | None:
    item = catalogue_item(item_code, on)
    if item is None:
        return None
    stock = db.session.scalar(select(RewardStock.stock).where(RewardStock.item_code == item_code))
    return StockLevel(item, stock or 0)


def movements(item_code: str, page: str | int | None = 1) -> Page:
    """The item's movements, newest first, a page at a time."""
    query = (select(RewardStockMovement).where(RewardStockMovement.item_code == item_code)
             .order_by(RewardStockMovement.id.desc()))
    return paginate(query, page)


def lock_stock(item_code: str) -> RewardStock:
    """The item's stock row, locked until the transaction ends; created (at 0) when it does not exist.

    INSERT … ON CONFLICT DO NOTHING first: two first receipts of an item at once both go through, the
    second waiting on the unique index until the first commits, then locking the row it made.
    """
    session = db.session()
    insert = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}[session.get_bind().dialect.name]
    session.execute(insert(RewardStock.__table__)
                    .values(tenant_id=current_tenant_id(), id=new_id(), item_code=item_code, stock=0)
                    .on_conflict_do_nothing(index_elements=["tenant_id", "item_code"]))
    return session.execute(select(RewardStock).where(RewardStock.item_code == item_code)
                           .with_for_update().execution_options(populate_existing=True)).scalar_one()


def _whole(value, field: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ServiceError("validation_failed", fields={field: _(
            "Enter a whole number from %(low)s to %(high)s.", low=f"{low:,}", high=f"{high:,}")})
    return value


def _text(value: str | None, field: str, required: bool) -> str:
    text = clean_name(value)
    if required and not text:
        raise ServiceError("validation_failed", fields={field: _("A reason is required.")})
    if len(text) > NOTE_MAX_LENGTH:
        raise ServiceError("validation_failed", fields={field: _(
            "At most %(max)d characters.", max=NOTE_MAX_LENGTH)})
    return text


def _known(item_code: str, on: dt.date) -> CatalogueItem:
    item = catalogue_item(item_code, on)
    if item is None:
        raise ServiceError("unknown_reward", reward=item_code)
    return item


def _move(row: RewardStock, change: int, kind: str, note: str, staff_id: int | None, on: dt.date) -> dict:
    row.stock += change
    movement = RewardStockMovement(item_code=row.item_code, change=change, stock_after=row.stock, kind=kind,
                                   note=note, staff_id=staff_id, business_date=on)
    db.session.add(movement)
    db.session.flush()
    audit(f"reward_stock.{kind}", f"reward:{row.item_code}", actor_id=staff_id, change=change, stock=row.stock,
          note=note, business_date=on.isoformat())
    return {"movement_id": str(movement.id), "item_code": row.item_code, "kind": kind, "change": change,
            "stock": row.stock, "business_date": on.isoformat()}


def receive(item_code: str, quantity: int, note: str = "", staff_id: int | None = None,
            on: dt.date | None = None, *, commit: bool = True) -> dict:
    """Stock delivered: `quantity` pieces (1 to MAX_RECEIPT) of a catalogue item are added.

    Refused (ServiceError, nothing written): unknown_reward; validation_failed for a quantity out of range,
    a note over 200 characters, or a stock that would pass MAX_STOCK. Audited. Commits once, unless
    ``commit=False`` (inside ``run_idempotent``, which commits with the stored response).
    """
    on = on or business_today()
    _known(item_code, on)
    quantity = _whole(quantity, "quantity", 1, MAX_RECEIPT)
    note = _text(note, "note", required=False)
    row = lock_stock(item_code)
    if row.stock + quantity > MAX_STOCK:
        raise ServiceError("validation_failed", fields={"quantity": _(
            "The stock would pass %(max)s pieces.", max=f"{MAX_STOCK:,}")})
    result = _move(row, quantity, "received", note, staff_id, on)
    if commit:
        db.session.commit()
    return result


def count(item_code: str, counted: int, reason: str, staff_id: int | None = None,
          on: dt.date | None = None, *, commit: bool = True) -> dict:
    """A stock count: the stock becomes `counted` (0 to MAX_STOCK); the movement is the difference found
    (0 when the count agrees: the count is still on record). The reason is required.

    Refused (ServiceError, nothing written): unknown_reward; validation_failed. Audited. Commits once,
    unless ``commit=False``.
    """
    on = on or business_today()
    _known(item_code, on)
    counted = _whole(counted, "counted", 0, MAX_STOCK)
    reason = _text(reason, "reason", required=True)
    row = lock_stock(item_code)
    result = _move(row, counted - row.stock, "counted", reason, staff_id, on)
    if commit:
        db.session.commit()
    return result


def record_redeemed(item_code: str, quantity: int, stock_after: int, redemption_id: int, staff_id: int | None,
                    on: dt.date) -> None:
    """The movement of a catalogue redemption whose (locked) stock row just went down by `quantity` to
    `stock_after`. Written in the redemption's transaction; the caller commits."""
    db.session.add(RewardStockMovement(item_code=item_code, change=-quantity, stock_after=stock_after,
                                       kind="redeemed", staff_id=staff_id, business_date=on,
                                       redemption_id=redemption_id))
