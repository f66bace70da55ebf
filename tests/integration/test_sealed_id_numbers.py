"""ID document numbers are sealed at rest and read back as typed (saas/crypto.py, migration 0014)."""

import datetime as dt

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import text

from saas.crypto import mask_id_number, reseal, seal, unseal
from saas.extensions import db
from tenants.models import Member
from tenants.scoping import tenant_context
from tenants.services.members import enroll_member
from tests.factories import make_tenant

NUMBER = "110101199003071234"


@pytest.fixture
def mall(app_ctx):
    tenant = make_tenant("sealed-mall", vertical="mall", program_from=dt.date(2025, 1, 1))
    with tenant_context(tenant):
        yield tenant


def test_an_id_number_is_stored_sealed_and_read_back_as_typed(mall):
    member = enroll_member(business_at=dt.datetime.now(dt.UTC), name="实名", phone="13800008888",
                           real_name_verified=True, id_doc_type="id_card", id_doc_number=NUMBER)
    db.session.commit()
    stored = db.session.scalar(text("SELECT id_doc_number FROM members WHERE id = :id"), {"id": member.id})
    assert NUMBER not in stored and stored.startswith("gAAAAA")
    db.session.expire_all()
    assert db.session.get(Member, (mall.id, member.id)).id_doc_number == NUMBER
    assert mask_id_number(NUMBER) == "11" + "*" * 14 + "34"


def test_keys_rotate_the_first_seals_every_key_opens():
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    before = {"DATA_KEYS": [old], "SECRET_KEY": "x"}
    token = seal(NUMBER, before)
    during = {"DATA_KEYS": [new, old], "SECRET_KEY": "x"}
    assert unseal(token, during) == NUMBER
    rotated = reseal(token, during)
    assert unseal(rotated, {"DATA_KEYS": [new], "SECRET_KEY": "x"}) == NUMBER
    with pytest.raises(RuntimeError, match="DATA_KEYS"):
        unseal(token, {"DATA_KEYS": [new], "SECRET_KEY": "x"})  # the old key removed too early


def test_the_migration_seals_numbers_stored_before_and_the_downgrade_opens_them(app, mall):
    from flask_migrate import downgrade, upgrade

    member = enroll_member(business_at=dt.datetime.now(dt.UTC), name="旧", phone="13800009999",
                           real_name_verified=True, id_doc_type="id_card", id_doc_number=NUMBER)
    db.session.commit()
    db.session.remove()
    query = text("SELECT id_doc_number FROM members WHERE id = :id")
    try:
        downgrade(revision="0013")
        assert db.session.scalar(query, {"id": member.id}) == NUMBER  # plaintext before 0014
        db.session.remove()
    finally:
        upgrade()
    assert db.session.scalar(query, {"id": member.id}).startswith("gAAAAA")
    assert db.session.get(Member, (mall.id, member.id)).id_doc_number == NUMBER


def test_the_rotation_command_reseals_every_number_with_the_first_key(app, mall):
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    saved = app.config["DATA_KEYS"]
    try:
        app.config["DATA_KEYS"] = [old]
        member = enroll_member(business_at=dt.datetime.now(dt.UTC), name="轮换", phone="13800007777",
                               real_name_verified=True, id_doc_type="id_card", id_doc_number=NUMBER)
        db.session.commit()
        db.session.remove()
        app.config["DATA_KEYS"] = [new, old]
        result = app.test_cli_runner().invoke(args=["loyalty", "rotate-data-keys"])
        assert result.exit_code == 0, result.output
        assert "sealed-mall: 1 ID numbers sealed with the first key" in result.output
        app.config["DATA_KEYS"] = [new]  # the old key is gone: every number still opens
        assert db.session.get(Member, (mall.id, member.id)).id_doc_number == NUMBER
    finally:
        app.config["DATA_KEYS"] = saved


def test_the_counter_masks_the_id_number_and_a_manager_reveals_it_with_an_audit_row(client, app_ctx):
    from saas.models import AuditEntry
    from tests.conftest import csrf_from
    from tests.factories import make_staff
    from tests.integration.test_counter import counted, enrol, give_pin, open_counter, switch_to

    shop = make_tenant("sealed-shop", vertical="pharmacy", language="en")
    member = enrol(shop, real_name_verified=True, id_doc_type="id_card", id_doc_number=NUMBER)
    page_url = f"/t/sealed-shop/counter/members/{member.id}"
    reveal_url = f"{page_url}/id-document"
    masked = mask_id_number(NUMBER)

    clerk = make_staff(shop, "clerk")  # a clerk sees no ID document at all, and cannot ask for it
    open_counter(client, shop, clerk)
    page = client.get(page_url).get_data(as_text=True)
    assert masked not in page and NUMBER not in page
    token = csrf_from(page)
    assert client.post(reveal_url, data={"csrf_token": token}).status_code == 403

    vip = make_staff(shop, "vip_specialist")  # sees the masked number, with no way to reveal it
    give_pin(shop, vip)
    assert switch_to(client, shop, vip).status_code == 303
    client.get("/t/sealed-shop/counter?q=5678")  # the tablet changed hands: the member is found again
    page = client.get(page_url).get_data(as_text=True)
    assert masked in page and NUMBER not in page and "Show the number" not in page
    assert client.post(reveal_url, data={"csrf_token": csrf_from(page)}).status_code == 403
    assert counted(shop, AuditEntry, AuditEntry.action == "member.id_document_revealed") == 0

    manager = make_staff(shop, "store_manager")
    give_pin(shop, manager)
    assert switch_to(client, shop, manager).status_code == 303
    client.get("/t/sealed-shop/counter?q=5678")
    page = client.get(page_url).get_data(as_text=True)
    assert masked in page and NUMBER not in page and "Show the number" in page
    shown = client.post(reveal_url, data={"csrf_token": csrf_from(page)}, headers={"HX-Request": "true"})
    body = shown.get_data(as_text=True)
    assert shown.status_code == 200 and NUMBER in body and "<html" not in body and "logged" in body
    with tenant_context(shop):
        rows = db.session.query(AuditEntry).filter_by(action="member.id_document_revealed").all()
        assert [(r.target, r.actor_id) for r in rows] == [(f"member:{member.id}", manager.id)]
    assert NUMBER not in client.get(page_url).get_data(as_text=True)  # masked again on the next visit
