"""Hypothesis over every HTML form the app posts (every POST rule of ``app.url_map``).

A shop's owner, at the back office and at a registered tablet, posts each form with its fields filled by
Hypothesis: wrong types, long and empty strings, control and bidirectional characters, emoji, NUL, NaN and
Infinity, huge and negative numbers, bad phones, impossible birthdays, odd ID numbers. Every answer is below
500; a refusal (4xx) says something and writes nothing (every table of the database unchanged, read past
row-level security). ``FUZZ_FORM_EXAMPLES`` sets the examples per form (CI: a few; ``make fuzz``: more).
"""

from __future__ import annotations

import datetime as dt
import os
import uuid
from html.parser import HTMLParser

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from tests.conftest import csrf_from
from tests.integration.fuzz_figures import write_figures
from tests.integration.isolation_support import own_one_of_everything
from tests.integration.test_counter import open_counter

EXAMPLES = int(os.environ.get("FUZZ_FORM_EXAMPLES", "20"))

# Rules whose effect is the session itself, or an outside service: posted by their own tests.
SKIPPED = {
    "tenant.auth.logout", "tenant.counter.lock", "tenant.counter.pin", "tenant.counter.revoke",
    "tenant.billing.checkout", "tenant.billing.portal", "billing_webhooks.receive", "web.switch_language",
    "tenant.staff.accept",
}
# Tables a request may touch without writing anything of the tenant's (sessions seen, keys used, limits).
VOLATILE = {"alembic_version", "staff_sessions", "counter_devices", "api_keys"}

NASTY = [
    "", " ", "0", "-1", "-0", "1e309", "NaN", "nan", "Infinity", "-Infinity", "1e-7", "9" * 40,
    "99999999999999999999.99", "0x10", "1,000", "１２３", "١٢٣", "12.345", "-0.01", "¥10", "10元",
    "A\x00B", "\x00", "\x07\x1b[31m", "\u202eevil\u202c", "\u200b", "\ufeff", "👩‍👩‍👧‍👦" * 20, "𝕳𝖚𝖎",
    "<script>alert(1)</script>", '"><img src=x onerror=alert(1)>', 'hx-get="/x"', "{{7*7}}", "javascript:alert(1)",
    "'; DROP TABLE members; --", "%", "_", "\\", "../../etc/passwd", "长" * 300, "a" * 5000,
    "13800138000", "+8613800138000", "138-0013-8000", "1380013800", "23800138000", "+1 202 555 0100",
    "+999999999999999", "phone", "12345678901234567890",
    "2026-02-30", "1899-12-31", "7383-08-13", "0000-00-00", "2026-13-01", "99999-01-01", "1990-05-20", "yesterday",
    "11010519491231002X", "110105194912310021", "X" * 40, "身份证", "123",
]
VALUE = st.one_of(st.sampled_from(NASTY), st.text(max_size=60),
                  st.integers(min_value=-(2**70), max_value=2**70).map(str),
                  st.floats(allow_nan=True, allow_infinity=True).map(repr))


class Forms(HTMLParser):
    """Every POST form of a page: its action, its field names and the values of its hidden fields."""

    def __init__(self):
        super().__init__()
        self.forms: list[dict] = []
        self._form: dict | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form" and (attrs.get("method") or "").lower() == "post":
            self._form = {"action": attrs.get("action") or "", "fields": set(), "hidden": {}}
            self.forms.append(self._form)
        elif self._form is not None and tag in ("input", "select", "textarea", "button") and attrs.get("name"):
            if attrs.get("type") == "hidden":
                self._form["hidden"][attrs["name"]] = attrs.get("value") or ""
            else:
                self._form["fields"].add(attrs["name"])

    def handle_endtag(self, tag):
        if tag == "form":
            self._form = None


def fingerprint(engine) -> dict[str, str]:
    with engine.connect() as conn:
        tables = [r[0] for r in conn.execute(text("select tablename from pg_tables where schemaname = 'public'"))]
        return {t: conn.execute(text(f'select md5(coalesce(string_agg(x::text, \',\' order by x::text), \'\')) '
                                     f'from "{t}" x')).scalar() for t in tables if t not in VOLATILE}


@pytest.fixture
def superuser_engine(owner_engine):
    """Reads every row of this run's database, past row-level security (the app's role sees one tenant)."""
    url = make_url(os.environ["TEST_SUPERUSER_DATABASE_URL"]).set(database=owner_engine.url.database)
    engine = create_engine(url)
    yield engine
    engine.dispose()


def _path(rule, ids: dict[str, str]) -> str:
    path = rule.rule.replace("<slug>", "tenant-a")
    for name in rule.arguments - {"slug"}:
        path = path.replace(f"<int:{name}>", ids[name]).replace(f"<{name}>", ids[name])
    return path


