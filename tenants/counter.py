"""Counter tablets and staff PINs (SPEC §12: shared tablets, a personal PIN so every action has a person).

A manager signs a tablet in once for a store: a `CounterDevice` row whose random token lives in an
HttpOnly cookie of that browser (only its sha256 is stored; revoking the row ends the tablet).
Staff then switch person with a personal 4–6 digit PIN. Wrong PINs are counted on the person
(`StaffUser.pin_failures`); after `MAX_PIN_FAILURES` in a row the person is locked for
`PIN_LOCK_MINUTES` (or until a manager resets the PIN). The person on a tablet goes back to the
PIN pad after `idle_seconds` without activity.

Functions here change the session and leave the commit to the caller, except `switch_person`,
which commits its failure count itself: a refused PIN must still count.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from sqlalchemy import and_, false, or_, select

from saas.audit import audit
from saas.extensions import db
from saas.i18n import format_moment
from saas.models import CounterDevice, StaffUser, utcnow
from saas.passwords import hash_password, verify_password
from saas.permissions import SCOPE_ALL, SCOPE_REGION, Role, can
from saas.text import clean_name
from tenants.access import visible_store_ids
from tenants.models import Store

MAX_PIN_FAILURES = 5
PIN_LOCK_MINUTES = 15
IDLE_SECONDS = 180
SEEN_EVERY = dt.timedelta(minutes=1)  # last_seen_at is written at most this often

MESSAGES = {
    "pin_format": _l("A PIN is 4 to 6 digits."),
    "pin_weak": _l("This PIN is too easy to guess: avoid repeated or consecutive digits."),
    "pin_mismatch": _l("The two PINs are not the same."),
    "no_pin": _l("%(name)s has no counter PIN yet."),
    "not_allowed": _l("%(name)s does not work at this store."),
    "unknown_person": _l("Choose who you are first."),
    "store_not_allowed": _l("Choose one of your stores."),
    "name_required": _l("Give the tablet a name."),
}


class CounterError(Exception):
    """A refusal shown to the person at the tablet; `message` is translated."""

    def __init__(self, code: str, /, **params):
        super().__init__(code)
        self.code = code
        self.params = params

    @property
    def message(self) -> str:
        if self.code == "pin_invalid":
            left = self.params.get("left", 0)
            return ngettext("Wrong PIN. %(num)d attempt left before the lock.",
                            "Wrong PIN. %(num)d attempts left before the lock.", left)
        if self.code == "pin_locked":
            return _("Too many wrong PINs: %(name)s is locked until %(time)s. A manager can reset the PIN.",
                     name=self.params.get("name", ""), time=format_moment(self.params.get("until"), "short"))
        return str(MESSAGES[self.code]) % self.params if self.params else str(MESSAGES[self.code])


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


# --- devices -------------------------------------------------------------------------------------


def register_device(*, manager: StaffUser, store_id: int | None, name: str) -> tuple[CounterDevice, str]:
    """Make this browser a counter of `store_id`; returns the row and the token for its cookie.

    Only a manager (`counter.manage`) of a store they can see may do it. Audited.
    """
    if not can(manager.role, "counter.manage"):
        raise PermissionError("counter.manage")
    name = clean_name(name)[:80]
    if not name:
        raise CounterError("name_required")
    visible = visible_store_ids(manager)
    store = db.session.get(Store, (manager.tenant_id, store_id)) if store_id else None
    if store is None or not store.active or (visible is not None and store.id not in visible):
        raise CounterError("store_not_allowed")
    token = secrets.token_urlsafe(32)
    device = CounterDevice(store_id=store.id, name=name, token_hash=token_hash(token), registered_by=manager.id,
                           last_seen_at=utcnow())
    db.session.add(device)
    db.session.flush()
    audit("counter.device_registered", f"device:{device.id}", actor_id=manager.id, store_id=str(store.id),
          name=name)
    return device, token


def tablet_for_token(token: str | None, staff_id: object) -> tuple[CounterDevice | None, Store | None,
                                                                  StaffUser | None]:
    """(the live device this cookie names, its store, staff member `staff_id` if any) in one read: every
    counter request needs the three (bench/RESULTS.md §2)."""
    if not token or len(token) > 200:
        return None, None, None
    person = StaffUser.id == staff_id if isinstance(staff_id, int) else false()
    found = db.session.execute(
        select(CounterDevice, Store, StaffUser)
        .join(Store, and_(Store.tenant_id == CounterDevice.tenant_id, Store.id == CounterDevice.store_id))
        .outerjoin(StaffUser, and_(StaffUser.tenant_id == CounterDevice.tenant_id, person))
        .where(CounterDevice.token_hash == token_hash(token))
    ).one_or_none()
    if found is None or found[0].revoked_at is not None:
        return None, None, None
    return found[0], found[1], found[2]


def touch_device(device: CounterDevice, now: dt.datetime) -> bool:
    """Note that the tablet was used (at most once a minute); True when the row changed."""
    if device.last_seen_at is None or now - device.last_seen_at >= SEEN_EVERY:
        device.last_seen_at = now
        return True
    return False


def revoke_device(device: CounterDevice, by: StaffUser) -> None:
    """End a tablet: its cookie no longer works anywhere. Audited."""
    if device.revoked_at is None:
        device.revoked_at = utcnow()
        audit("counter.device_revoked", f"device:{device.id}", actor_id=by.id, store_id=str(device.store_id),
              name=device.name)


def devices_of(store_ids: list[int] | None) -> list[CounterDevice]:
    query = select(CounterDevice).order_by(CounterDevice.revoked_at.is_not(None), CounterDevice.created_at.desc())
    if store_ids is not None:
        query = query.where(CounterDevice.store_id.in_(store_ids))
    return list(db.session.scalars(query))


# --- who may use a tablet -------------------------------------------------------------------------


def works_at(user: StaffUser, store: Store) -> bool:
    """Owners and chain admins work everywhere; a supervisor in their region; everyone else in their store."""
    role = Role(user.role)
    if role in SCOPE_ALL:
        return True
    if role in SCOPE_REGION:
        return user.region_id is not None and user.region_id == store.region_id
    return user.store_id == store.id


def pin_candidates(store: Store) -> list[StaffUser]:
    """The people shown on a store's PIN pad: active, with a PIN, working at the store (its own staff first)."""
    query = select(StaffUser).where(
        StaffUser.active.is_(True),
        StaffUser.pin_hash.is_not(None),
        or_(
            StaffUser.store_id == store.id,
            StaffUser.role.in_([r.value for r in SCOPE_ALL]),
            and_(StaffUser.role.in_([r.value for r in SCOPE_REGION]), StaffUser.region_id == store.region_id),
        ),
    )
    people = [u for u in db.session.scalars(query) if works_at(u, store) and can(u.role, "counter.use")]
    return sorted(people, key=lambda u: (u.store_id != store.id, u.name, u.id))


