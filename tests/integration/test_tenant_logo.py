"""The tenant's logo: uploaded on the settings page, checked and re-encoded, served per tenant, shown in the
header and on the counter, removed."""

import io
import re
import struct
import zlib

from PIL import Image
from sqlalchemy import select

from saas.extensions import db
from saas.models import AuditEntry
from tenants.profile_models import TenantLogo
from tenants.scoping import tenant_context
from tests.conftest import csrf_from
from tests.integration.test_counter import open_counter


def image_bytes(fmt: str, size=(64, 32), color=(200, 60, 10, 255), **save) -> bytes:
    out = io.BytesIO()
    mode = "RGBA" if fmt in ("PNG", "WEBP") else "RGB"
    Image.new(mode, size, color[:len(mode)]).save(out, fmt, **save)
    return out.getvalue()


def bomb_png(width: int, height: int) -> bytes:
    """A tiny PNG file whose header declares width × height pixels (a decompression bomb's shape)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 100))
            + chunk(b"IEND", b""))


def upload(client, data: bytes, filename: str = "logo.png"):
    token = csrf_from(client.get("/t/tenant-a/settings").get_data(as_text=True))
    return client.post("/t/tenant-a/settings/logo", data={"csrf_token": token, "logo": (io.BytesIO(data), filename)},
                       content_type="multipart/form-data")


def logo_url(html: str) -> str | None:
    found = re.search(r'class="brand-logo" src="([^"]+)"', html)
    return found.group(1) if found else None


def test_an_owner_uploads_a_logo_that_is_re_encoded_served_with_its_type_and_cached_then_removes_it(
        client, tenant_a, login_as):
    owner = login_as("owner")
    page = client.get("/t/tenant-a/settings").get_data(as_text=True)
    assert "尚未上传标志" in page and logo_url(page) is None and 'class="brand-mark"' in page
    big_jpeg = image_bytes("JPEG", size=(2000, 1000), quality=90)
    assert upload(client, big_jpeg, "shop.jpg").status_code == 302
    page = client.get("/t/tenant-a/").get_data(as_text=True)
    url = logo_url(page)
    assert url and url.startswith("/t/tenant-a/logo?v=") and 'class="brand-mark"' not in page
    served = client.get(url)
    assert served.status_code == 200 and served.headers["Content-Type"] == "image/png"
    assert "immutable" in served.headers["Cache-Control"] and served.headers["ETag"]
    kept = Image.open(io.BytesIO(served.data))
    assert kept.format == "PNG" and kept.size == (512, 256)  # re-encoded, at most 512 × 512
    assert served.data != big_jpeg
    again = client.get(url, headers={"If-None-Match": served.headers["ETag"]})
    assert again.status_code == 304
    assert client.get("/t/tenant-a/logo").headers["Cache-Control"] == "no-cache"  # an old or bare URL: ask again

    assert upload(client, image_bytes("WEBP")).status_code == 302  # a new logo: a new URL
    new_url = logo_url(client.get("/t/tenant-a/settings").get_data(as_text=True))
    assert new_url != url and Image.open(io.BytesIO(client.get(new_url).data)).size == (64, 32)

    page = client.get("/t/tenant-a/settings").get_data(as_text=True)
    assert client.post("/t/tenant-a/settings/logo/remove", data={"csrf_token": csrf_from(page)}).status_code == 302
    assert client.get("/t/tenant-a/logo").status_code == 404
    assert logo_url(client.get("/t/tenant-a/").get_data(as_text=True)) is None
    with tenant_context(tenant_a):
        actions = [(a.action, a.actor_id) for a in db.session.scalars(
            select(AuditEntry).where(AuditEntry.action.like("tenant.logo%")).order_by(AuditEntry.at, AuditEntry.id))]
    assert actions == [("tenant.logo_changed", owner.id), ("tenant.logo_changed", owner.id),
                       ("tenant.logo_removed", owner.id)]


def test_the_counter_tablet_and_the_sign_in_page_show_the_logo(client, tenant_a, login_as):
    clerk = login_as("clerk")
    with client.session_transaction() as session:
        session.clear()
    login_as("owner")
    assert upload(client, image_bytes("PNG")).status_code == 302
    with client.session_transaction() as session:
        session.clear()
    assert logo_url(client.get("/t/tenant-a/login").get_data(as_text=True))
    open_counter(client, tenant_a, clerk)
    counter = client.get("/t/tenant-a/counter").get_data(as_text=True)
    assert 'class="counter-bar"' in counter and logo_url(counter)
    assert client.get(logo_url(counter)).status_code == 200


def test_bad_files_are_refused_on_the_field_and_the_logo_stays(client, tenant_a, login_as):
    login_as("owner")
    good = image_bytes("PNG")
    assert upload(client, good).status_code == 302
    with tenant_context(tenant_a):
        before = db.session.scalar(select(TenantLogo.digest))
    png = image_bytes("PNG", size=(300, 300))
    for data, name, message in (
            (b"", "empty.png", "请选择图片文件"),
            (b"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>", "logo.png",
             "请选择 PNG、JPEG 或 WebP 图片"),
            (image_bytes("GIF"), "logo.gif", "请选择 PNG、JPEG 或 WebP 图片"),
            (png[:len(png) // 2], "cut.png", "无法读取该图片"),
            (bomb_png(20_000, 20_000), "bomb.png", "图片像素过多"),
            (bomb_png(8_000, 6_000), "tall.png", "图片像素过多"),
            (b"\x89PNG\r\n\x1a\n" + b"\0" * (2 * 1024 * 1024), "huge.png", "图片不能超过 2 MB")):
        refused = upload(client, data, name)
        body = refused.get_data(as_text=True)
        assert refused.status_code == 422, (name, refused.status_code)
        assert message in body and 'id="logo-file"' in body and "has-error" in body, name
    missing = client.post("/t/tenant-a/settings/logo", data={"csrf_token": csrf_from(body)})
    assert missing.status_code == 422
    with tenant_context(tenant_a):
        assert db.session.scalar(select(TenantLogo.digest)) == before
        assert db.session.query(AuditEntry).filter_by(action="tenant.logo_changed").count() == 1


def test_only_the_owner_and_chain_admin_change_the_logo_and_each_tenant_serves_its_own(client, tenant_a, tenant_b,
                                                                                       login_as):
    login_as("store_manager")
    token = csrf_from(client.get("/t/tenant-a/members").get_data(as_text=True))
    refused = client.post("/t/tenant-a/settings/logo", data={"csrf_token": token,
                                                             "logo": (io.BytesIO(image_bytes("PNG")), "l.png")},
                          content_type="multipart/form-data")
    assert refused.status_code == 403
    with tenant_context(tenant_a):
        assert db.session.query(TenantLogo).count() == 0
    with tenant_context(tenant_b):
        from tenants.services.tenant_logo import set_logo

        set_logo(image_bytes("PNG", color=(0, 0, 255, 255)), actor_id=None)
        db.session.commit()
    assert client.get("/t/tenant-a/logo").status_code == 404  # B's logo is not A's
    served = client.get(f"/t/{tenant_b.slug}/logo")
    assert served.status_code == 200 and Image.open(io.BytesIO(served.data)).getpixel((0, 0))[:3] == (0, 0, 255)
