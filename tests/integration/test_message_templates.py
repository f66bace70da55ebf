"""The template library: default texts per occasion, a tenant's own text replacing them, a member's message."""

import pytest
from sqlalchemy import select

from saas.extensions import db
from saas.models import AuditEntry
from tenants.message_models import MessageTemplate
from tenants.models import Member, Store, TierAccount
from tenants.programs import program_in_force
from tenants.scoping import tenant_context
from tenants.services import message_templates as mt
from tenants.services.errors import ServiceError
from tests.factories import make_staff
from tests.integration.test_member_list import add


def test_every_occasion_has_a_default_text_on_each_channel_in_both_languages_with_known_placeholders():
    from tenants.domain.message_text import unknown_placeholders

    assert {"birthday", "holiday", "season_change", "we_miss_you", "promotion", "thank_you", "points_expiring",
            "tier_lapse", "refill_reminder"} <= set(mt.occasions())
    for occasion in mt.occasions():
        for channel in mt.MESSAGE_CHANNELS:
            for locale in mt.LOCALES:
                text = mt.default_text(occasion, channel, locale)
                assert text.body and not unknown_placeholders(text.body + text.subject), (occasion, channel, locale)
                assert bool(text.subject) is (channel == "email")
    # The manuals: birthday and holiday wishes carry no promotion.
    for occasion in ("birthday", "holiday"):
        body = mt.default_text(occasion, "sms", "zh_CN").body
        assert not any(word in body for word in ("折", "优惠", "促销", "新品", "积分"))


def test_a_member_gets_the_default_text_filled_and_signed_until_the_tenant_saves_its_own(app_ctx, tenant_a):
    member_id, _card = add(tenant_a, "王芳", "13800000071")
    with tenant_context(tenant_a):
        store = db.session.scalars(select(Store).order_by(Store.code)).first()
        staff = make_staff(tenant_a, "vip_specialist", store=store)
        member = db.session.get(Member, (tenant_a.id, member_id))
        member.responsible_staff_id = staff.id
        member.points_balance = 1234
        db.session.commit()
        message = mt.render_for_member(member, "birthday", "sms", locale="zh_CN")
        assert message.body.startswith("王芳您好，今天是您的生日")
        assert message.body.endswith(f"—— {store.name} {staff.name}") and message.template_id is None
        english = mt.render_for_member(member, "tier_lapse", "email", locale="en",
                                       extra={"keep_amount": "¥312.00", "keep_by": "2027-03-01"})
        code = db.session.get(TierAccount, (tenant_a.id, member.tier_account_id)).tier_code
        assert english.subject == f"Keep {program_in_force()[1].tier(code).name.text('en')}"
        assert "Spend ¥312.00 more before 2027-03-01" in english.body

        row = mt.save_template("birthday", "sms", "zh_CN", subject="ignored", body="{name}，{points}积分生日快乐",
                               enabled=True, options={"days_before": 3}, staff_id=staff.id)
        db.session.commit()
        assert row.subject == ""  # an SMS has no subject
        message = mt.render_for_member(member, "birthday", "sms", locale="zh_CN")
        assert message.body.startswith("王芳，1,234积分生日快乐") and message.template_id == row.id
        assert mt.template_for("birthday", "sms", "zh_CN").options == {"days_before": 3}
        assert mt.template_for("birthday", "sms", "en").template_id is None  # the other language keeps its default
        assert db.session.scalar(select(AuditEntry.action).where(AuditEntry.target == f"message_template:{row.id}")) \
            == "message_template.saved"

        mt.save_template("birthday", "sms", "zh_CN", subject="", body="生日快乐", enabled=False, options={},
                         staff_id=staff.id)
        db.session.commit()
        assert mt.render_for_member(member, "birthday", "sms", locale="zh_CN") is None  # switched off


@pytest.mark.parametrize(("channel", "subject", "body", "fields"), [
    ("sms", "", "   ", {"body"}),
    ("sms", "", "{nmae}您好", {"body"}),
    ("sms", "", "很长" * 200, {"body"}),
    ("email", "", "您好", {"subject"}),
    ("email", "{festvial}", "您好", {"subject"}),
])
def test_a_text_that_may_not_be_saved_says_why_on_its_field_and_writes_nothing(app_ctx, tenant_a, channel,
                                                                              subject, body, fields):
    with tenant_context(tenant_a):
        with pytest.raises(ServiceError) as refused:
            mt.save_template("holiday", channel, "zh_CN", subject=subject, body=body, enabled=True, options={},
                             staff_id=None)
        assert set(refused.value.fields) == fields
        db.session.rollback()
        assert db.session.scalar(select(MessageTemplate.id)) is None
        with pytest.raises(ServiceError):
            mt.template_for("no_such_occasion", "sms", "zh_CN")