def is_locked(user: StaffUser, now: dt.datetime) -> bool:
    return user.pin_locked_until is not None and user.pin_locked_until > now


def switch_person(*, device: CounterDevice, store: Store, staff_id: int | None, pin: str,
                  now: dt.datetime) -> StaffUser:
    """Check `pin` for the chosen person at this tablet; commits (failures count even when refused).

    CounterError: unknown_person, not_allowed, no_pin, pin_locked (with the time), pin_invalid (with
    the attempts left). The lock lasts PIN_LOCK_MINUTES from the failure that set it; audited.
    """
    # The person's row is locked while their PIN is checked: guesses sent at once are counted one after
    # another (a plain read-modify-write of pin_failures lost most of them, and the lock never came).
    user = (db.session.get(StaffUser, (device.tenant_id, staff_id), with_for_update=True, populate_existing=True)
            if staff_id else None)
    if user is None or not user.active:
        verify_password(None, pin or "")  # same work either way
        raise CounterError("unknown_person")
    if not works_at(user, store) or not can(user.role, "counter.use"):
        raise CounterError("not_allowed", name=user.name)
    if not user.pin_hash:
        raise CounterError("no_pin", name=user.name)
    if is_locked(user, now):
        raise CounterError("pin_locked", name=user.name, until=user.pin_locked_until)
    if pin and pin.isdigit() and verify_password(user.pin_hash, pin):
        user.pin_failures = 0
        user.pin_locked_until = None
        db.session.commit()
        return user
    user.pin_failures = (user.pin_failures or 0) + 1
    if user.pin_failures >= MAX_PIN_FAILURES:
        user.pin_failures = 0
        user.pin_locked_until = now + dt.timedelta(minutes=PIN_LOCK_MINUTES)
        audit("counter.pin_locked", f"staff:{user.id}", actor_id=user.id, device=str(device.id),
              store_id=str(store.id), until=user.pin_locked_until.isoformat())
        db.session.commit()
        raise CounterError("pin_locked", name=user.name, until=user.pin_locked_until)
    left = MAX_PIN_FAILURES - user.pin_failures
    db.session.commit()
    raise CounterError("pin_invalid", left=left)


def is_idle(last_seen: float | None, now: float, idle_seconds: int) -> bool:
    """Whether the person at a tablet has been away longer than `idle_seconds` (times are epoch seconds)."""
    return last_seen is None or now - last_seen > idle_seconds


# --- setting and resetting PINs ---------------------------------------------------------------


def pin_problem(pin: str) -> str | None:
    """Why a PIN is refused (a CounterError code), or None."""
    if not (pin.isdigit() and 4 <= len(pin) <= 6 and pin.isascii()):
        return "pin_format"
    steps = {int(b) - int(a) for a, b in zip(pin, pin[1:], strict=False)}
    if steps in ({0}, {1}, {-1}):
        return "pin_weak"
    return None


def set_pin(user: StaffUser, pin: str, repeat: str | None = None) -> None:
    """A person chooses their own counter PIN (4–6 digits, not 1111 or 1234); it also lifts a lock."""
    pin = (pin or "").strip()
    problem = pin_problem(pin)
    if problem:
        raise CounterError(problem)
    if repeat is not None and repeat.strip() != pin:
        raise CounterError("pin_mismatch")
    user.pin_hash = hash_password(pin)
    user.pin_failures = 0
    user.pin_locked_until = None
    audit("counter.pin_set", f"staff:{user.id}", actor_id=user.id)


def reset_pin(user: StaffUser, by: StaffUser) -> None:
    """A manager clears someone's PIN (forgotten, or locked out): they choose a new one. Audited."""
    user.pin_hash = None
    user.pin_failures = 0
    user.pin_locked_until = None
    audit("counter.pin_reset", f"staff:{user.id}", actor_id=by.id)