def discovered_forms(app, client, ids) -> dict[str, dict]:
    """endpoint → {path, fields, hidden}, from the forms of every page the owner can open."""
    adapter = app.url_map.bind("localhost")
    found: dict[str, dict] = {}
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.rule.startswith("/api/") or not (rule.arguments <= {"slug", *ids}):
            continue
        if "slug" not in rule.arguments and rule.rule not in ("/signup",):
            continue
        for headers in ({}, {"HX-Request": "true"}):
            response = client.get(_path(rule, ids), headers=headers, buffered=True)
            if response.status_code != 200 or "html" not in response.content_type:
                continue
            parser = Forms()
            parser.feed(response.get_data(as_text=True))
            for form in parser.forms:
                try:
                    endpoint, _args = adapter.match(form["action"].split("?")[0] or _path(rule, ids), method="POST")
                except Exception:  # noqa: BLE001 - a form to another host or a GET-only rule
                    continue
                entry = found.setdefault(endpoint, {"path": form["action"].split("?")[0], "fields": set(),
                                                    "hidden": {}})
                entry["fields"] |= form["fields"]
                entry["hidden"].update(form["hidden"])
    return found


def test_every_form_refuses_nonsense_with_a_message_and_writes_nothing(app, client, login_as, tenant_a,
                                                                       superuser_engine):
    ids = own_one_of_everything(tenant_a, "Amark", "13999990000").ids  # real ids, here of tenant A itself
    owner = login_as("owner")
    open_counter(client, tenant_a, owner)
    token = csrf_from(client.get("/t/tenant-a/").get_data(as_text=True))
    forms = discovered_forms(app, client, ids)
    failures: list = []
    tried: dict[str, int] = {}
    refused = {"n": 0}

    def fuzz_form(endpoint: str, form: dict, fields: list[str]):
        @settings(max_examples=EXAMPLES, deadline=None, derandomize=not os.environ.get("FUZZ_RANDOM"),
                  suppress_health_check=list(HealthCheck), database=None)
        @given(values=st.fixed_dictionaries({}, optional={name: VALUE for name in fields}))
        def post_nonsense(values):
            data = {**form["hidden"], "csrf_token": token, **values}
            if "idem" in form["hidden"]:
                data["idem"] = uuid.uuid4().hex
            before = fingerprint(superuser_engine)
            response = client.post(form["path"], data=data)
            tried[endpoint] += 1
            body = response.get_data(as_text=True)
            if response.status_code >= 500:
                failures.append((endpoint, values, response.status_code))
            elif 400 <= response.status_code < 500:
                refused["n"] += 1
                changed = {t for t, v in fingerprint(superuser_engine).items() if before.get(t) != v}
                if changed:
                    failures.append((endpoint, values, response.status_code, "wrote", sorted(changed)))
                if not body.strip():
                    failures.append((endpoint, values, response.status_code, "no message"))

        return post_nonsense

    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if "POST" not in rule.methods or rule.rule.startswith("/api/") or rule.endpoint in SKIPPED:
            continue
        form = forms.get(rule.endpoint) or {"path": _path(rule, ids), "fields": {"name", "amount", "note"},
                                            "hidden": {}}
        fields = sorted(form["fields"] - {"csrf_token", "idem"})
        tried[rule.endpoint] = 0

        fuzz_form(rule.endpoint, form, fields)()

    assert failures == [], failures[:10]
    assert len(tried) >= 25, sorted(tried)
    write_figures("forms", f"HTML forms (Hypothesis): {len(tried)} POST routes, {sum(tried.values())} posts "
                           f"({EXAMPLES} per form, {refused['n']} refused), 5xx 0, refusals that wrote 0")


BAD_PHONES = st.one_of(st.sampled_from(["1380013800", "23800138000", "+999999999999999", "phone", "１２３",
                                        "138-0013-80000", "0", "+86 10 1234 5678"]),
                       st.text(alphabet="0123456789", min_size=1, max_size=9))
IMPOSSIBLE_BIRTHDAYS = st.one_of(st.dates(min_value=dt.date(1, 1, 1), max_value=dt.date(1899, 12, 31)),
                                 st.dates(min_value=dt.date.today() + dt.timedelta(days=2)))


def test_the_enrolment_form_refuses_bad_phones_and_impossible_birthdays_on_their_fields(client, login_as,
                                                                                      tenant_a, superuser_engine):
    """At the counter: a phone that is no mobile, or a birthday in the future or before 1900, is a 422 with
    the translated message next to its field, and no member, card or account is written."""
    owner = login_as("owner")
    open_counter(client, tenant_a, owner)
    page = client.get("/t/tenant-a/counter/enrol").get_data(as_text=True)
    token = csrf_from(page)
    before = fingerprint(superuser_engine)

    @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None,
              derandomize=not os.environ.get("FUZZ_RANDOM"))
    @given(phone=st.one_of(st.none(), BAD_PHONES), birthday=st.one_of(st.none(), IMPOSSIBLE_BIRTHDAYS))
    def enrol(phone, birthday):
        if phone is None and birthday is None:
            return
        data = {"csrf_token": token, "idem": uuid.uuid4().hex, "name": "王芳", "card_type": "regular",
                "phone": phone if phone is not None else "13800138000",
                "birthday": birthday.isoformat() if birthday else ""}
        response = client.post("/t/tenant-a/counter/enrol", data=data, headers={"Accept-Language": "zh-CN"})
        body = response.get_data(as_text=True)
        assert response.status_code == 422, (data, response.status_code)
        if birthday is not None:
            assert "生日须为过去的日期" in body, data
        if phone is not None:
            assert "has-error" in body, data

    enrol()
    assert fingerprint(superuser_engine) == before
