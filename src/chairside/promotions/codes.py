"""Coupon codes: random, unguessable, with a check character that catches typos.

A code is 15 random characters and one check character from an alphabet of 31 without
the look-alikes 0/O, 1/I/L, printed in groups of four (``7KQ2-MX9A-...``). The check
character makes the weighted sum ``sum(position * value)`` (positions 1..16) divisible
by 31. Because 31 is prime and every weight is below it, any single wrong character and
any swap of two neighbouring different characters changes the sum, so a mistyped code is
refused before it is looked up. (ISO 7064 MOD 37,36 from python-stdnum would need the
full 0-9A-Z alphabet, look-alikes included, for its check character.)
"""

from __future__ import annotations

import secrets
from enum import StrEnum

ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
MODULUS = len(ALPHABET)  # 31, a prime
BODY_LENGTH = 15
CODE_LENGTH = BODY_LENGTH + 1
_VALUE = {ch: i for i, ch in enumerate(ALPHABET)}
_SEPARATORS = str.maketrans("", "", " -_\t")


class CodeProblem(StrEnum):
    """Why a typed code cannot be a coupon code."""

    LENGTH = "length"
    CHARACTER = "character"
    CHECK = "check"


def _weighted(body: str) -> int:
    return sum(position * _VALUE[ch] for position, ch in enumerate(body, start=1))


def check_character(body: str) -> str:
    """The check character completing `body` (15 characters of the alphabet)."""
    # position CODE_LENGTH * c == -weighted (mod 31); 16 is invertible mod 31.
    inverse = pow(CODE_LENGTH, -1, MODULUS)
    return ALPHABET[(-_weighted(body) * inverse) % MODULUS]


def code_generate() -> str:
    """A new random code (without separators)."""
    body = "".join(secrets.choice(ALPHABET) for _ in range(BODY_LENGTH))
    return body + check_character(body)


def normalize(text: str) -> str:
    """What the user typed, upper-cased and without spaces or dashes."""
    return text.translate(_SEPARATORS).upper()


def code_problem(text: str) -> CodeProblem | None:
    """None when `text` (normalized or not) is a well-formed code; else what is wrong."""
    code = normalize(text)
    if len(code) != CODE_LENGTH:
        return CodeProblem.LENGTH
    if any(ch not in _VALUE for ch in code):
        return CodeProblem.CHARACTER
    if _weighted(code) % MODULUS:
        return CodeProblem.CHECK
    return None


def is_valid(text: str) -> bool:
    return code_problem(text) is None


def code_format(code: str) -> str:
    """For printing: groups of four separated by dashes."""
    code = normalize(code)
    return "-".join(code[i : i + 4] for i in range(0, len(code), 4))
