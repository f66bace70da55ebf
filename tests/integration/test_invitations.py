"""The owner invites staff; each invitee sets a password from a one-time link."""

import datetime as dt
import email
import re
import socket

import pytest
from aiosmtpd.controller import Controller
from rq import SimpleWorker

from saas.extensions import db
from saas.jobs import get_queue, redis_connection
from saas.models import Invitation, StaffUser
from tenants.models import Store
from tenants.scoping import tenant_context
from tests.conftest import csrf_from


def invite(client, tenant, **fields):
    page = client.get(f"/t/{tenant.slug}/staff/invite")
    data = {"csrf_token": csrf_from(page.get_data(as_text=True)), "name": "小王", "email": "xiaowang@example.com",
            "role": "clerk", "store_id": "", "region_id": "", **fields}
    return client.post(f"/t/{tenant.slug}/staff/invite", data=data)


def store_ids(tenant):
    with tenant_context(tenant):
        return [s.id for s in db.session.query(Store).order_by(Store.code)]


def test_the_owner_invites_a_clerk_who_sets_a_password_and_is_signed_in(client, tenant_a, login_as):
    login_as("owner")
    response = invite(client, tenant_a, store_id=str(store_ids(tenant_a)[0]))
    assert response.status_code == 200
    link = re.search(r'value="(http://[^"]+/invite/[^"]+)"', response.get_data(as_text=True)).group(1)
    path = link.split("localhost", 1)[1]

    invitee = client.application.test_client()
    form = invitee.get(path)
    assert form.status_code == 200 and "小王" in form.get_data(as_text=True)
    weak = invitee.post(path, data={"password": "123", "csrf_token": csrf_from(form.get_data(as_text=True))})
    assert weak.status_code == 422 and "至少使用 10 个字符" in weak.get_data(as_text=True)
    token = csrf_from(form.get_data(as_text=True))
    done = invitee.post(path, data={"password": "Clerk-pass-2026", "csrf_token": token})
    assert done.status_code == 302
    assert "小王" in invitee.get("/t/tenant-a/").get_data(as_text=True)
    # The link worked once.
    assert invitee.get(path).status_code == 404
    with tenant_context(tenant_a):
        user = db.session.query(StaffUser).filter_by(email="xiaowang@example.com").one()
        assert user.role == "clerk" and user.password_hash.startswith("$argon2")


def test_an_expired_invitation_link_is_not_found(client, tenant_a, login_as):
    login_as("owner")
    link = re.search(r'value="(http://[^"]+)"', invite(client, tenant_a, store_id=str(store_ids(tenant_a)[0]))
                     .get_data(as_text=True)).group(1)
    with tenant_context(tenant_a):
        row = db.session.query(Invitation).one()
        row.expires_at = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)
        db.session.commit()
    assert client.application.test_client().get(link.split("localhost", 1)[1]).status_code == 404


def test_a_clerk_needs_a_store_and_errors_keep_what_was_typed(client, tenant_a, login_as):
    login_as("owner")
    response = invite(client, tenant_a, name="张三丰")
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "请选择此人所在的门店" in html and 'value="张三丰"' in html
    with tenant_context(tenant_a):
        assert db.session.query(StaffUser).filter_by(email="xiaowang@example.com").count() == 0


def test_a_store_manager_cannot_invite_a_chain_admin_and_a_clerk_cannot_invite_at_all(client, tenant_a, login_as):
    login_as("store_manager")
    response = invite(client, tenant_a, role="chain_admin", store_id=str(store_ids(tenant_a)[0]))
    assert response.status_code == 422
    client.application.test_client()
    other = client.application.test_client()
    from tests.conftest import login
    from tests.factories import make_staff

    clerk = make_staff(tenant_a, "clerk")
    login(other, tenant_a, clerk.email)
    assert other.get("/t/tenant-a/staff/invite").status_code == 403


def test_an_existing_email_cannot_be_invited_twice(client, tenant_a, login_as):
    owner = login_as("owner")
    response = invite(client, tenant_a, email=owner.email, store_id=str(store_ids(tenant_a)[0]))
    assert response.status_code == 422
    assert "该邮箱已在团队中" in response.get_data(as_text=True)


