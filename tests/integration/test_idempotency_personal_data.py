"""An idempotency reply keeps no personal data: a retried enrolment answers exactly as the first time, though
the stored reply holds the member's reference and not their name, phone, e-mail or birthday."""

from __future__ import annotations

import json

from sqlalchemy import select

from saas.extensions import db
from tenants.models import IdempotencyKey, Member
from tenants.scoping import tenant_context
from tests.integration.test_api_members import pos  # noqa: F401  (the POS fixture)

PERSONAL = ("13800138000", "王芳", "wang.fang@example.com", "1990-05-17")


def stored_replies(tenant) -> list[str]:
    with tenant_context(tenant):
        return [json.dumps(r, ensure_ascii=False) for r in db.session.scalars(select(IdempotencyKey.response))]


def test_a_retried_enrolment_replays_the_same_answer_from_a_reply_that_stores_no_phone_or_name(pos):  # noqa: F811
    body = {"name": "王芳", "phone": "13800138000", "email": "wang.fang@example.com", "birthday": "1990-05-17",
            "gender": "female"}
    first = pos.post("/members", body, key="till-1-enrol-1")
    assert first.status_code == 201, first.json
    again = pos.post("/members", body, key="till-1-enrol-1")
    assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
    assert again.json == first.json and again.get_data() == first.get_data()
    assert first.json["phone"] == "+8613800138000" and first.json["name"] == "王芳"

    updated = pos.patch(f"/members/{first.json['id']}", {"email": "fang@example.com"}, key="till-1-edit-1")
    assert updated.status_code == 200
    assert pos.patch(f"/members/{first.json['id']}", {"email": "fang@example.com"}, key="till-1-edit-1").json \
        == updated.json

    replies = stored_replies(pos.tenant)
    assert len(replies) == 2
    for reply in replies:
        assert first.json["id"] in reply  # the reference the replay reads the member by
        for value in (*PERSONAL, "+8613800138000", "fang@example.com", "female"):
            assert value not in reply, (value, reply)


def test_after_a_members_personal_data_is_gone_a_replay_no_longer_brings_it_back(pos):  # noqa: F811
    first = pos.post("/members", {"name": "王芳", "phone": "13800138000"}, key="till-1-enrol-2")
    with tenant_context(pos.tenant):
        member = db.session.get(Member, (pos.tenant.id, int(first.json["id"])))
        member.name, member.phone, member.phone_last4 = "已删除", None, None
        db.session.commit()
    again = pos.post("/members", {"name": "王芳", "phone": "13800138000"}, key="till-1-enrol-2")
    assert again.status_code == 201 and again.json["id"] == first.json["id"]
    assert again.json["phone"] is None and again.json["name"] == "已删除"
    assert {k: v for k, v in again.json.items() if k not in ("name", "phone")} == \
        {k: v for k, v in first.json.items() if k not in ("name", "phone")}
