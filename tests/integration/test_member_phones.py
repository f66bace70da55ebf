"""Members' phones in E.164 by phonenumbers (a hotel enrols foreign guests; a bare 11-digit number is
mainland China unless the tenant's phone_region says otherwise) and e-mails checked by email-validator;
migration 0012 rewrites the numbers stored before."""

from __future__ import annotations

import datetime as dt
from urllib.parse import quote

import pytest
from sqlalchemy import select, text

from saas.extensions import db
from saas.models import Tenant
from tenants.models import Member
from tenants.scoping import tenant_context
from tenants.services.errors import ServiceError
from tenants.services.members import normalize_email, search_members, update_member
from tests.factories import make_staff, make_tenant
from tests.integration.test_counter import enrol as counter_enrol
from tests.integration.test_counter import open_counter

pytestmark = pytest.mark.tenant_clock


@pytest.fixture
def hotel(app_ctx):
    return make_tenant("phones-hotel", vertical="hotel", program_from=dt.date(2025, 1, 1))


def enrol(tenant, phone: str, name: str = "王芳"):
    """A guest enrolled at the front desk (hotels enrol real-name verified guests)."""
    return counter_enrol(tenant, phone=phone, name=name, real_name_verified=True, card_fee_paid_fen=3800)


def stored(tenant, member_id) -> tuple[str | None, str | None]:
    with tenant_context(tenant):
        return db.session.execute(select(Member.phone, Member.phone_last4).where(Member.id == member_id)).one()


def test_a_hotel_enrols_a_foreign_guest_and_a_mainland_guest_both_stored_in_e164(hotel):
    guest = enrol(hotel, phone="+44 7911 123456", name="Alice Brown")
    local = enrol(hotel, phone="138 1234 5678", name="王芳")
    assert stored(hotel, guest.id) == ("+447911123456", "3456")
    assert stored(hotel, local.id) == ("+8613812345678", "5678")


def test_one_member_per_number_however_it_is_typed(hotel):
    enrol(hotel, phone="13812345678")
    for spelling in ("+86 138 1234 5678", "0086 13812345678", "138-1234-5678"):
        with pytest.raises(ServiceError) as err:
            enrol(hotel, phone=spelling, name="Twin")
        assert err.value.code == "duplicate_phone"


@pytest.mark.parametrize("typed", ["12345678901", "123456", "+44 12"])
def test_numbers_the_old_digit_count_let_through_are_refused_on_the_field(hotel, typed):
    with pytest.raises(ServiceError) as err:
        enrol(hotel, phone=typed)
    assert err.value.code == "validation_failed" and "phone" in err.value.fields


def test_a_tenant_abroad_reads_bare_numbers_in_its_own_region(hotel):
    tenant = db.session.get(Tenant, hotel.id)
    tenant.settings = {**(tenant.settings or {}), "phone_region": "GB"}
    db.session.commit()
    member = enrol(hotel, phone="07911 123456")
    assert stored(hotel, member.id) == ("+447911123456", "3456")