@pytest.fixture
def smtp_server():
    received = []

    class Handler:
        async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's hook name)
            received.append(envelope)
            return "250 OK"

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(Handler(), hostname="127.0.0.1", port=port)
    controller.start()
    yield controller, received
    controller.stop()


def test_the_invitation_email_goes_through_the_messages_queue_to_the_mail_server(app, client, tenant_a,
                                                                                    login_as, smtp_server):
    controller, received = smtp_server
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=controller.port)
    try:
        login_as("owner")
        invite(client, tenant_a, store_id=str(store_ids(tenant_a)[0]))
        queue = get_queue("messages")
        assert queue.count == 1  # queued in Redis, not sent inline
        SimpleWorker([queue], connection=redis_connection(app)).work(burst=True)
    finally:
        app.config.update(MAIL_SERVER=None)
    assert len(received) == 1
    message = email.message_from_bytes(received[0].content)
    assert received[0].rcpt_tos == ["xiaowang@example.com"]
    body = message.get_payload(decode=True).decode()
    assert "/t/tenant-a/invite/" in body


def test_with_a_mail_server_the_page_says_the_link_is_on_its_way(app, client, tenant_a, login_as):
    app.config.update(MAIL_SERVER="127.0.0.1")
    try:
        login_as("owner")
        html = invite(client, tenant_a, store_id=str(store_ids(tenant_a)[0])).get_data(as_text=True)
    finally:
        app.config.update(MAIL_SERVER=None)
    assert "邀请链接已通过电子邮件发往 xiaowang@example.com" in html and "未发送电子邮件" not in html


def test_without_a_mail_server_the_page_says_nothing_was_sent_and_shows_the_link_to_copy(client, tenant_a, login_as):
    login_as("owner")
    html = invite(client, tenant_a, store_id=str(store_ids(tenant_a)[0])).get_data(as_text=True)
    assert "未发送电子邮件" in html and "已通过电子邮件" not in html and "7 天" in html
    assert re.search(r'<input[^>]+readonly value="http://[^"]+/t/tenant-a/invite/[^"]+"', html)
    assert get_queue("messages").count == 0  # no job to mail into the void


def test_the_invite_form_preselects_the_least_powerful_role(client, tenant_a, login_as):
    login_as("owner")
    html = client.get(f"/t/{tenant_a.slug}/staff/invite").get_data(as_text=True)
    selected = re.findall(r'<option selected value="([a-z_]+)"|<option value="([a-z_]+)" selected', html)
    assert [a or b for a, b in selected] == ["clerk"]


def test_an_invalid_email_is_refused_in_our_own_words(client, tenant_a, login_as):
    login_as("owner")
    response = invite(client, tenant_a, email="xiaowang@", store_id=str(store_ids(tenant_a)[0]))
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and "请输入有效的邮箱地址" in html and "Email 地址" not in html


def test_the_worker_log_holds_neither_the_invitation_link_nor_the_address(app, client, tenant_a, login_as,
                                                                           smtp_server, caplog):
    import logging

    controller, received = smtp_server
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=controller.port)
    try:
        login_as("owner")
        invite(client, tenant_a, store_id=str(store_ids(tenant_a)[0]))
        queue = get_queue("messages")
        job = queue.jobs[0]
        assert "/invite/" not in job.description and "@" not in job.description
        with caplog.at_level(logging.DEBUG):
            SimpleWorker([queue], connection=redis_connection(app)).work(burst=True)
    finally:
        app.config.update(MAIL_SERVER=None)
    body = email.message_from_bytes(received[0].content).get_payload(decode=True).decode()
    token = body.split("/invite/")[1].split()[0]
    ours = "\n".join(r.getMessage() for r in caplog.records if not r.name.startswith("mail.log"))  # not aiosmtpd's
    assert "send_invitation_email" in ours  # the worker did log the job, by its name
    assert token not in ours and "xiaowang@example.com" not in ours


def test_without_a_mail_server_the_log_masks_the_address(app, caplog):
    import logging

    from saas.mail import masked_address, send_mail

    with app.app_context(), caplog.at_level(logging.INFO):
        assert send_mail("xiaowang@example.com", "Hello", "body") is False
    assert "xiaowang@example.com" not in caplog.text and masked_address("xiaowang@example.com") in caplog.text
