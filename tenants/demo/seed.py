"""Demo tenants for `make run`: one per vertical, 3 stores each (the mall's are alliance merchants),
staff in every role, and a year of member history (tenants/demo/history.py). Idempotent: a tenant that
exists already is kept; only the members it is still missing are added (an interrupted run resumes)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from saas.extensions import db
from saas.models import StaffUser
from saas.passwords import hash_password
from saas.permissions import Role
from saas.signup import create_tenant
from tenants.demo.history import HistoryStats, history_batches
from tenants.domain.dates import add_months
from tenants.models import Region, Store
from tenants.resolve import tenant_by_slug
from tenants.scoping import tenant_context

DEMO_PASSWORD = "Demo-2026-huiyuan"  # noqa: S105 (printed by make run on purpose)
DEMO_PIN = "2580"  # every demo staff member's counter PIN (printed by make run)
DEMO_MEMBERS = 2000  # per demo tenant, with twelve months of history
DEMO_SEED = 2026  # the history is a function of this seed and of "today"
DEMO_ZONE = "Asia/Shanghai"  # the demo tenants' time zone (the tenant default)


@dataclass(frozen=True)
class DemoStore:
    code: str
    name: str
    region: int
    kind: str = "store"
    floor: str = ""


@dataclass(frozen=True)
class DemoTenant:
    slug: str
    vertical: str
    name: str
    owner: str
    regions: tuple[str, ...]
    stores: tuple[DemoStore, ...]


DEMO_TENANTS = (
    DemoTenant("demo-pharmacy", "pharmacy", "康宁大药房", "王建国", ("华东区", "华南区"), (
        DemoStore("P01", "康宁大药房 南京路店", 0), DemoStore("P02", "康宁大药房 徐家汇店", 0),
        DemoStore("P03", "康宁大药房 天河店", 1))),
    DemoTenant("demo-clothing", "clothing", "衣尚服饰", "李晓梅", ("北区", "南区"), (
        DemoStore("C01", "衣尚 王府井店", 0), DemoStore("C02", "衣尚 西单店", 0),
        DemoStore("C03", "衣尚 深圳万象城店", 1))),
    DemoTenant("demo-hotel", "hotel", "云栖酒店", "陈志远", ("杭州", "苏州"), (
        DemoStore("H01", "云栖酒店 西湖店", 0), DemoStore("H02", "云栖酒店 钱江店", 0),
        DemoStore("H03", "云栖酒店 金鸡湖店", 1))),
    DemoTenant("demo-mall", "mall", "星汇广场", "赵丽华", ("一至三层", "四至六层"), (
        # Merchant codes match the mall program's per-store rules (rates, whether the card is honoured).
        DemoStore("desk", "星汇广场 会员服务台", 0, floor="1F"),
        DemoStore("f1-cosmetics", "悦己美妆", 0, "merchant", "1F"),
        DemoStore("f3-fashion", "衣橱时装", 0, "merchant", "3F"),
        DemoStore("f5-dining", "老街面馆", 1, "merchant", "5F"),
        DemoStore("f6-cinema", "星汇影城", 1, "merchant", "6F"))),
)


@dataclass(frozen=True)
class DemoLogin:
    slug: str
    email: str
    role: str
    store: str


def _email(role: str, vertical: str, n: int | None = None) -> str:
    return f"{role}{n or ''}@{vertical}.example.com"


def seed_demo(password: str = DEMO_PASSWORD, *, members: int = DEMO_MEMBERS, today: dt.date | None = None,
              now: dt.datetime | None = None, progress: Callable[[str, int, int], None] | None = None,
              summary: Callable[[str, HistoryStats], None] | None = None) -> list[DemoLogin]:
    """Create the missing demo tenants and give each `members` members with a year of history up to
    `today` (default: today in the tenant's zone); return every demo log-in (existing ones included).

    `progress(slug, members done, members)` is called after each committed batch, `summary(slug, stats)`
    once per tenant. Members already there are kept, so a second run only reads.
    """
    create_demo_tenants(password, today=today)
    for _step in seed_demo_history(members=members, today=today, now=now, progress=progress, summary=summary):
        pass
    return demo_logins()


def create_demo_tenants(password: str = DEMO_PASSWORD, *, today: dt.date | None = None) -> None:
    """The demo tenants that are missing, with their stores, staff and program (no members): a few seconds."""
    hashes: dict[str, str] = {}  # argon2 takes half a second a hash: one for all the passwords, one for the PINs
    for spec in DEMO_TENANTS:
        if tenant_by_slug(spec.slug) is None:
            if not hashes:
                hashes = {"password": hash_password(password), "pin": hash_password(DEMO_PIN)}
            # The program is in force a month before the history starts: members of the old system
            # are imported on its first day.
            day = today or dt.datetime.now(ZoneInfo(DEMO_ZONE)).date()
            _create(spec, password, hashes["password"], hashes["pin"], program_from=add_months(day, -13))
            db.session.commit()


def seed_demo_history(*, members: int = DEMO_MEMBERS, today: dt.date | None = None, now: dt.datetime | None = None,
                      progress: Callable[[str, int, int], None] | None = None,
                      summary: Callable[[str, HistoryStats], None] | None = None) -> Iterator[None]:
    """The demo tenants' missing history, one committed batch of one tenant per step, the tenants in
    turn (so that every tenant has members early on). Yields between steps; the same history as
    tenant after tenant, since each tenant's depends on its own seed."""
    running = []
    for block, spec in enumerate(DEMO_TENANTS):
        tenant = tenant_by_slug(spec.slug)
        if tenant is None:
            continue
        stats = HistoryStats()
        with tenant_context(tenant):
            steps = history_batches(stats, vertical=spec.vertical, members=members, today=today, now=now,
                                    seed=DEMO_SEED, phone_block=block, phone_blocks=len(DEMO_TENANTS))
        running.append((spec.slug, tenant, stats, steps))
    while running:
        for entry in list(running):
            slug, tenant, stats, steps = entry
            with tenant_context(tenant):
                step = next(steps, None)
            if step is None:
                running.remove(entry)
                if summary:
                    summary(slug, stats)
            elif progress:
                progress(slug, *step)
            yield


def demo_logins() -> list[DemoLogin]:
    """Every demo log-in, tenant by tenant, the owner first, then by role and e-mail."""
    logins: list[DemoLogin] = []
    rank = {role.value: n for n, role in enumerate(Role)}
    for spec in DEMO_TENANTS:
        tenant = tenant_by_slug(spec.slug)
        if tenant is None:
            continue
        with tenant_context(tenant):
            stores = {s.id: s.name for s in db.session.query(Store)}
            regions = {r.id: r.name for r in db.session.query(Region)}
            staff = sorted(db.session.query(StaffUser), key=lambda u: (rank.get(u.role, len(rank)), u.email))
            logins += [DemoLogin(spec.slug, u.email, u.role, stores.get(u.store_id) or regions.get(u.region_id, ""))
                       for u in staff]
    db.session.commit()
    return logins


def _create(spec: DemoTenant, password: str, password_hash: str, pin_hash: str, program_from: dt.date):
    result = create_tenant(business_name=spec.name, slug=spec.slug, vertical=spec.vertical,
                           owner_name=spec.owner, email=_email("owner", spec.vertical), password=password,
                           language="zh_CN", today=program_from, password_hash=password_hash)
    with tenant_context(result.tenant):
        regions = [Region(name=name) for name in spec.regions]
        db.session.add_all(regions)
        db.session.flush()
        stores = [db.session.query(Store).one()]  # the sign-up store becomes the first demo store
        stores += [Store() for _ in spec.stores[1:]]
        for store, s in zip(stores, spec.stores, strict=True):
            store.code, store.name, store.kind, store.floor = s.code, s.name, s.kind, s.floor
            store.region_id = regions[s.region].id
        db.session.add_all(stores)
        db.session.flush()
        result.owner.store_id = stores[0].id
        staff = [
            StaffUser(name="周敏", email=_email("admin", spec.vertical), role=Role.CHAIN_ADMIN, store_id=stores[0].id),
            StaffUser(name="吴刚", email=_email("supervisor", spec.vertical), role=Role.REGIONAL_SUPERVISOR,
                      region_id=regions[0].id),
        ]
        names = ["张伟", "刘洋", "杨静", "黄磊", "孙丽", "马超", "胡军", "郭芳", "何平", "林娜", "高翔", "罗敏"]
        for n, store in enumerate(stores[:3], start=1):
            for role, key in ((Role.STORE_MANAGER, "manager"), (Role.VIP_SPECIALIST, "vip"), (Role.CLERK, "clerk")):
                staff.append(StaffUser(name=names.pop(0), email=_email(key, spec.vertical, n), role=role,
                                       store_id=store.id))
        result.owner.pin_hash = pin_hash
        for user in staff:
            user.password_hash = password_hash
            user.pin_hash = pin_hash
            user.locale = "zh_CN"
        db.session.add_all(staff)
        db.session.flush()
    return result.tenant
