"""A new shop owner signs up in Chromium, as a person would, and invites a clerk."""

import re

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.e2e


def test_an_owner_signs_up_from_the_home_page_and_lands_on_the_dashboard(page, live_server, shot):
    errors = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.set_viewport_size({"width": 1280, "height": 800})
    page.goto(live_server + "/")
    shot(page, "home")
    page.get_by_role("link", name="免费开始").first.click()
    expect(page).to_have_url(re.compile(r"/signup$"))

    page.get_by_label("商户名称").fill("衣尚服饰")
    page.get_by_label("网址").fill("yishang")
    page.get_by_text("服装", exact=True).click()
    page.get_by_label("您的姓名").fill("李晓梅")
    page.get_by_label("邮箱").fill("li@yishang.example.com")
    page.get_by_label("密码").fill("short")
    page.get_by_role("button", name="创建我的账户").click()
    expect(page.locator(".error")).to_contain_text("至少使用 10 个字符")
    expect(page.get_by_label("商户名称")).to_have_value("衣尚服饰")  # what was typed is kept
    shot(page, "signup-error")

    page.get_by_label("密码").fill("Yishang-2026!")
    page.get_by_role("button", name="创建我的账户").click()
    expect(page).to_have_url(live_server + "/t/yishang/")
    expect(page.get_by_role("heading", level=1)).to_contain_text("李晓梅")
    shot(page, "dashboard")

    page.get_by_role("link", name="邀请员工").click()
    page.get_by_label("姓名").fill("小王")
    page.get_by_label("邮箱").fill("xiaowang@yishang.example.com")
    page.get_by_label("角色").select_option("clerk")
    page.get_by_label("门店").select_option(index=1)
    page.get_by_role("button", name="发送邀请").click()
    link = page.locator("#invite-link").input_value()
    assert "/t/yishang/invite/" in link
    # No mail server here: the page says nothing was sent, and the link is copied with one click.
    expect(page.get_by_role("status")).to_contain_text("未发送电子邮件")
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server)
    page.get_by_role("button", name="复制链接").click()
    expect(page.get_by_role("button", name="已复制")).to_be_visible()
    assert page.evaluate("navigator.clipboard.readText()") == link
    shot(page, "invited")

    page.get_by_role("button", name="English").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Invite someone to your team")
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(r"/t/yishang/login$"))
    # No CSP violations or script errors (the 422 of the invalid form is expected).
    assert [e for e in errors if "status of 422" not in e] == []


def test_staff_search_filters_as_you_type_on_a_tablet(page, live_server, shot, app):
    from saas.extensions import db
    from tests.factories import PASSWORD, make_staff, make_tenant

    with app.app_context():
        tenant = make_tenant("tablet-shop")
        for _ in range(3):
            make_staff(tenant, "clerk")
        make_staff(tenant, "store_manager", email="findme@tablet-shop.example.com")
        db.session.remove()
    page.set_viewport_size({"width": 768, "height": 1024})
    page.goto(live_server + "/t/tablet-shop/login")
    page.get_by_label("邮箱").fill("owner@tablet-shop.example.com")
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    expect(page).to_have_url(live_server + "/t/tablet-shop/")
    page.goto(live_server + "/t/tablet-shop/staff")
    shot(page, "staff-list")
    expect(page.locator("#staff-rows tbody tr")).to_have_count(5)
    page.get_by_placeholder("按姓名或邮箱搜索").fill("findme")
    expect(page.locator("#staff-rows tbody tr")).to_have_count(1)
    expect(page).to_have_url(re.compile(r"q=findme"))
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    shot(page, "staff-search")
