"""The staff list: search as you type (htmx fragment), pages, and scope by role."""

from tests.factories import make_staff


def test_the_staff_list_searches_and_pages(client, tenant_a, login_as):
    login_as("owner")
    for n in range(25):
        make_staff(tenant_a, "clerk", email=f"clerk{n:02d}@tenant-a.example.com")
    first = client.get("/t/tenant-a/staff")
    html = first.get_data(as_text=True)
    assert first.status_code == 200
    assert "第 1 页，共 2 页" in html and html.count("<tr>") == 21  # header + 20 rows

    second = client.get("/t/tenant-a/staff?page=2").get_data(as_text=True)
    assert second.count("<tr>") == 1 + 7  # 25 clerks + owner + the signed-in owner = 27 people

    found = client.get("/t/tenant-a/staff?q=clerk07", headers={"HX-Request": "true"})
    fragment = found.get_data(as_text=True)
    assert "<html" not in fragment and "clerk07@tenant-a.example.com" in fragment
    assert fragment.count("<tr>") == 2

    nothing = client.get("/t/tenant-a/staff?q=zzz").get_data(as_text=True)
    assert "没有与“zzz”匹配的人员" in nothing


def test_a_bad_page_number_shows_the_first_page(client, tenant_a, login_as):
    login_as("owner")
    assert client.get("/t/tenant-a/staff?page=abc").status_code == 200
    assert client.get("/t/tenant-a/staff?page=-3").status_code == 200


def test_clerks_cannot_open_the_staff_list(client, tenant_a, login_as):
    login_as("clerk")
    response = client.get("/t/tenant-a/staff")
    assert response.status_code == 403
    assert "您没有权限执行此操作" in response.get_data(as_text=True)


def test_the_store_list_and_a_store_page(client, tenant_a, login_as):
    login_as("owner")
    html = client.get("/t/tenant-a/stores").get_data(as_text=True)
    assert "S001" in html and "S002" in html
    assert "S002" in client.get("/t/tenant-a/stores?q=second", headers={"HX-Request": "true"}).get_data(as_text=True)
