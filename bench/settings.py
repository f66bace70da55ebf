"""Where the benchmark runs: database URLs from the environment, and the data-set sizes.

URLs: BENCH_DATABASE_URL (the app role, no BYPASSRLS), BENCH_OWNER_URL (the schema owner: migrations and
the bulk load), BENCH_SUPERUSER_URL (optional: creates the bench database and the pgbench database),
BENCH_REDIS_URL (optional). Under .ci/with-services.sh the TEST_* variables it exports are used instead.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace

from sqlalchemy.engine import make_url

BENCH_DB = "huiyuan_bench"
# What each scenario must reach (bench/RESULTS.md): ratios to the reference measured in the same run.
TARGETS = {"purchase_rps_ratio": 0.5, "purchase_p99_ms": 25.0, "lookup_ratio": 1.5, "segments_ratio": 3.0,
           "import_ratio": 0.25}


@dataclass(frozen=True)
class Urls:
    app: str
    owner: str
    superuser: str | None
    redis: str | None

    def with_database(self, name: str) -> Urls:
        def swap(url: str) -> str:
            return make_url(url).set(database=name).render_as_string(hide_password=False)

        return replace(self, app=swap(self.app), owner=swap(self.owner))

    @property
    def database(self) -> str:
        return make_url(self.app).database or ""


def urls_from_env(env: dict[str, str] | None = None) -> Urls:
    env = dict(os.environ if env is None else env)

    def pick(*names: str) -> str | None:
        return next((env[n] for n in names if env.get(n)), None)

    app = pick("BENCH_DATABASE_URL", "TEST_DATABASE_URL")
    owner = pick("BENCH_OWNER_URL", "TEST_MIGRATION_DATABASE_URL")
    if not app or not owner:
        raise SystemExit("set BENCH_DATABASE_URL and BENCH_OWNER_URL (eval \"$(bash bench/services.sh env)\"), "
                         "or run under .ci/with-services.sh")
    return Urls(app=app, owner=owner, superuser=pick("BENCH_SUPERUSER_URL", "TEST_SUPERUSER_DATABASE_URL"),
                redis=pick("BENCH_REDIS_URL", "TEST_REDIS_URL"))


@dataclass(frozen=True)
class Size:
    """One data set: the big tenant, and small tenants around it (other verticals, same tables)."""

    name: str
    members: int  # in the big tenant
    purchases_per_member: float  # mean; the total is reported as generated
    stores: int
    small_tenants: int
    small_members: int  # per small tenant
    history_days: int = 730
    top_up_share: float = 0.08  # members with stored value


SIZES = {
    "tiny": Size("tiny", members=300, purchases_per_member=6, stores=3, small_tenants=1, small_members=30),
    "small": Size("small", members=10_000, purchases_per_member=10, stores=5, small_tenants=5, small_members=200),
    "medium": Size("medium", members=100_000, purchases_per_member=10, stores=20, small_tenants=20,
                   small_members=1_000),
    "large": Size("large", members=1_000_000, purchases_per_member=10, stores=50, small_tenants=50,
                  small_members=2_000),
}


def size_named(name: str, **overrides) -> Size:
    if name not in SIZES:
        raise SystemExit(f"unknown size {name!r}: one of {', '.join(SIZES)}")
    return replace(SIZES[name], **{k: v for k, v in overrides.items() if v is not None})
