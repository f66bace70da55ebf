"""The owner manages API keys: created and shown once, stored hashed, revoked at once; nobody else may."""

from __future__ import annotations

import hashlib
import re

import pytest

from saas.extensions import db
from saas.models import AuditEntry
from tenants.models import ApiKey
from tenants.scoping import tenant_context
from tenants.services.api_keys import create_api_key
from tests.conftest import csrf_from

PAGE = "/t/tenant-a/settings/api-keys"
KEY_RE = re.compile(r'value="(hy_[0-9a-z]+_[0-9a-z]{8}_[0-9A-Za-z]{40})"')


def create_key(client, name: str = "Front counter POS"):
    token = csrf_from(client.get(PAGE).get_data(as_text=True))
    return client.post(PAGE, data={"name": name, "csrf_token": token})


def test_the_owner_starts_with_an_empty_list_and_a_nav_link(client, tenant_a, login_as):
    login_as("owner")
    html = client.get(PAGE).get_data(as_text=True)
    assert "empty-state" in html
    assert f'href="{PAGE}"' in client.get("/t/tenant-a/").get_data(as_text=True)


def test_a_created_key_is_shown_once_and_only_its_hash_is_kept(client, tenant_a, login_as):
    login_as("owner")
    response = create_key(client)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    token = KEY_RE.search(response.get_data(as_text=True)).group(1)
    _hy, _tenant, prefix, secret = token.split("_")
    with tenant_context(tenant_a):
        row = db.session.query(ApiKey).one()
    assert row.name == "Front counter POS" and row.prefix == prefix
    assert row.secret_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in repr([getattr(row, c.key) for c in ApiKey.__table__.columns])
    listing = client.get(PAGE).get_data(as_text=True)
    assert secret not in listing and prefix in listing and "Front counter POS" in listing
    assert client.get("/api/v1/program", headers={"Authorization": f"Bearer {token}"}).status_code == 200


def test_a_revoked_key_is_refused_and_marked_in_the_list(client, tenant_a, login_as):
    login_as("owner")
    token = KEY_RE.search(create_key(client).get_data(as_text=True)).group(1)
    with tenant_context(tenant_a):
        key_id = db.session.query(ApiKey).one().id
    csrf = csrf_from(client.get(PAGE).get_data(as_text=True))
    response = client.post(f"{PAGE}/{key_id}/revoke", data={"csrf_token": csrf}, follow_redirects=True)
    assert response.status_code == 200
    assert "badge-muted" in response.get_data(as_text=True)
    assert client.get("/api/v1/program", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    with tenant_context(tenant_a):
        actions = [e.action for e in db.session.query(AuditEntry).order_by(AuditEntry.at)]
    assert actions[-2:] == ["api_key.created", "api_key.revoked"]


def test_revoking_needs_the_csrf_token(client, tenant_a, login_as):
    login_as("owner")
    create_key(client)
    with tenant_context(tenant_a):
        key_id = db.session.query(ApiKey).one().id
    assert client.post(f"{PAGE}/{key_id}/revoke").status_code == 400
    with tenant_context(tenant_a):
        db.session.expire_all()
        assert db.session.query(ApiKey).one().revoked_at is None


def test_a_key_needs_a_name(client, tenant_a, login_as):
    login_as("owner")
    response = create_key(client, name="  ")
    assert response.status_code == 422
    with tenant_context(tenant_a):
        assert db.session.query(ApiKey).count() == 0


@pytest.mark.parametrize("role", ["chain_admin", "store_manager", "clerk"])
def test_only_the_owner_manages_api_keys(client, tenant_a, login_as, role):
    with tenant_context(tenant_a):
        key_id = create_api_key("Owner's key", created_by=None).api_key.id
    login_as(role)
    assert client.get(PAGE).status_code == 403
    csrf = csrf_from(client.get("/t/tenant-a/").get_data(as_text=True))
    assert client.post(PAGE, data={"name": "mine", "csrf_token": csrf}).status_code == 403
    assert client.post(f"{PAGE}/{key_id}/revoke", data={"csrf_token": csrf}).status_code == 403
    assert "settings/api-keys" not in client.get("/t/tenant-a/").get_data(as_text=True)
    with tenant_context(tenant_a):
        assert db.session.query(ApiKey).one().revoked_at is None


def test_another_tenants_key_cannot_be_revoked_and_looks_missing(client, tenant_a, tenant_b, login_as):
    with tenant_context(tenant_b):
        issued = create_api_key("B's POS", created_by=None)
    login_as("owner")
    csrf = csrf_from(client.get(PAGE).get_data(as_text=True))
    foreign = client.post(f"{PAGE}/{issued.api_key.id}/revoke", data={"csrf_token": csrf})
    missing = client.post(f"{PAGE}/999999999/revoke", data={"csrf_token": csrf})
    assert foreign.status_code == missing.status_code == 404
    assert "B&#39;s POS" not in client.get(PAGE).get_data(as_text=True)
    assert client.get("/api/v1/program", headers={"Authorization": f"Bearer {issued.token}"}).status_code == 200
