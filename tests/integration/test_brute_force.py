"""Guessing in parallel gains nothing: counter PINs and card PINs allow the same number of tries whether they
arrive one after another or all at once (PostgreSQL, Redis), and the lock holds even for the right PIN."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from sqlalchemy import select

from saas.extensions import db
from saas.models import AuditEntry, StaffUser
from tenants.counter import MAX_PIN_FAILURES, PIN_LOCK_MINUTES
from tenants.scoping import tenant_context
from tenants.services import cards as card_service
from tenants.services.errors import ServiceError
from tenants.services.members import enroll_member
from tenants.views.counter_session import COOKIE
from tests.conftest import csrf_from
from tests.factories import make_staff, make_tenant
from tests.integration.test_concurrency import AT, race
from tests.integration.test_counter import PIN, give_pin, register_tablet, switch_to

GUESSES = 20


def test_twenty_wrong_counter_pins_at_once_lock_the_person_after_five_and_the_right_pin_waits(app, app_ctx,
                                                                                                monkeypatch):
    monkeypatch.setitem(app.config, "COUNTER_PIN_RATE_LIMIT", "1000 per minute")  # the per-person lock alone
    tenant = make_tenant("pin-storm", vertical="pharmacy", language="en")
    clerk = make_staff(tenant, "clerk")
    give_pin(tenant, clerk)
    _device, token = register_tablet(tenant)
    clients = []
    for _ in range(GUESSES):
        client = app.test_client()
        client.set_cookie(COOKIE, token, path=f"/t/{tenant.slug}/")
        csrf = csrf_from(client.get(f"/t/{tenant.slug}/counter/pin").get_data(as_text=True))
        clients.append((client, csrf))
    barrier = threading.Barrier(GUESSES)
    statuses: list[int | None] = [None] * GUESSES

    def guess(i):
        client, csrf = clients[i]
        barrier.wait()
        statuses[i] = client.post(f"/t/{tenant.slug}/counter/pin",
                                  data={"staff_id": clerk.id, "pin": f"{9000 + i}", "csrf_token": csrf}).status_code

    threads = [threading.Thread(target=guess, args=(i,)) for i in range(GUESSES)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert sorted(statuses) == [422] * (MAX_PIN_FAILURES - 1) + [423] * (GUESSES - MAX_PIN_FAILURES + 1), statuses
    with tenant_context(tenant):
        db.session.expire_all()
        row = db.session.get(StaffUser, (tenant.id, clerk.id))
        assert row.pin_locked_until is not None
        assert db.session.scalars(select(AuditEntry.action).where(AuditEntry.target == f"staff:{clerk.id}")).all() \
            .count("counter.pin_locked") == 1
    client, csrf = clients[0]
    right = client.post(f"/t/{tenant.slug}/counter/pin", data={"staff_id": clerk.id, "pin": PIN, "csrf_token": csrf})
    assert right.status_code == 423 and "is locked until" in right.get_data(as_text=True)


def test_twenty_wrong_card_pins_at_once_get_five_checks_and_then_even_the_right_pin_is_locked(app, app_ctx):
    tenant = make_tenant("card-pin-storm", vertical="clothing", program_from=dt.date(2025, 1, 1))
    with tenant_context(tenant):
        member = enroll_member(business_at=AT, name="并发", phone="13855556666", pin="246810")
        db.session.commit()
        member_id = member.id

    def guess(i):
        card_service.verify_pin(member_id, f"{100000 + i}")

    answers = race(app, tenant, GUESSES, guess)
    codes = [a.code for a in answers if isinstance(a, ServiceError)]
    assert len(codes) == GUESSES and set(codes) <= {"pin_invalid", "pin_locked"}, answers
    # At most five tries were checked; the first four of them (if they finished before the fifth was counted)
    # say "wrong PIN", every other answer "locked".
    assert codes.count("pin_invalid") <= 4 and codes.count("pin_locked") >= GUESSES - 4, codes
    with tenant_context(tenant), pytest.raises(ServiceError) as err:
        card_service.verify_pin(member_id, "246810")
    assert err.value.code == "pin_locked"


def test_a_locked_counter_pin_opens_again_once_the_lock_has_passed(app, app_ctx):
    import time_machine

    tenant = make_tenant("pin-window", vertical="pharmacy", language="en")
    clerk = make_staff(tenant, "clerk")
    give_pin(tenant, clerk)
    _device, token = register_tablet(tenant)
    client = app.test_client()
    client.set_cookie(COOKIE, token, path=f"/t/{tenant.slug}/")
    with time_machine.travel(dt.datetime.now(dt.UTC), tick=True) as traveller:
        for _ in range(MAX_PIN_FAILURES):
            last = switch_to(client, tenant, clerk, "9999")
        assert last.status_code == 423
        assert switch_to(client, tenant, clerk, PIN).status_code == 423
        traveller.shift(dt.timedelta(minutes=PIN_LOCK_MINUTES - 1))
        assert switch_to(client, tenant, clerk, PIN).status_code == 423  # still inside the lock
        traveller.shift(dt.timedelta(minutes=1, seconds=5))
        assert switch_to(client, tenant, clerk, PIN).status_code == 303  # the window has passed


def test_a_locked_card_pin_opens_again_once_the_window_has_passed_and_not_before(app, app_ctx):
    import time_machine

    tenant = make_tenant("card-pin-window", vertical="clothing", program_from=dt.date(2025, 1, 1))
    with tenant_context(tenant):
        member = enroll_member(business_at=AT, name="窗口", phone="13855557777", pin="246810")
        db.session.commit()
        member_id = member.id
    with time_machine.travel(dt.datetime.now(dt.UTC), tick=True) as traveller, tenant_context(tenant):
        codes = []
        for guess in range(5):
            with pytest.raises(ServiceError) as err:
                card_service.verify_pin(member_id, f"{100000 + guess}")
            codes.append(err.value.code)
        assert codes == ["pin_invalid"] * 4 + ["pin_locked"]
        traveller.shift(dt.timedelta(minutes=29))
        with pytest.raises(ServiceError) as err:
            card_service.verify_pin(member_id, "246810")  # the right PIN, still inside the window
        assert err.value.code == "pin_locked"
        traveller.shift(dt.timedelta(minutes=1, seconds=5))
        assert card_service.verify_pin(member_id, "246810") is True  # the window has passed
        # The right PIN cleared the count: five wrong ones are needed again to lock it.
        for guess in range(4):
            with pytest.raises(ServiceError) as err:
                card_service.verify_pin(member_id, f"{200000 + guess}")
            assert err.value.code == "pin_invalid"
        assert card_service.verify_pin(member_id, "246810") is True
