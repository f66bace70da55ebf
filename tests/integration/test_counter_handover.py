"""A shared tablet changing hands: the member pages the previous person had open are not shown again to the
next one from the back button or the history; finding the member again opens them. Counter pages are never
stored by the browser (Cache-Control: no-store)."""

from __future__ import annotations

import pytest

from tests.conftest import csrf_from
from tests.factories import make_staff
from tests.integration.test_counter import enrol, give_pin, open_counter, switch_to

pytestmark = pytest.mark.tenant_clock


@pytest.fixture
def shop(app_ctx):
    from tests.factories import make_tenant

    return make_tenant("handover-pharmacy", vertical="pharmacy", language="en")


def search(client, q: str):
    page = client.get("/t/handover-pharmacy/counter").get_data(as_text=True)
    return client.post("/t/handover-pharmacy/counter", data={"q": q, "csrf_token": csrf_from(page)})


def test_after_a_pin_switch_the_previous_persons_member_pages_are_refused_until_found_again(client, shop):
    first, second = make_staff(shop, "clerk"), make_staff(shop, "clerk")
    give_pin(shop, second)
    member = enrol(shop, phone="13800001234", name="Li Na")
    open_counter(client, shop, first)
    found = search(client, "13800001234")
    assert found.status_code == 303 and found.headers["Location"].endswith(f"/counter/members/{member.id}")
    page = client.get(found.headers["Location"])
    assert page.status_code == 200 and "Li Na" in page.get_data(as_text=True)
    assert page.headers["Cache-Control"] == "no-store"

    assert switch_to(client, shop, second).status_code == 303
    for path in (f"/counter/members/{member.id}", f"/counter/members/{member.id}/purchase",
                 f"/counter/members/{member.id}/redeem"):
        back = client.get(f"/t/handover-pharmacy{path}")
        assert back.status_code == 303 and back.headers["Location"].endswith("/counter"), path
        assert "Li Na" not in back.get_data(as_text=True)
        htmx = client.get(f"/t/handover-pharmacy{path}", headers={"HX-Request": "true"})
        assert htmx.headers.get("HX-Redirect", "").endswith("/counter") and "Li Na" not in htmx.get_data(as_text=True)
    home = client.get("/t/handover-pharmacy/counter").get_data(as_text=True)
    assert "The counter changed hands: find the member again." in home and "Li Na" not in home

    assert search(client, "1234").status_code == 200  # the list of candidates names her again
    again = client.get(f"/t/handover-pharmacy/counter/members/{member.id}")
    assert again.status_code == 200 and "Li Na" in again.get_data(as_text=True)


def test_locking_the_tablet_hands_over_too_even_to_the_same_person(client, shop):
    clerk = make_staff(shop, "clerk")
    member = enrol(shop, phone="13800001234", name="Li Na")
    open_counter(client, shop, clerk)
    assert client.get(search(client, "13800001234").headers["Location"]).status_code == 200
    page = client.get("/t/handover-pharmacy/counter").get_data(as_text=True)
    client.post("/t/handover-pharmacy/counter/lock", data={"csrf_token": csrf_from(page)})
    switched = switch_to(client, shop, clerk)
    assert switched.status_code == 303, switched.get_data(as_text=True)[-1500:]
    assert client.get(f"/t/handover-pharmacy/counter/members/{member.id}").status_code == 303
