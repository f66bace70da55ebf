"""Scenario 7: the back office's member list (tenants/services/member_list.py) over the big tenant, in process.

Each variant is one page as the list shows it (`paginate`: the count of what the filter selects, then 20 rows),
for a chain admin (every store): a search by phone, last four digits, card number, part of a name and a tag;
each filter; each sort; a page deep in the list. Baselines in the same run: a member read by its primary key
(an indexed lookup) and a count of the tenant's members (what every unfiltered page counts).
"""

from __future__ import annotations

import statistics
import time

from bench.settings import Urls

REPEAT = 5


def member_list(urls: Urls, slug: str, *, repeat: int = REPEAT, log) -> dict:
    from sqlalchemy import func, select

    from bench.database import app_context
    from saas.extensions import db
    from saas.models import Tenant
    from tenants.domain.segments import lifecycle_bars
    from tenants.models import Card, Member, Store
    from tenants.pagination import PAGE_SIZE, paginate
    from tenants.programs import business_today, program_in_force
    from tenants.scoping import tenant_context
    from tenants.services.member_list import SORTS, MemberFilter, member_query

    with app_context(urls):
        tenant = db.session.scalars(select(Tenant).where(Tenant.slug == slug)).one()
        with tenant_context(tenant):
            today = business_today()
            program = program_in_force(today)[1]
            bars = lifecycle_bars(today, program.segments.lifecycle)
            middle = db.session.scalar(select(func.count()).select_from(Member)) // 2
            sample = db.session.execute(select(Member.id, Member.phone, Member.name, Member.birthday)
                                        .order_by(Member.id).offset(middle).limit(1)).one()
            card = db.session.scalar(select(Card.number).where(Card.member_id == sample.id).limit(1))
            store = db.session.scalar(select(Store.id).order_by(Store.code).limit(1))
            tagged = db.session.scalar(select(Member.tags).where(func.cast(Member.tags, db.String) != "[]").limit(1))
            db.session.commit()

            name_part = (sample.name or "会员")[-2:]
            variants: dict[str, tuple[MemberFilter, int]] = {
                "all": (MemberFilter(), 1),
                "phone": (MemberFilter(q=sample.phone or ""), 1),
                "last4": (MemberFilter(q=(sample.phone or "0000")[-4:]), 1),
                "card": (MemberFilter(q=card or ""), 1),
                "name": (MemberFilter(q=name_part), 1),
                "tag": (MemberFilter(q=tagged[0] if tagged else "vip"), 1),
                "store": (MemberFilter(store_id=store), 1),
                "tier": (MemberFilter(tier=program.tiers[-1].code), 1),
                "stage_dormant": (MemberFilter(stage="dormant"), 1),
                "birthday_month": (MemberFilter(birthday_month=(sample.birthday.month if sample.birthday else 6)), 1),
                "consent": (MemberFilter(consent=True), 1),
                "joined_range": (MemberFilter(joined_from=today.replace(day=1), joined_to=today), 1),
                **{f"sort_{name}": (MemberFilter(sort=name), 1) for name in SORTS},
                "page_500": (MemberFilter(), 500),
            }

            def timed(work) -> float:
                started = time.perf_counter()
                work()
                db.session.commit()
                return time.perf_counter() - started

            def page_of(f: MemberFilter, number: int):
                return paginate(member_query(f, None, bars), number, size=PAGE_SIZE, rows=True)

            pk = select(Member).where(Member.id == sample.id)
            count = select(func.count()).select_from(Member)
            timed(lambda: db.session.execute(count).one())  # warm
            pk_s = statistics.median(timed(lambda: db.session.execute(pk).one()) for _ in range(repeat * 4))
            count_s = statistics.median(timed(lambda: db.session.execute(count).one()) for _ in range(repeat))
            figures = {}
            for name, (f, number) in variants.items():
                holder: dict = {}
                timed(lambda f=f, number=number, holder=holder: holder.setdefault("p", page_of(f, number)))  # warm
                runs = [timed(lambda f=f, number=number: page_of(f, number)) for _ in range(repeat)]
                found = holder["p"]
                median = statistics.median(runs)
                figures[name] = {"ms": round(median * 1000, 2), "max_ms": round(max(runs) * 1000, 2),
                                 "total": found.total, "rows": len(found.items),
                                 "to_pk": round(median / pk_s, 1) if pk_s else None,
                                 "to_count": round(median / count_s, 2) if count_s else None}
                log(f"  member list {name}: {figures[name]['ms']} ms ({found.total:,} found)")
    return {
        "what": "one page of the member list (count + 20 rows) per search, filter, sort and a deep page, in process",
        "variants": figures,
        "baseline": {"pk_lookup_ms": round(pk_s * 1000, 3), "count_members_ms": round(count_s * 1000, 2)},
    }
