"""Flask CLI commands: `flask demo seed` (everything, then the log-ins) and `flask demo run` (what `make run`
does: serve at once, add the member history in the background)."""

from __future__ import annotations

import datetime as dt
import sys

import click
from flask import current_app
from flask.cli import AppGroup

demo = AppGroup("demo", help="Demo data for trying Huiyuan out.")

MEMBERS_HELP = "Members per demo tenant, each with a year of history (default 2000; 0: none)."
TODAY_HELP = "The last day of the history (default: today). The same day gives the same history."


@demo.command("seed")
@click.option("--url", default="http://127.0.0.1:5000", help="Where the app will be served (for the printout).")
@click.option("--members", type=click.IntRange(min=0), default=None, help=MEMBERS_HELP)
@click.option("--today", type=click.DateTime(formats=["%Y-%m-%d"]), default=None, help=TODAY_HELP)
def seed_command(url: str, members: int | None, today: dt.datetime | None) -> None:
    """Create the four demo tenants (skipping those that exist), give each a year of member history
    (only what is missing), and print their log-ins."""
    from tenants.demo.seed import DEMO_MEMBERS, seed_demo

    members = DEMO_MEMBERS if members is None else members
    live = sys.stdout.isatty()
    started: list[bool] = []

    def progress(slug: str, done: int, total: int) -> None:
        if not started:
            started.append(True)
            click.echo(f"Seeding the demo: {members} members per tenant with a year of history (first run only)")
        if live:
            click.echo(f"\r  {slug}: {done}/{total} members", nl=False)
        elif done == total or done % 500 == 0:
            click.echo(f"  {slug}: {done}/{total} members")

    def summary(slug: str, stats) -> None:
        line = summary_line(slug, stats)
        if line:
            click.echo(("\n" if live else "") + line)

    logins = seed_demo(members=members, today=today.date() if today else None, progress=progress, summary=summary)
    echo_logins(url, logins)


@demo.command("run")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, default=5000, show_default=True)
@click.option("--members", type=click.IntRange(min=0), default=None, help=MEMBERS_HELP)
@click.option("--today", type=click.DateTime(formats=["%Y-%m-%d"]), default=None, help=TODAY_HELP)
def run_command(host: str, port: int, members: int | None, today: dt.datetime | None) -> None:
    """Migrate, create the demo tenants, serve on HOST:PORT at once and print the log-ins; the member
    history is added in the background (its progress on one line), only what is still missing."""
    from tenants.demo.seed import DEMO_MEMBERS
    from tenants.demo.serve import run_demo

    run_demo(current_app._get_current_object(), host=host, port=port,
             members=DEMO_MEMBERS if members is None else members, today=today.date() if today else None)


def summary_line(slug: str, stats) -> str:
    if stats.skipped_reason:
        return f"  {slug}: no history added ({stats.skipped_reason}); `make clean` rebuilds the demo"
    if stats.members or stats.failed:
        return (f"  {slug}: {stats.members} members, {stats.purchases} purchases "
                f"({stats.points_payments} paid partly with points), {stats.returns} returns, "
                f"{stats.top_ups} top-ups, {stats.redemptions} redemptions in {stats.seconds:.0f}s"
                + (f"; {stats.failed} skipped (see the log)" if stats.failed else ""))
    return ""


def echo_logins(url: str, logins) -> None:
    """The log-ins, tenant by tenant (its login page first), the owner first."""
    from tenants.demo.seed import DEMO_PASSWORD, DEMO_PIN

    click.echo(f"\nHuiyuan is ready at {url}/  (database: {current_app.config['SQLALCHEMY_DATABASE_URI']})")
    click.echo(f"Demo log-ins (password for all: {DEMO_PASSWORD}; counter PIN for all: {DEMO_PIN}).")
    click.echo("At the counter, a store manager registers the tablet once; staff then tap their name and PIN.")
    current = None
    for login in logins:
        if login.slug != current:
            current = login.slug
            click.echo(f"\n  {url}/t/{login.slug}/login")
        click.echo(f"    {login.role:<20} {login.email:<36} {login.store}")
    click.echo("")


def init_app(app) -> None:
    app.cli.add_command(demo)
