"""Periodic jobs for `rq cron saas/cron.py` (REDIS_URL must be set; see README "Production")."""

from rq import cron

from saas import create_app

app = create_app()


def evaluate_due_tenants() -> list[str]:
    """Hourly: evaluate each tenant once per local day (tier periods, expiry, pending releases)."""
    from tenants.services.evaluation import evaluate_due_tenants as run

    with app.app_context():
        return run()


cron.register(evaluate_due_tenants, queue_name="default", cron="5 * * * *")
