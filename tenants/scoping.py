"""The tenancy guard: the one place that keeps tenants apart.

* The current tenant lives in a context variable, set with `tenant_context(...)` by the request
  (URL prefix), by jobs and by CLI commands, and restored on exit.
* Every tenant-owned model mixes in `TenantOwned`: `(tenant_id, id)` primary key, tenant first.
* A `do_orm_execute` listener adds `tenant_id = <current>` criteria to every ORM SELECT, UPDATE and
  DELETE that touches a tenant-owned entity (joins, relationship loads and aliases included).
* A `before_flush` listener stamps `tenant_id` on new rows and refuses rows of another tenant.
* Touching tenant data with no tenant set raises `NoTenantError`: better to fail than to reveal.
* On PostgreSQL the current tenant is also handed to the database (`app.tenant_id`, transaction
  local), where row-level security policies are the second wall, also against raw SQL.
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy import BigInteger, ForeignKey, event, text
from sqlalchemy.orm import Mapped, Session, declared_attr, mapped_column, with_loader_criteria
from sqlalchemy.sql.util import find_tables

from saas.ids import new_id


class NoTenantError(RuntimeError):
    """Tenant-owned data was touched outside any tenant context."""


class CrossTenantError(RuntimeError):
    """A row of one tenant was written while another tenant was current."""


@dataclass(frozen=True)
class TenantRef:
    """An immutable snapshot of the tenant a request, job or command works for."""

    id: int
    slug: str
    name: str = ""
    locale: str = "zh_CN"
    currency: str = "CNY"
    timezone: str = "Asia/Shanghai"
    vertical: str = "blank"

    @classmethod
    def of(cls, tenant) -> TenantRef:
        if isinstance(tenant, TenantRef):
            return tenant
        return cls(
            id=tenant.id,
            slug=tenant.slug,
            name=tenant.name,
            locale=tenant.locale,
            currency=tenant.currency,
            timezone=tenant.timezone,
            vertical=tenant.vertical,
        )


_current: contextvars.ContextVar[TenantRef | None] = contextvars.ContextVar("current_tenant", default=None)
_switch_hooks: list = []


def current_tenant_or_none() -> TenantRef | None:
    return _current.get()


def current_tenant() -> TenantRef:
    tenant = _current.get()
    if tenant is None:
        raise NoTenantError("tenant-owned data used with no current tenant")
    return tenant


def current_tenant_id() -> int:
    return current_tenant().id


@contextmanager
def tenant_context(tenant) -> Iterator[TenantRef]:
    """Make `tenant` current inside the block; the previous tenant (or none) is restored after."""
    ref = TenantRef.of(tenant) if tenant is not None else None
    token = _current.set(ref)
    _notify_switch()
    try:
        yield ref
    finally:
        _current.reset(token)
        _notify_switch()


@contextmanager
def no_tenant() -> Iterator[None]:
    """A block that must not see any tenant's data (platform work such as sign-up checks)."""
    with tenant_context(None):
        yield


def _notify_switch() -> None:
    for hook in _switch_hooks:
        hook(_current.get())


class TenantOwned:
    """Mixin for every tenant-owned table: `(tenant_id, id)` primary key, tenant first."""

    @declared_attr
    def tenant_id(cls) -> Mapped[int]:  # noqa: N805
        return mapped_column(
            BigInteger, ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True, sort_order=-20
        )

    @declared_attr
    def id(cls) -> Mapped[int]:  # noqa: N805
        return mapped_column(BigInteger, primary_key=True, autoincrement=False, default=new_id, sort_order=-19)


def _tenant_tables() -> frozenset:
    tables = _TENANT_TABLES.get("tables")
    if tables is None:
        tables = frozenset(
            mapper.local_table
            for base in TenantOwned.__subclasses__()
            for mapper in [base.__mapper__]
        )
        _TENANT_TABLES["tables"] = tables
    return tables


_TENANT_TABLES: dict = {}


def _touches_tenant_data(state) -> bool:
    if any(issubclass(m.class_, TenantOwned) for m in state.all_mappers):
        return True
    # Statements with no ORM entity in their columns (`select(func.count()).where(Member.phone == x)`,
    # `select(func.count()).select_from(Member)`) name no mapper, but still read tenant tables.
    tenant_tables = _tenant_tables()
    return any(table in tenant_tables for table in find_tables(state.statement, include_crud=True))


def _add_tenant_criteria(state) -> None:
    if not (state.is_select or state.is_update or state.is_delete):
        return
    if not _touches_tenant_data(state):
        return
    tenant_id = current_tenant_id()  # read outside the lambda: lambdas are cached by code position
    state.statement = state.statement.options(
        with_loader_criteria(TenantOwned, lambda cls: cls.tenant_id == tenant_id, include_aliases=True)
    )


def _stamp_and_check(session, flush_context, instances) -> None:
    for obj in session.new:
        if isinstance(obj, TenantOwned):
            tenant_id = current_tenant_id()
            if obj.tenant_id is None:
                obj.tenant_id = tenant_id
            elif obj.tenant_id != tenant_id:
                raise CrossTenantError(f"new {type(obj).__name__} belongs to another tenant")
    for obj in list(session.dirty) + list(session.deleted):
        if isinstance(obj, TenantOwned) and obj.tenant_id != current_tenant_id():
            raise CrossTenantError(f"{type(obj).__name__} of another tenant changed")


_SET_TENANT = text("select set_config('app.tenant_id', :tenant, true)")


def _tenant_setting() -> str:
    tenant = _current.get()
    return str(tenant.id) if tenant else ""


_SENT = "app.tenant_id sent"  # session.info: what this transaction's connection was last given


def _send_tenant(session, connection) -> None:
    """Hand the current tenant to PostgreSQL unless this transaction already has that value. The setting
    is transaction-local, so a transaction starts with none (= no tenant): nothing to send for that."""
    value = _tenant_setting()
    if session.info.get(_SENT, "") != value:
        connection.execute(_SET_TENANT, {"tenant": value})
        session.info[_SENT] = value


def _after_begin(session, transaction, connection) -> None:
    if connection.dialect.name == "postgresql" and transaction.parent is None:
        session.info[_SENT] = ""
        _send_tenant(session, connection)


def install(db) -> None:
    """Register the listeners (idempotent) and keep PostgreSQL's `app.tenant_id` in step."""
    if not event.contains(Session, "do_orm_execute", _add_tenant_criteria):
        event.listen(Session, "do_orm_execute", _add_tenant_criteria)
        event.listen(Session, "before_flush", _stamp_and_check)
        event.listen(Session, "after_begin", _after_begin)

    def resync(_tenant) -> None:
        # A switch inside an open transaction must reach the database too.
        try:
            if not db.session.registry.has():
                return
        except RuntimeError:  # no app context: no session to keep in step
            return
        session = db.session()
        if session.in_transaction() and session.is_active and session.get_bind().dialect.name == "postgresql":
            _send_tenant(session, session.connection())

    _switch_hooks[:] = [resync]
