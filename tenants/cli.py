"""`flask loyalty ...`: a tenant's loyalty program from the command line (rules kept as code).

    flask loyalty program export --tenant SLUG [--on YYYY-MM-DD] [--output FILE]
    flask loyalty program import --tenant SLUG FILE --effective-from YYYY-MM-DD [--note TEXT]

Every command works inside ``tenant_context`` of the tenant named by ``--tenant``; an import goes through
the same service as the API and the admin editor (``post_program_version``).
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import click
from flask.cli import AppGroup

from saas.extensions import db
from tenants.scoping import tenant_context

loyalty = AppGroup("loyalty", help="A tenant's loyalty program: export, import, evaluate as of a date.")
program = AppGroup("program", help="Export and import program versions as JSON.")
loyalty.add_command(program)


@contextmanager
def tenant_named(slug: str) -> Iterator:
    """The tenant with ``slug`` as the current tenant; a clear error if there is none."""
    from tenants.resolve import tenant_by_slug

    tenant = tenant_by_slug(slug)
    if tenant is None:
        raise click.ClickException(f"no tenant with slug {slug!r}")
    with tenant_context(tenant) as ref:
        yield ref


@program.command("export")
@click.option("--tenant", "slug", required=True, help="The tenant's slug (the /t/<slug>/ of its URLs).")
@click.option("--on", "on", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="The business date whose version to export (default: today in the tenant's time zone).")
@click.option("--output", type=click.Path(dir_okay=False, writable=True), default=None,
              help="Write to this file instead of standard output.")
def export_command(slug: str, on: dt.datetime | None, output: str | None) -> None:
    """Print the program version in force as JSON: version, effective_from, note and rules."""
    from tenants.services.programs import current_program_version

    with tenant_named(slug):
        row = current_program_version(on.date() if on else None)
        if row is None:
            raise click.ClickException("no program version is in force on that date")
        document = {"version": row.version, "effective_from": row.effective_from.isoformat(), "note": row.note,
                    "rules": row.rules}
    text = json.dumps(document, ensure_ascii=False, indent=2, sort_keys=False) + "\n"
    if output:
        with open(output, "w", encoding="utf-8") as fh:
            fh.write(text)
        click.echo(f"Exported version {document['version']} of {slug} to {output}.", err=True)
    else:
        click.echo(text, nl=False)


def read_rules(path: str) -> dict:
    """The rules of a JSON file: an export (``{"version", "effective_from", "rules"}``) or a bare program."""
    try:
        with open(path, encoding="utf-8") as fh:
            document = json.load(fh)
    except json.JSONDecodeError as err:
        raise click.ClickException(f"{path} is not valid JSON (line {err.lineno}, column {err.colno})") from err
    except OSError as err:
        raise click.ClickException(f"cannot read {path}: {err.strerror}") from err
    if isinstance(document, dict) and isinstance(document.get("rules"), dict) and "tiers" not in document:
        return document["rules"]
    return document


@program.command("import")
@click.option("--tenant", "slug", required=True, help="The tenant's slug.")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--effective-from", "effective_from", required=True, type=click.DateTime(formats=["%Y-%m-%d"]),
              help="The first business date of the new version (not before the latest version's).")
@click.option("--note", default="", help="Why this version (at most 200 characters).")
def import_command(slug: str, file: str, effective_from: dt.datetime, note: str) -> None:
    """Validate FILE and post it as the tenant's next program version."""
    from tenants.services.errors import ServiceError
    from tenants.services.programs import post_program_version

    rules = read_rules(file)
    with tenant_named(slug):
        try:
            row = post_program_version(rules, effective_from.date(), note, created_by=None, via="cli")
        except ServiceError as err:
            db.session.rollback()
            click.echo(f"Not imported: {err.message} ({err.code})", err=True)
            for path, message in sorted(err.fields.items()):
                click.echo(f"  {path}: {message}", err=True)
            sys.exit(1)
    click.echo(f"Posted version {row.version} of {slug}, in force from {row.effective_from.isoformat()}.")


@loyalty.command("evaluate")
@click.option("--as-of", "as_of", required=True, type=click.DateTime(formats=["%Y-%m-%d"]),
              help="The business date to evaluate as of (YYYY-MM-DD).")
@click.option("--tenant", "slug", default=None, help="One tenant's slug; default: every tenant.")
def evaluate_command(as_of: dt.datetime, slug: str | None) -> None:
    """Tier period ends, points expiry, pending releases and stored-value expiry as of a date."""
    from sqlalchemy import select

    from saas.models import Tenant
    from tenants.services.evaluation import evaluate_members

    slugs = [slug] if slug else list(db.session.scalars(select(Tenant.slug).order_by(Tenant.slug)))
    for one in slugs:
        with tenant_named(one):
            def progress(done: int, total: int, one=one) -> None:
                click.echo(f"  {one}: {done}/{total} members", err=True)

            stats = evaluate_members(as_of.date(), progress=progress)
        click.echo(f"{one}: evaluated {stats['members']} members as of {as_of.date().isoformat()}; "
                   f"{stats['tier_changes']} tier changes, {stats['points_released']} points released, "
                   f"{stats['points_expired']} points expired, "
                   f"{stats['stored_value_expired_fen']} fen of stored value expired")


@loyalty.command("rotate-data-keys")
def rotate_data_keys_command() -> None:
    """Re-seal every sealed value (members' ID numbers) with the first of DATA_KEYS (saas/crypto.py)."""
    from sqlalchemy import select, text

    from saas.crypto import reseal
    from saas.models import Tenant

    for one in list(db.session.scalars(select(Tenant.slug).order_by(Tenant.slug))):
        with tenant_named(one):
            rows = db.session.execute(text("SELECT id, id_doc_number FROM members "
                                           "WHERE id_doc_number IS NOT NULL")).all()
            for member_id, token in rows:
                db.session.execute(text("UPDATE members SET id_doc_number = :v WHERE id = :id"),
                                   {"v": reseal(token), "id": member_id})
            db.session.commit()
        click.echo(f"{one}: {len(rows)} ID numbers sealed with the first key")


def init_app(app) -> None:
    app.cli.add_command(loyalty)
