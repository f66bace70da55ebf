"""`flask loyalty program export|import`: a chain keeps its rules as code and posts them from a shell."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from saas.extensions import db
from tenants.models import ProgramVersion
from tenants.programs import business_today
from tenants.scoping import tenant_context


@pytest.fixture
def cli(app):
    runner = app.test_cli_runner()

    def invoke(*args):
        return runner.invoke(args=["loyalty", "program", *args])

    return invoke


def versions(tenant) -> list[ProgramVersion]:
    with tenant_context(tenant):
        db.session.expire_all()
        return list(db.session.query(ProgramVersion).order_by(ProgramVersion.version))


def today_of(tenant) -> dt.date:
    with tenant_context(tenant):
        return business_today()


def test_export_prints_the_version_in_force_with_its_metadata(cli, tenant_a):
    result = cli("export", "--tenant", "tenant-a")
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["version"] == 1
    assert document["effective_from"] == today_of(tenant_a).isoformat()
    assert document["note"] == "preset:clothing"
    assert document["rules"]["vertical"] == "clothing"


def test_an_exported_file_imports_as_the_next_version(cli, tenant_a, tmp_path):
    path = tmp_path / "program.json"
    assert cli("export", "--tenant", "tenant-a", "--output", str(path)).exit_code == 0
    document = json.loads(path.read_text(encoding="utf-8"))
    document["rules"]["earning"]["pending_days"] = 14
    path.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    day = today_of(tenant_a) + dt.timedelta(days=1)

    result = cli("import", "--tenant", "tenant-a", str(path), "--effective-from", day.isoformat(), "--note", "14 days")
    assert result.exit_code == 0, result.output
    assert "version 2" in result.stdout
    rows = versions(tenant_a)
    assert [r.version for r in rows] == [1, 2]
    assert rows[1].effective_from == day and rows[1].note == "14 days"
    assert rows[1].rules == document["rules"]
    tomorrow = json.loads(cli("export", "--tenant", "tenant-a", "--on", day.isoformat()).stdout)
    assert tomorrow["version"] == 2 and tomorrow["rules"]["earning"]["pending_days"] == 14
    assert json.loads(cli("export", "--tenant", "tenant-a").stdout)["version"] == 1


def test_a_bare_program_document_imports_too(cli, tenant_a, tmp_path):
    rules = json.loads(cli("export", "--tenant", "tenant-a").stdout)["rules"]
    path = tmp_path / "rules.json"
    path.write_text(json.dumps(rules), encoding="utf-8")
    result = cli("import", "--tenant", "tenant-a", str(path), "--effective-from", today_of(tenant_a).isoformat())
    assert result.exit_code == 0, result.output
    assert len(versions(tenant_a)) == 2


def test_an_invalid_program_is_not_imported_and_every_field_error_is_printed(cli, tenant_a, tmp_path):
    document = json.loads(cli("export", "--tenant", "tenant-a").stdout)
    document["rules"]["tiers"][0]["code"] = "Not A Code"
    document["rules"]["earning"]["pending_days"] = 1000
    path = tmp_path / "broken.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    result = cli("import", "--tenant", "tenant-a", str(path), "--effective-from", today_of(tenant_a).isoformat())
    assert result.exit_code == 1
    assert "invalid_program" in result.stderr
    assert "tiers.0.code:" in result.stderr and "earning.pending_days:" in result.stderr
    assert len(versions(tenant_a)) == 1


def test_an_import_may_not_start_before_the_latest_version(cli, tenant_a, tmp_path):
    path = tmp_path / "program.json"
    assert cli("export", "--tenant", "tenant-a", "--output", str(path)).exit_code == 0
    yesterday = today_of(tenant_a) - dt.timedelta(days=1)
    result = cli("import", "--tenant", "tenant-a", str(path), "--effective-from", yesterday.isoformat())
    assert result.exit_code == 1
    assert "effective_from:" in result.stderr
    assert len(versions(tenant_a)) == 1


def test_a_file_that_is_not_json_is_refused_clearly(cli, tenant_a, tmp_path):
    path = tmp_path / "nope.json"
    path.write_text("{not json", encoding="utf-8")
    result = cli("import", "--tenant", "tenant-a", str(path), "--effective-from", "2030-01-01")
    assert result.exit_code != 0
    assert "not valid JSON" in result.output


def test_an_unknown_tenant_is_an_error(cli, tenant_a):
    result = cli("export", "--tenant", "no-such-shop")
    assert result.exit_code != 0
    assert "no tenant with slug 'no-such-shop'" in result.output


def test_the_import_touches_only_the_named_tenant(cli, tenant_a, tenant_b, tmp_path):
    path = tmp_path / "program.json"
    assert cli("export", "--tenant", "tenant-a", "--output", str(path)).exit_code == 0
    result = cli("import", "--tenant", "tenant-b", str(path), "--effective-from", today_of(tenant_b).isoformat())
    assert result.exit_code == 0, result.output
    assert len(versions(tenant_a)) == 1
    assert [v.rules["vertical"] for v in versions(tenant_b)] == ["pharmacy", "clothing"]
