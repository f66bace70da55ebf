"""Password hashing (argon2id) and the strength rule shown to people choosing a password."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask_babel import gettext as _

_hasher = PasswordHasher()
# Verified against when the account does not exist, so timing does not reveal which e-mails exist.
_DUMMY = _hasher.hash("not-a-real-password")

MIN_LENGTH = 10
COMMON = {
    "password123", "1234567890", "qwertyuiop", "12345678910", "0123456789", "abcdefghij",
    "password12", "iloveyou12", "woaini1314", "a123456789", "1qaz2wsx3edc", "qwerty1234",
}


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(stored_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(stored_hash or _DUMMY, password) and stored_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str) -> bool:
    return _hasher.check_needs_rehash(stored_hash)


def password_problem(password: str, email: str = "", name: str = "") -> str | None:
    """The first reason this password is too weak, translated; None when it is acceptable."""
    if len(password) < MIN_LENGTH:
        return _("Use at least %(n)d characters.", n=MIN_LENGTH)
    lowered = password.lower()
    if lowered in COMMON or len(set(lowered)) < 4:
        return _("This password is too easy to guess.")
    local = email.split("@", 1)[0].lower()
    if (local and len(local) >= 4 and local in lowered) or (name and name.lower() in lowered and len(name) >= 3):
        return _("Do not use your name or e-mail in the password.")
    if password.isdigit() or password.isalpha():
        return _("Mix letters with digits or symbols.")
    return None
