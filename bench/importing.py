"""Scenario 5: CSV import of legacy members through the product (tenants/services/imports.py), against a raw
COPY of the same file.

The import runs in a database of its own (``<bench database>_import``: created, migrated, one tenant signed up on
the clothing preset), so the big data set is never touched and every run starts from the same state. The file is
deterministic: ``members`` rows with Chinese headers as a legacy desktop tool exports them, ~1 % of them with a
problem the dry run must report (a malformed phone, a phone twice in the file, an unknown tier, negative points).

* baseline: ``COPY legacy_raw FROM STDIN (FORMAT csv, HEADER)`` of the file into an all-text scratch table, as the
  owner (no validation, no ids, no ledgers: the fastest a database takes these bytes);
* the product: upload (``create_import``: decode, headers, mapping suggestions, the file kept in the database),
  the dry run (``start_check``: every row validated, duplicates in the file and against the tenant) and the commit
  (``start_commit``: members, tier accounts, cards, opening points and stored value through the ledgers, in
  batches), the jobs run in-process (no REDIS_URL: the embedded mode runs them at once, as ``make run`` does).
"""

from __future__ import annotations

import csv
import datetime as dt
import random
import time
from pathlib import Path

import psycopg

from bench.bulk import libpq_url
from bench.settings import TARGETS, Urls

HEADERS = ("会员姓名", "手机号码", "电子邮箱", "生日", "性别", "会员卡号", "入会日期", "会员等级", "积分余额",
           "储值余额", "赠送余额", "累计消费", "最后消费日期", "备注")
SLUG = "bench-import"
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英"


