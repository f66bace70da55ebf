"""A session ends on the server: a copied cookie is worthless after logout, and deactivating a person ends
their back-office session and their place at a counter tablet on their very next request."""

from __future__ import annotations

from tests.conftest import csrf_from, login
from tests.factories import make_staff
from tests.integration.test_counter import open_counter, switch_to


def test_a_cookie_replayed_after_logout_gets_the_login_page_and_no_data(client, tenant_a):
    clerk = make_staff(tenant_a, "clerk")
    login(client, tenant_a, clerk.email)
    page = client.get("/t/tenant-a/")
    assert page.status_code == 200 and clerk.name in page.get_data(as_text=True)
    copied = client.get_cookie("session").value
    client.post("/t/tenant-a/logout", data={"csrf_token": csrf_from(page.get_data(as_text=True))})

    thief = client.application.test_client()
    thief.set_cookie("session", copied)
    replay = thief.get("/t/tenant-a/")
    assert replay.status_code == 302 and "/t/tenant-a/login" in replay.headers["Location"]
    assert clerk.name not in replay.get_data(as_text=True)
    htmx = thief.get("/t/tenant-a/", headers={"HX-Request": "true"})
    assert htmx.status_code == 401 and htmx.headers["HX-Redirect"].startswith("/t/tenant-a/login")
    assert clerk.name not in htmx.get_data(as_text=True)


def test_deactivating_a_person_ends_their_back_office_session_and_their_counter_place_at_once(app, client,
                                                                                             tenant_a):
    clerk = make_staff(tenant_a, "clerk")
    login(client, tenant_a, clerk.email)
    assert client.get("/t/tenant-a/").status_code == 200
    tablet = app.test_client()
    open_counter(tablet, tenant_a, clerk)
    assert tablet.get("/t/tenant-a/counter").status_code == 200

    manager = app.test_client()
    login(manager, tenant_a, make_staff(tenant_a, "store_manager").email)
    token = csrf_from(manager.get(f"/t/tenant-a/staff/{clerk.id}").get_data(as_text=True))
    assert manager.post(f"/t/tenant-a/staff/{clerk.id}/deactivate", data={"csrf_token": token}).status_code == 302

    back_office = client.get("/t/tenant-a/")
    assert back_office.status_code == 302 and "/t/tenant-a/login" in back_office.headers["Location"]
    counter = tablet.get("/t/tenant-a/counter")
    assert counter.status_code == 303 and counter.headers["Location"].endswith("/counter/pin")
    pad = tablet.get("/t/tenant-a/counter/pin").get_data(as_text=True)
    assert clerk.name not in pad  # no longer offered on the PIN pad
    again = switch_to(tablet, tenant_a, clerk)
    assert again.status_code == 422
    assert tablet.get("/t/tenant-a/counter").status_code == 303
