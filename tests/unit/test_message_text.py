"""Message texts: placeholders filled, unknown ones reported, the signature of store and staff."""

from tenants.domain import message_text as mt


def test_known_placeholders_are_filled_and_a_missing_value_reads_empty():
    text = "{name}您好，您在{keep_by}前再消费{keep_amount}即可保留{tier}资格。"
    assert mt.fill(text, {"name": "王芳", "keep_by": "2027-03-01", "keep_amount": "¥312.00", "tier": "金卡"}) == \
        "王芳您好，您在2027-03-01前再消费¥312.00即可保留金卡资格。"
    assert mt.fill("Dear {name}, {tier}", {"name": "Li"}) == "Dear Li, "


def test_an_unknown_placeholder_is_reported_and_left_as_written():
    assert mt.unknown_placeholders("{nmae}您好 {name} {nmae} {Store}") == ["nmae", "Store"]
    assert mt.fill("{nmae}您好", {"name": "王芳"}) == "{nmae}您好"
    assert mt.unknown_placeholders("满100减{20}元，{ name}") == []  # not placeholders at all
    assert mt.placeholders_in("{tier} {name} {tier}") == ["tier", "name"]


def test_the_body_is_signed_with_store_and_staff_and_the_subject_is_not():
    values = {"name": "王芳", "store": "静安店", "staff": "李娜"}
    text = mt.compose("生日快乐，{name}", "{name}您好，生日快乐！  ", values)
    assert text == mt.Text(subject="生日快乐，王芳", body="王芳您好，生日快乐！\n—— 静安店 李娜")
    assert mt.compose("", "Hi {name}", {"name": "Li", "store": "", "staff": "Wang"}).body == "Hi Li\n—— Wang"
    assert mt.compose("", "Hi {name}", {"name": "Li"}).body == "Hi Li"
    assert mt.compose("", "Hi", {"store": "A店"}, signed=False).body == "Hi"
