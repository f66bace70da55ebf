"""Periodic jobs for `rq cron saas/cron.py` (REDIS_URL must be set; see README "Production")."""

from rq import cron

from saas import create_app

app = create_app()


def evaluate_due_tenants() -> list[str]:
    """Hourly: evaluate each tenant once per local day (tier periods, expiry, pending releases)."""
    from tenants.services.evaluation import evaluate_due_tenants as run

    with app.app_context():
        return run()


def purge_expired() -> dict:
    """Daily: delete idempotency keys and import files past their retention (tenants/services/retention.py)."""
    from tenants.services.retention import purge_expired as run

    with app.app_context():
        return run()


cron.register(evaluate_due_tenants, queue_name="default", cron="5 * * * *")
cron.register(purge_expired, queue_name="default", cron="40 19 * * *")  # 03:40 in Shanghai, a quiet hour
