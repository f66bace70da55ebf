"""Words on the back-office pages, in Chinese and English."""

from __future__ import annotations

import re

import pytest


def page(client, path: str, lang: str) -> str:
    with client.session_transaction() as session:
        session["lang"] = lang
    response = client.get(path)
    assert response.status_code == 200, path
    return response.get_data(as_text=True)


@pytest.mark.parametrize("lang", ["zh_CN", "en"])
def test_the_brand_is_huiyuan_huiyuan_in_the_header_and_the_title(client, app_ctx, lang):
    html = page(client, "/", lang)
    assert re.search(r'<span class="brand-name">\s*Huiyuan 会员\s*</span>', html)
    assert re.search(r"<title>[^<]* · Huiyuan 会员</title>", html)
    assert "Huiyuan 会员 — " in html


def test_the_stores_table_heads_its_name_column_store_name_not_a_persons_name(client, tenant_a, login_as):
    login_as("owner")
    html = page(client, f"/t/{tenant_a.slug}/stores", "zh_CN")
    head = re.search(r"<thead>.*?</thead>", html, re.S).group(0)
    assert "门店名称" in head and "姓名" not in head
