"""`flask billing …`: create our plans in Stripe, show a tenant's subscription."""

from __future__ import annotations

import click
from flask.cli import AppGroup

billing = AppGroup("billing", help="Stripe billing: plans and subscriptions.")


@billing.command("sync-catalogue")
def sync_catalogue() -> None:
    """Create the Stripe product and monthly plan of every self-serve plan (existing ones are kept)."""
    from saas.billing import stripe_gateway as gateway
    from saas.billing.plans import CURRENCY, self_serve_plans

    if not gateway.configured():
        raise click.ClickException("STRIPE_SECRET_KEY is not set: billing is off")
    for plan in self_serve_plans():
        gateway.ensure_product(plan.stripe_product, plan.stripe_name, {"plan": plan.key})
        gateway.ensure_plan(plan.stripe_plan, product_id=plan.stripe_product, amount=plan.monthly_fen,
                            currency=CURRENCY, nickname=plan.key)
        click.echo(f"{plan.key}: product {plan.stripe_product}, plan {plan.stripe_plan} ({plan.monthly_fen} fen/month)")


@billing.command("status")
@click.argument("slug")
def status(slug: str) -> None:
    """Show a tenant's subscription and what it may do."""
    from sqlalchemy import select

    from saas.billing.entitlements import access_for_tenant
    from saas.billing.subscriptions import subscription_for
    from saas.extensions import db
    from saas.models import Tenant

    tenant = db.session.execute(select(Tenant).where(Tenant.slug == slug)).scalar_one_or_none()
    if tenant is None:
        raise click.ClickException(f"no tenant {slug!r}")
    row = subscription_for(tenant.id)
    access = access_for_tenant(tenant.id)
    if row is not None:
        click.echo(f"plan {row.plan}, status {row.status}, trial_end {row.trial_end}, "
                   f"period_end {row.current_period_end}, grace_until {row.grace_until}, "
                   f"customer {row.stripe_customer_id}, subscription {row.stripe_subscription_id}")
    click.echo(f"access: {access.level} ({access.reason})")


def init_app(app) -> None:
    app.cli.add_command(billing)
