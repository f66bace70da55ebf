"""Flask CLI commands: `flask demo seed`."""

from __future__ import annotations

import datetime as dt
import sys

import click
from flask import current_app
from flask.cli import AppGroup

demo = AppGroup("demo", help="Demo data for trying Huiyuan out.")


@demo.command("seed")
@click.option("--url", default="http://127.0.0.1:5000", help="Where the app will be served (for the printout).")
@click.option("--members", type=click.IntRange(min=0), default=None,
              help="Members per demo tenant, each with a year of history (default 2000; 0: none).")
@click.option("--today", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="The last day of the history (default: today). The same day gives the same history.")
def seed_command(url: str, members: int | None, today: dt.datetime | None) -> None:
    """Create the four demo tenants (skipping those that exist), give each a year of member history
    (only what is missing), and print their log-ins."""
    from tenants.demo.seed import DEMO_MEMBERS, DEMO_PASSWORD, DEMO_PIN, seed_demo

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
        if stats.skipped_reason:
            click.echo(f"  {slug}: no history added ({stats.skipped_reason}); `make clean` rebuilds the demo")
        elif stats.members or stats.failed:
            click.echo(("\n" if live else "") + f"  {slug}: {stats.members} members, {stats.purchases} purchases "
                       f"({stats.points_payments} paid partly with points), {stats.returns} returns, "
                       f"{stats.top_ups} top-ups, {stats.redemptions} redemptions in {stats.seconds:.0f}s"
                       + (f"; {stats.failed} skipped (see the log)" if stats.failed else ""))

    logins = seed_demo(members=members, today=today.date() if today else None, progress=progress, summary=summary)
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
