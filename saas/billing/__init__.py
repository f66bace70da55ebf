"""SaaS billing with Stripe: plans and limits (plans.py), the tenant's subscription (models.py,
subscriptions.py), what each state allows (entitlements.py), webhooks, the owner's billing page.

`stripe` itself is imported by stripe_gateway.py only. Without STRIPE_SECRET_KEY billing is off and
every tenant may do everything.
"""

from __future__ import annotations


def init_app(app) -> None:
    """Register the tables, the webhook endpoint, the read-only check, the limit errors and the CLI.

    Call it after the tenant views and the API are registered: the read-only check attaches to them.
    (The billing page itself is a tenant screen, registered with the others in tenants/views.)
    """
    from saas.billing import cli, entitlements, models, webhooks  # noqa: F401  (models: register tables)
    from saas.extensions import csrf

    csrf.exempt(webhooks.bp)
    app.register_blueprint(webhooks.bp)
    entitlements.init_app(app)
    cli.init_app(app)