def test_the_counter_finds_a_foreign_guest_by_full_number_and_last_four_and_masks_it_for_clerks(client, hotel):
    clerk = make_staff(hotel, "clerk")
    guest = enrol(hotel, phone="+44 7911 123456", name="Alice Brown")
    enrol(hotel, phone="13812345678", name="王芳")
    open_counter(client, hotel, clerk)
    for q in ("+44 7911 123456", "+447911123456", "3456"):
        html = client.get(f"/t/{hotel.slug}/counter?q={quote(q)}",
                          headers={"HX-Request": "true"}).get_data(as_text=True)
        assert "Alice Brown" in html and "王芳" not in html, q
        assert "+44 791* **3456" in html and "7911 123456" not in html
    html = client.get(f"/t/{hotel.slug}/counter?q=13812345678", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "138 **** 5678" in html
    full = client.get(f"/t/{hotel.slug}/counter?q={quote('+447911123456')}")  # the one member: their page
    assert full.status_code == 303 and str(guest.id) in full.headers["Location"]


def test_search_by_a_typed_mainland_number_uses_the_e164_key(hotel):
    member = enrol(hotel, phone="13812345678")
    with tenant_context(hotel):
        assert [m.id for m in search_members("138 1234 5678")] == [member.id]
        assert [m.id for m in search_members("+86 13812345678")] == [member.id]
        assert [m.id for m in search_members("5678")] == [member.id]


def test_the_api_finds_a_foreign_guest_with_the_plus_encoded_or_not(client, hotel):
    from tenants.services.api_keys import create_api_key

    guest = enrol(hotel, phone="+44 7911 123456", name="Alice Brown")
    with tenant_context(hotel):
        token = create_api_key("Front desk", created_by=None).token
        db.session.commit()
    for query in ("%2B447911123456", "+447911123456", "%2B44%207911%20123456"):  # "+" unencoded reads as a space
        response = client.get(f"/api/v1/members?phone={query}", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 200 and response.json["id"] == str(guest.id), query
        assert response.json["phone"] == "+447911123456"
    missing = client.get("/api/v1/members?phone=%2B447911123457", headers={"Authorization": f"Bearer {token}"})
    assert missing.status_code == 404


def test_a_landline_enrolled_before_numbers_were_checked_survives_an_edit_of_its_member(hotel):
    member = enrol(hotel, phone="13812345678")
    with tenant_context(hotel):
        row = db.session.get(Member, (hotel.id, member.id))
        row.phone, row.phone_last4 = "+861065529988", "9988"  # what migration 0012 makes of 01065529988
        db.session.commit()
        update_member(row, {"phone": "010 6552 9988", "name": "Renamed"})
        assert row.phone == "+861065529988" and row.name == "Renamed"
        with pytest.raises(ServiceError):
            update_member(row, {"phone": "010 6552 9989"})  # a new number must be a mobile


def test_e_mail_addresses_are_checked_by_email_validator():
    assert normalize_email("  Wang.Fang@Example.COM ") == "wang.fang@example.com"
    assert normalize_email("") is None and normalize_email(None) is None
    for bad in ("wang..fang@example.com", "wang@", "@example.com", "wang@example", "wang fang@example.com",
                "wang@exa_mple.com"):
        with pytest.raises(ServiceError) as err:
            normalize_email(bad)
        assert err.value.fields == {"email": "Enter a valid e-mail address."}, bad


# --- migration 0012 ---------------------------------------------------------------------------------


def _raw_phones(owner_engine, tenant) -> dict[str, tuple[str, str]]:
    with owner_engine.begin() as conn:
        conn.execute(text("select set_config('app.tenant_id', :t, true)"), {"t": str(tenant.id)})
        return {name: (phone, last4) for name, phone, last4 in conn.execute(
            text("SELECT name, phone, phone_last4 FROM members"))}


def test_migration_0012_rewrites_the_stored_phones_to_e164_under_forced_rls(app, hotel, owner_engine):
    from flask_migrate import downgrade, upgrade

    for name, phone in (("mainland", "13812345678"), ("guest", "+44 7911 123456"), ("odd", "13900000000")):
        enrol(hotel, phone=phone, name=name)
    db.session.remove()
    downgrade(revision="0011")
    try:
        assert _raw_phones(owner_engine, hotel) == {"mainland": ("13812345678", "5678"),
                                                    "guest": ("447911123456", "3456"),
                                                    "odd": ("13900000000", "0000")}
        with owner_engine.begin() as conn:  # what the 6-15 digit check accepted: a landline, a short number
            conn.execute(text("select set_config('app.tenant_id', :t, true)"), {"t": str(hotel.id)})
            conn.execute(text("UPDATE members SET phone = '01065529988', phone_last4 = '9988' WHERE name = 'odd'"))
            conn.execute(text("UPDATE members SET name = 'short', phone = '123456', phone_last4 = '3456' "
                              "WHERE name = 'mainland'"))
    finally:
        upgrade()
    assert _raw_phones(owner_engine, hotel) == {"short": ("123456", "3456"), "guest": ("+447911123456", "3456"),
                                                "odd": ("+861065529988", "9988")}
    with owner_engine.connect() as conn:
        forced = conn.execute(text("SELECT relforcerowsecurity FROM pg_class WHERE relname = 'members'")).scalar()
    assert forced is True


def test_migration_0012_runs_on_the_embedded_sqlite_database(tmp_path):
    from flask_migrate import downgrade, upgrade

    from saas import create_app
    from saas.signup import create_tenant
    from tenants.services.members import enroll_member

    url = f"sqlite:///{tmp_path / 'embedded.db'}"
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "MIGRATION_DATABASE_URI": url, "REDIS_URL": None,
                      "TESTING": True, "SECRET_KEY": "embedded-test"})
    with app.app_context():
        upgrade()
        tenant = create_tenant(business_name="Embedded", slug="embedded", vertical="hotel", owner_name="O",
                               email="owner@embedded.example.com", password="Embedded-2026-pw", language="zh_CN",
                               today=dt.date(2025, 1, 1)).tenant
        db.session.commit()
        with tenant_context(tenant):
            for name, phone in (("mainland", "13812345678"), ("guest", "+44 7911 123456")):
                enroll_member(business_at=dt.datetime.now(dt.UTC), name=name, phone=phone, real_name_verified=True,
                              card_fee_paid_fen=3800)
            db.session.commit()

        def phones():
            with tenant_context(tenant):
                found = dict(db.session.execute(text("SELECT name, phone FROM members")).all())
                db.session.rollback()  # SQLite: a transaction holds the write lock the migration needs
                return found

        downgrade(revision="0011")
        assert phones() == {"mainland": "13812345678", "guest": "447911123456"}
        upgrade()
        assert phones() == {"mainland": "+8613812345678", "guest": "+447911123456"}
        db.session.remove()
        db.engine.dispose()
