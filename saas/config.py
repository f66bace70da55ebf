"""Configuration. This is the only module that reads the process environment."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
INSTANCE = ROOT / "instance"

_DEV_SECRET = "dev-only-not-secret-change-me"  # noqa: S105 (refused in production)


def _bool(value: str | None, default: bool = False) -> bool:
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def from_env(env: dict[str, str] | None = None) -> dict:
    """Build the Flask config mapping from environment variables (see README, "Configuration")."""
    env = dict(os.environ if env is None else env)
    database_url = env.get("DATABASE_URL") or f"sqlite:///{INSTANCE / 'huiyuan.db'}"
    redis_url = env.get("REDIS_URL") or None
    secret = env.get("SECRET_KEY") or _DEV_SECRET
    production = env.get("HUIYUAN_ENV", "development") == "production"
    import_max = int(env.get("IMPORT_MAX_BYTES", str(50 * 1024 * 1024)))
    if production and secret == _DEV_SECRET:
        raise RuntimeError("SECRET_KEY must be set when HUIYUAN_ENV=production")
    secure_cookies = _bool(env.get("SESSION_COOKIE_SECURE"), production)
    data_keys = [k.strip() for k in env.get("DATA_KEYS", "").split(",") if k.strip()]
    if production and not data_keys:
        raise RuntimeError("DATA_KEYS must be set when HUIYUAN_ENV=production (saas/crypto.py)")
    return {
        "SECRET_KEY": secret,
        # Keys that seal personal data at rest (ID numbers); the first seals, all open (rotation).
        "DATA_KEYS": data_keys,
        "HUIYUAN_ENV": "production" if production else "development",
        "SQLALCHEMY_DATABASE_URI": database_url,
        # Migrations may need a more privileged role (the table owner) than the app (see README).
        "MIGRATION_DATABASE_URI": env.get("MIGRATION_DATABASE_URL") or database_url,
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        "REDIS_URL": redis_url,
        "RATELIMIT_STORAGE_URI": redis_url or "memory://",
        "RATELIMIT_HEADERS_ENABLED": False,
        "LOGIN_RATE_LIMIT": env.get("LOGIN_RATE_LIMIT", "10 per minute"),
        "LOGIN_ACCOUNT_RATE_LIMIT": env.get("LOGIN_ACCOUNT_RATE_LIMIT", "5 per 5 minutes"),
        # Sign-ups that created a business, per client address (refused attempts do not count).
        "SIGNUP_RATE_LIMIT": env.get("SIGNUP_RATE_LIMIT", "5 per hour"),
        # Reverse proxies in front of the app whose X-Forwarded-For/-Proto/-Host are believed (0 = none:
        # the socket address is the client). Rate limits key on the client address this yields.
        "TRUSTED_PROXIES": int(env.get("TRUSTED_PROXIES", "0")),
        # Cookies: HttpOnly, SameSite=Lax, and over HTTPS only in production. A secure cookie also takes the
        # `__Host-` prefix (browsers then refuse it unless Secure, Path=/ and without Domain, so a sibling
        # subdomain cannot plant or overwrite it). The tablet's device cookie follows (counter_session.py).
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": secure_cookies,
        "SESSION_COOKIE_NAME": "__Host-hy_session" if secure_cookies else "session",
        "SESSION_COOKIE_PATH": "/",
        "REMEMBER_COOKIE_SECURE": secure_cookies,
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_PATH": "/",
        "REMEMBER_COOKIE_NAME": "__Host-hy_remember" if secure_cookies else "remember_token",
        "WTF_CSRF_TIME_LIMIT": None,
        "WTF_CSRF_HEADERS": ["X-CSRFToken"],
        "BABEL_DEFAULT_LOCALE": "zh_CN",
        "BABEL_DEFAULT_TIMEZONE": "Asia/Shanghai",
        "BABEL_TRANSLATION_DIRECTORIES": str(ROOT / "saas" / "translations"),
        "LANGUAGES": ["zh_CN", "en"],
        "MAIL_SERVER": env.get("MAIL_SERVER") or None,
        "MAIL_PORT": int(env.get("MAIL_PORT", "25")),
        "MAIL_FROM": env.get("MAIL_FROM", "Huiyuan <no-reply@huiyuan.local>"),
        "PUBLIC_URL": env.get("PUBLIC_URL", "").rstrip("/") or None,
        "INVITATION_DAYS": int(env.get("INVITATION_DAYS", "7")),
        # Retention of data kept only as a means (tenants/services/retention.py).
        "IDEMPOTENCY_KEEP_HOURS": max(24, int(env.get("IDEMPOTENCY_KEEP_HOURS", "192"))),
        "IMPORT_FILE_KEEP_DAYS": max(1, int(env.get("IMPORT_FILE_KEEP_DAYS", "7"))),
        # Counter tablets: back to the PIN pad after this many idle seconds; PIN tries per tablet.
        "COUNTER_IDLE_SECONDS": int(env.get("COUNTER_IDLE_SECONDS", "180")),
        "COUNTER_PIN_RATE_LIMIT": env.get("COUNTER_PIN_RATE_LIMIT", "20 per minute"),
        # Legacy member import: the largest CSV/XLSX accepted (bytes; the file is kept in the database).
        "IMPORT_MAX_BYTES": import_max,
        # No request body larger than the largest import and its form: refused (413) before it is spooled.
        "MAX_CONTENT_LENGTH": import_max + 1024 * 1024,
        "STRIPE_SECRET_KEY": env.get("STRIPE_SECRET_KEY") or None,
        "STRIPE_WEBHOOK_SECRET": env.get("STRIPE_WEBHOOK_SECRET") or None,
        "STRIPE_API_BASE": env.get("STRIPE_API_BASE") or None,
    }


def test_overrides() -> dict:
    """Settings every test app shares (the fixtures add the service URLs)."""
    return {"TESTING": True, "SECRET_KEY": secrets.token_hex(16), "SESSION_COOKIE_SECURE": False}