def write_legacy_csv(path: Path, members: int, tiers: list[str], as_of: dt.date, seed: int = 5) -> dict:
    """The legacy file; returns how many rows of each kind of problem it holds (one problem per bad row)."""
    rng = random.Random(seed)
    problems = {"bad_phone": 0, "phone_twice": 0, "unknown_tier": 0, "negative_points": 0}
    phones: list[str] = []
    with path.open("w", newline="", encoding="utf-8") as f:
        out = csv.writer(f)
        out.writerow(HEADERS)
        for n in range(members):
            phone = f"1{rng.choice('35789')}{n:09d}"  # 14x and 16x are no mobiles
            joined = as_of - dt.timedelta(days=rng.randrange(30, 3650))
            last = joined + dt.timedelta(days=rng.randrange(0, max(1, (as_of - joined).days)))
            birthday = dt.date(rng.randrange(1950, 2006), rng.randrange(1, 13), rng.randrange(1, 29))
            spend = rng.choice((0, 0, rng.randrange(100, 5_000), rng.randrange(5_000, 80_000)))
            row = [rng.choice(SURNAMES) + rng.choice(GIVEN) + rng.choice(("", rng.choice(GIVEN))), phone,
                   f"m{n}@legacy.example.com" if n % 4 == 0 else "", birthday.strftime("%Y/%m/%d"),
                   rng.choice(("男", "女", "")), f"8{n:011d}" if n % 5 == 0 else "", joined.isoformat(),
                   rng.choice(tiers), str(rng.randrange(0, 20_000)),
                   f"{rng.randrange(0, 3_000)}.{rng.randrange(0, 100):02d}" if n % 7 == 0 else "0",
                   f"{rng.randrange(0, 300)}" if n % 7 == 0 else "", f"{spend}.00", last.isoformat(),
                   "老会员" if n % 50 == 0 else ""]
            bad = n % 100 == 99
            if bad:
                kind = ("bad_phone", "phone_twice", "unknown_tier", "negative_points")[(n // 100) % 4]
                problems[kind] += 1
                if kind == "bad_phone":
                    row[1] = phone[:5]
                elif kind == "phone_twice":
                    row[1] = phones[rng.randrange(len(phones))]
                elif kind == "unknown_tier":
                    row[7] = "钻石至尊"
                else:
                    row[8] = "-50"
            else:
                phones.append(phone)
            out.writerow(row)
    return problems


def _database(urls: Urls) -> Urls:
    return urls.with_database(f"{urls.database}_import")


def prepare_database(urls: Urls, as_of: dt.date) -> tuple[Urls, int]:
    """A fresh, migrated database with one tenant; (its urls, the tenant id)."""
    from bench.database import create_database, make_app, migrate
    from saas.extensions import db
    from saas.signup import create_tenant

    target = _database(urls)
    create_database(target)
    app = make_app(target, REDIS_URL=None)
    migrate(app)
    with app.app_context():
        result = create_tenant(business_name="Bench import", slug=SLUG, vertical="clothing", owner_name="Bench owner",
                               email=f"owner@{SLUG}.bench.example.com", password="Bench-2026-huiyuan",
                               language="zh_CN", today=as_of - dt.timedelta(days=3700))
        db.session.commit()
        tenant_id = result.tenant.id
        db.session.remove()
        for engine in db.engines.values():
            engine.dispose()
    return target, tenant_id


def drop_database(urls: Urls) -> None:
    from sqlalchemy import create_engine, text

    admin = create_engine(urls.superuser, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{urls.database}" WITH (FORCE)'))
    admin.dispose()


def copy_baseline(urls: Urls, path: Path) -> dict:
    """Raw COPY of the file into an all-text scratch table, as the owner."""
    columns = ", ".join(f"c{i} text" for i in range(len(HEADERS)))
    with psycopg.connect(libpq_url(urls.owner)) as conn:
        conn.execute("DROP TABLE IF EXISTS legacy_raw")
        conn.execute(f"CREATE TABLE legacy_raw ({columns})")
        conn.commit()
        started = time.perf_counter()
        with conn.cursor() as cur, cur.copy("COPY legacy_raw FROM STDIN WITH (FORMAT csv, HEADER true)") as copy, \
                path.open("rb") as f:
            while chunk := f.read(1 << 20):
                copy.write(chunk)
        conn.commit()
        seconds = time.perf_counter() - started
        rows = conn.execute("SELECT count(*) FROM legacy_raw").fetchone()[0]
        conn.execute("DROP TABLE legacy_raw")
        conn.commit()
    return {"seconds": round(seconds, 3), "rows": rows, "rows_per_s": round(rows / seconds)}


def tier_names(urls: Urls, tenant_id: int) -> list[str]:
    """The tiers as the legacy file names them: the Chinese names of the preset's tiers."""
    from bench.database import app_context
    from saas.extensions import db
    from saas.models import Tenant
    from tenants.programs import program_in_force
    from tenants.scoping import tenant_context

    with app_context(urls, REDIS_URL=None):
        with tenant_context(db.session.get(Tenant, tenant_id)):
            _version, program = program_in_force()
            return [t.name.text("zh_CN") or t.code for t in program.tiers]


def import_through_product(urls: Urls, tenant_id: int, path: Path, log=print) -> dict:
    """Upload, dry run, commit, each timed; the import row's figures."""
    from bench.database import app_context
    from saas.extensions import db
    from saas.models import Tenant
    from tenants.imports_models import MemberImport
    from tenants.scoping import tenant_context
    from tenants.services import imports

    data = path.read_bytes()
    with app_context(urls, REDIS_URL=None, IMPORT_MAX_BYTES=len(data) + 1) as _app:
        with tenant_context(db.session.get(Tenant, tenant_id)):
            started = time.perf_counter()
            imp = imports.create_import(path.name, data, max_bytes=len(data) + 1)
            db.session.commit()
            import_id = imp.id
            uploaded = time.perf_counter()
            log(f"  uploaded {len(data) / 1e6:.0f} MB in {uploaded - started:.1f} s")
            imports.start_check(imp, imports.column_mapping(imp), None)
            checked = time.perf_counter()
            db.session.expire_all()
            imp = db.session.get(MemberImport, (tenant_id, import_id))
            log(f"  dry run: {imp.total_rows:,} rows, {imp.valid_rows:,} valid, {imp.error_rows:,} with errors "
                f"in {checked - uploaded:.1f} s ({imp.status})")
            imports.start_commit(imp, None)
            committed = time.perf_counter()
            db.session.expire_all()
            imp = db.session.get(MemberImport, (tenant_id, import_id))
            log(f"  commit: {imp.created_members:,} members in {committed - checked:.1f} s ({imp.status})")
            figures = {"status": imp.status, "rows": imp.total_rows, "valid_rows": imp.valid_rows,
                       "error_rows": imp.error_rows, "duplicate_rows": imp.duplicate_rows,
                       "issues": imp.issue_count, "created_members": imp.created_members,
                       "upload_s": round(uploaded - started, 3), "check_s": round(checked - uploaded, 3),
                       "commit_s": round(committed - checked, 3), "total_s": round(committed - started, 3),
                       "bytes": len(data)}
    return figures


def legacy_import(urls: Urls, members: int, *, as_of: dt.date | None = None, workdir: Path | None = None,
                  keep: bool = False, log=print) -> dict:
    """Scenario 5 end to end; the ratio is the import's rows per second over COPY's."""
    import tempfile

    as_of = as_of or dt.date.today()
    target, tenant_id = prepare_database(urls, as_of)
    workdir = workdir or Path(tempfile.mkdtemp(prefix="bench-import-"))
    path = workdir / "legacy-members.csv"
    started = time.perf_counter()
    problems = write_legacy_csv(path, members, tier_names(target, tenant_id), as_of)
    log(f"  wrote {members:,} legacy members ({path.stat().st_size / 1e6:.0f} MB) in "
        f"{time.perf_counter() - started:.1f} s; problems planted: {problems}")
    baseline = copy_baseline(target, path)
    log(f"  baseline: COPY {baseline['rows']:,} rows in {baseline['seconds']} s ({baseline['rows_per_s']:,}/s)")
    product = import_through_product(target, tenant_id, path, log=log)
    rows_per_s = round(product["rows"] / product["total_s"]) if product["total_s"] else 0
    ratio = round(rows_per_s / baseline["rows_per_s"], 4) if baseline["rows_per_s"] else 0.0
    path.unlink()
    if not keep:
        drop_database(target)
    return {"members": members, "problems_planted": problems, "baseline": baseline, "product": product,
            "rows_per_s": rows_per_s, "ratio_to_copy": ratio, "database": target.database,
            "met": ratio >= TARGETS["import_ratio"]}
