"""Flask CLI commands: `flask demo seed`."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup

demo = AppGroup("demo", help="Demo data for trying Huiyuan out.")


@demo.command("seed")
@click.option("--url", default="http://127.0.0.1:5000", help="Where the app will be served (for the printout).")
def seed_command(url: str) -> None:
    """Create the four demo tenants (skipping those that exist) and print their log-ins."""
    from saas.demo import DEMO_PASSWORD, seed_demo

    logins = seed_demo()
    click.echo(f"\nHuiyuan is ready at {url}/  (database: {current_app.config['SQLALCHEMY_DATABASE_URI']})")
    click.echo(f"Demo log-ins (password for all: {DEMO_PASSWORD}):")
    current = None
    for login in logins:
        if login.slug != current:
            current = login.slug
            click.echo(f"\n  {url}/t/{login.slug}/login")
        click.echo(f"    {login.role:<20} {login.email:<36} {login.store}")
    click.echo("")


def init_app(app) -> None:
    app.cli.add_command(demo)
