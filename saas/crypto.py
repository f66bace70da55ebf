"""Personal data sealed at rest (SPEC §18 "safe"; PIPL): ID document numbers are stored encrypted.

`Sealed` is a column type: values are written as Fernet tokens (AES-128-CBC + HMAC-SHA256, from the
maintained `cryptography` package) and read back as text. The keys come from configuration, DATA_KEYS: a
comma-separated list of Fernet keys (`python -c "from cryptography.fernet import Fernet;
print(Fernet.generate_key().decode())"`). The first key seals new values; every key opens old ones.

Rotation: put a new key first in DATA_KEYS, deploy, run `flask loyalty rotate-data-keys` (re-seals every value with
the first key), then remove the old key. Without DATA_KEYS (development, tests, the embedded default) one
key is derived from SECRET_KEY; production refuses to start without DATA_KEYS.
"""

from __future__ import annotations

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from flask import current_app
from sqlalchemy import Text
from sqlalchemy.types import TypeDecorator

TOKEN_PREFIX = "gAAAAA"  # noqa: S105 (not a secret: every Fernet token starts so, version 0x80 + a timestamp)


def data_keys(config) -> list[bytes]:
    keys = [k.encode() for k in config.get("DATA_KEYS") or []]
    if not keys:
        keys = [base64.urlsafe_b64encode(hashlib.sha256(b"huiyuan data key:" + config["SECRET_KEY"].encode())
                                         .digest())]
    return keys


def sealer(config=None) -> MultiFernet:
    return MultiFernet([Fernet(key) for key in data_keys(config if config is not None else current_app.config)])


def seal(text: str, config=None) -> str:
    return sealer(config).encrypt(text.encode()).decode()


def unseal(token: str, config=None) -> str:
    if not token.startswith(TOKEN_PREFIX):
        return token  # written before sealing existed and not yet migrated
    try:
        return sealer(config).decrypt(token.encode()).decode()
    except InvalidToken as err:
        raise RuntimeError("a sealed value opens with none of DATA_KEYS (was a key removed too early?)") from err


def reseal(token: str, config=None) -> str:
    """The same value sealed with the first key (rotation)."""
    if not token.startswith(TOKEN_PREFIX):
        return seal(token, config)
    return sealer(config).rotate(token.encode()).decode()


class Sealed(TypeDecorator):
    """Text stored encrypted. Not searchable or unique by value: look rows up by other columns."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect) -> str | None:
        return None if value is None else seal(str(value))

    def process_result_value(self, value: str | None, dialect) -> str | None:
        return None if value is None else unseal(value)


def mask_id_number(number: str | None) -> str:
    """What a screen shows of an ID number: its first and last characters, the rest hidden."""
    if not number:
        return ""
    if len(number) <= 4:
        return "*" * len(number)
    return f"{number[:2]}{'*' * (len(number) - 4)}{number[-2:]}"
