"""The counter's HTML forms under the crash rig: a tablet (its device cookie, a person at it under their PIN)
posts purchases and top-ups as a browser does, each form with its idempotency key (`idem`), and presses again
with the same form when no answer came. Its requests join the API's in `crash.check` (by their `counter:` key).
"""

from __future__ import annotations

import http.cookiejar
import random
import re
import secrets
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

from bench import crash

PIN = "2580"
CSRF_RE = re.compile(r'name="csrf_token"(?: type="hidden")? value="([^"]+)"')
RECEIPT_RE = re.compile(r"/counter/members/\d+/purchases/(\d+)$")


def open_tablet(app, shop: crash.Shop) -> tuple[str, int]:
    """A tablet of the shop's store, registered by its owner, who gets the PIN: (device token, owner id)."""
    from sqlalchemy import select

    from saas.extensions import db
    from saas.models import StaffUser, Tenant
    from tenants.counter import register_device, set_pin
    from tenants.scoping import tenant_context

    with app.app_context():
        with tenant_context(db.session.get(Tenant, shop.tenant_id)):
            owner = db.session.scalars(select(StaffUser).where(StaffUser.role == "owner")).first()
            set_pin(owner, PIN)
            _device, token = register_device(manager=owner, store_id=shop.store_id, name="Crash till")
            db.session.commit()
            owner_id = owner.id
        db.session.remove()
    return token, owner_id


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


class CounterClient:
    """One tablet. `forms` are crash.Sent records with the key the app stores (`counter:<idem>`)."""

    def __init__(self, base: str, shop: crash.Shop, tally: crash.Tally, device_token: str, staff_id: int):
        self.base, self.shop, self.tally, self.staff_id = base, shop, tally, staff_id
        self.jar = http.cookiejar.CookieJar()
        host = urllib.parse.urlsplit(base).hostname
        self.jar.set_cookie(http.cookiejar.Cookie(
            0, "hy_counter", device_token, None, False, host, False, False, f"/t/{shop.slug}/", True, False, None,
            False, None, None, {}))
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar), _NoRedirect)
        self.csrf = ""
        self.forms: list[crash.Sent] = []
        self.lock = threading.Lock()

    def request(self, path: str, data: dict | None = None) -> tuple[int | None, str, dict]:
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        req = urllib.request.Request(self.base + path, data=body, headers={"Accept-Language": "en"})
        try:
            with self.opener.open(req, timeout=crash.REQUEST_TIMEOUT) as response:
                status, headers = response.status, dict(response.headers)
                text = response.read().decode(errors="replace")
        except urllib.error.HTTPError as err:
            status, text, headers = err.code, err.read().decode(errors="replace"), dict(err.headers)
        except (OSError, crash.http_client_errors()):
            with self.tally.lock:
                self.tally.no_answer += 1
            return None, "", {}
        with self.tally.lock:
            self.tally.statuses[status] += 1
        if match := CSRF_RE.search(text):
            self.csrf = match.group(1)
        return status, text, headers

    def sign_in(self) -> None:
        """The person at the tablet enters their PIN (retried while the servers restart)."""
        for _ in range(100):
            status, _text, _headers = self.request(f"/t/{self.shop.slug}/counter/pin")
            if status == 200 and self.csrf:
                status, _text, _headers = self.request(f"/t/{self.shop.slug}/counter/pin", {
                    "csrf_token": self.csrf, "staff_id": str(self.staff_id), "pin": PIN})
                if status == 303:
                    return
            time.sleep(0.2)
        raise RuntimeError("the tablet could not sign in")

    def send(self, sent: crash.Sent) -> crash.Sent:
        status, _text, headers = self.request(sent.path, {**sent.body, "csrf_token": self.csrf})
        sent.attempts += 1
        sent.status = status
        sent.answers.append(status or 0)
        location = headers.get("Location", "")
        if status in (302, 303) and location.endswith("/counter/pin"):
            self.sign_in()  # the PIN session ended (idle): sign in, then the same form again
            return self.send(sent)
        answer = None
        if sent.kind == "counter_purchase" and status == 303 and (match := RECEIPT_RE.search(location)):
            answer = {"id": match.group(1)}
        elif sent.kind == "counter_top_up" and status == 200:
            answer = {}  # the page shows the new balance; the id is read from the stored answer
        if answer is not None and sent.answer is None:
            sent.answer, sent.acknowledged = answer, True
        return sent

    def post(self, kind: str, member_id: int, body: dict) -> crash.Sent:
        idem = secrets.token_urlsafe(18)
        path = f"/t/{self.shop.slug}/counter/members/{member_id}/" + ("purchase" if kind == "counter_purchase"
                                                                       else "top-up")
        sent = crash.Sent(key=f"counter:{idem}", kind=kind, path=path, body={**body, "idem": idem})
        with self.lock:
            self.forms.append(sent)
        for _ in range(20):  # pressed again with the same form until an answer comes
            self.send(sent)
            if sent.status is not None and sent.status not in (502, 503, 504):
                break
            time.sleep(0.2)
        return sent

    def one_form(self, rng: random.Random) -> crash.Sent:
        member = rng.choice(self.shop.members)
        if rng.random() < 0.6:
            price = f"{rng.randrange(10, 800)}.{rng.randrange(0, 100):02d}"
            return self.post("counter_purchase", member, {
                "line_count": "1", "l0-category": "", "l0-status": "regular", "l0-price": price, "l0-paid": "",
                "l0-qty": "1", "voucher": "", "points": "", "stored_value": ""})
        return self.post("counter_top_up", member, {"amount": rng.choice(("100", "200", "500"))})

    def run(self, stop: threading.Event, threads: int = 2, seed: int = 23) -> list[threading.Thread]:
        def loop(n: int) -> None:
            rng = random.Random(seed * 100 + n)
            while not stop.is_set():
                self.one_form(rng)

        workers = [threading.Thread(target=loop, args=(n,), daemon=True) for n in range(threads)]
        for worker in workers:
            worker.start()
        return workers

    def retry_everything(self, verdict: crash.Verdict) -> None:
        """Every form posted again, twice, with its key: an acknowledged one answers the same receipt (a purchase)
        or page (a top-up) again; one never answered now succeeds or is refused. Never a 5xx."""
        for rnd in (1, 2):
            for sent in list(self.forms):
                before = dict(sent.answer) if sent.answer is not None else None
                acknowledged = sent.acknowledged
                sent.answer, sent.acknowledged = None, False
                self.send(sent)
                if sent.status is None or sent.status >= 500:
                    verdict.retry_errors.append(f"{sent.key}: form posted again ({rnd}) answered {sent.status}")
                if acknowledged and before is not None:
                    if sent.answer is None:
                        verdict.lost.append(f"{sent.key}: acknowledged, posted again ({rnd}) → {sent.status}")
                    elif sent.answer != before:
                        verdict.duplicates.append(f"{sent.key}: posted again ({rnd}) answered {sent.answer} "
                                                  f"after {before}")
                    sent.answer, sent.acknowledged = before, True
