"""Encryption at rest and the blind index used to find a row by an encrypted value."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from cryptography.fernet import InvalidToken
from hypothesis import given
from hypothesis import strategies as st

from chairside.core import crypto
from chairside.core.crypto import blind_index, decrypt_text, encrypt_text


@pytest.fixture
def field_keys(settings: object) -> Iterator[object]:
    """Let a test set CHAIRSIDE_FIELD_KEYS; the derived ciphers are cached, so reset them."""
    crypto._fernet.cache_clear()
    yield settings
    crypto._fernet.cache_clear()


def test_encrypted_text_reads_back_and_does_not_show_the_value() -> None:
    token = encrypt_text("110101199003074514")

    assert "110101199003074514" not in token
    assert decrypt_text(token) == "110101199003074514"


def test_encrypting_twice_gives_different_ciphertexts() -> None:
    # Equal ciphertexts would reveal which patients share an ID number
    assert encrypt_text("same") != encrypt_text("same")


@given(st.text(max_size=200))
def test_any_text_round_trips(value: str) -> None:
    assert decrypt_text(encrypt_text(value)) == value


def test_blind_index_is_stable_and_tells_values_apart() -> None:
    assert blind_index("110101199003074514") == blind_index("110101199003074514")
    assert blind_index("110101199003074514") != blind_index("110101199003074522")
    assert len(blind_index("x")) == 64


def test_blind_index_depends_on_the_key(field_keys: object) -> None:
    # A plain hash of an ID number could be reversed by hashing every possible number.
    field_keys.CHAIRSIDE_FIELD_KEYS = ["key-one"]  # type: ignore[attr-defined]
    first = blind_index("110101199003074514")
    field_keys.CHAIRSIDE_FIELD_KEYS = ["key-two"]  # type: ignore[attr-defined]
    assert blind_index("110101199003074514") != first


def test_keys_can_be_rotated(field_keys: object) -> None:
    # Given a value written under the old key
    field_keys.CHAIRSIDE_FIELD_KEYS = ["old-key"]  # type: ignore[attr-defined]
    token = encrypt_text("secret")

    # When a new key is put first and the old one kept
    field_keys.CHAIRSIDE_FIELD_KEYS = ["new-key", "old-key"]  # type: ignore[attr-defined]
    crypto._fernet.cache_clear()

    # Then old values still read, and new values are written with the new key
    assert decrypt_text(token) == "secret"
    fresh = encrypt_text("secret")
    field_keys.CHAIRSIDE_FIELD_KEYS = ["new-key"]  # type: ignore[attr-defined]
    crypto._fernet.cache_clear()
    assert decrypt_text(fresh) == "secret"
    # And once the old key is dropped, values under it no longer read
    with pytest.raises(InvalidToken):
        decrypt_text(token)
