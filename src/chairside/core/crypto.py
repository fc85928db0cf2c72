"""Encryption at rest for sensitive personal data (resident ID numbers, TOTP secrets, the
text of medical records and the answers on forms).

Values are encrypted with Fernet (AES-128-CBC + HMAC); a keyed hash ("blind index") lets
us find a row by the exact value without decrypting every row.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from functools import cache
from typing import Any

from cryptography.fernet import Fernet, MultiFernet
from django.conf import settings
from django.db import models


def _derive(secret: str, purpose: bytes) -> bytes:
    return hashlib.sha256(purpose + b"\x00" + secret.encode()).digest()


@cache
def _fernet() -> MultiFernet:
    # The first key encrypts; the others still decrypt, so keys can be rotated.
    secrets = settings.CHAIRSIDE_FIELD_KEYS or [settings.SECRET_KEY]
    return MultiFernet(
        [Fernet(base64.urlsafe_b64encode(_derive(s, b"chairside-field"))) for s in secrets]
    )


def encrypt_text(value: str) -> str:
    return _fernet().encrypt(value.encode()).decode()


def decrypt_text(token: str) -> str:
    return _fernet().decrypt(token.encode()).decode()


def blind_index(value: str) -> str:
    secrets = settings.CHAIRSIDE_FIELD_KEYS or [settings.SECRET_KEY]
    key = _derive(secrets[0], b"chairside-blind-index")
    return hmac.new(key, value.encode(), hashlib.sha256).hexdigest()


class EncryptedTextField(models.TextField):  # type: ignore[type-arg]
    """A text column stored encrypted; reads give the plain text back."""

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> str | None:
        if value is None or value == "":
            return value  # type: ignore[no-any-return]
        return decrypt_text(value)

    def get_prep_value(self, value: Any) -> Any:
        value = super().get_prep_value(value)
        if value is None or value == "":
            return value
        return encrypt_text(str(value))


class EncryptedJSONField(models.Field):  # type: ignore[type-arg]
    """A JSON value (a dict of answers, say) stored encrypted in a text column; reads give
    the value back. It cannot be queried inside: whatever needs the content reads the rows
    and looks in Python."""

    def get_internal_type(self) -> str:
        return "TextField"

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> Any:
        if value is None or value == "":
            return value
        return json.loads(decrypt_text(value))

    def to_python(self, value: Any) -> Any:
        return value

    def get_prep_value(self, value: Any) -> Any:
        if value is None:
            return value
        return encrypt_text(json.dumps(value, ensure_ascii=False, sort_keys=True))

    def value_to_string(self, obj: models.Model) -> str:
        return json.dumps(self.value_from_object(obj), ensure_ascii=False, sort_keys=True)
