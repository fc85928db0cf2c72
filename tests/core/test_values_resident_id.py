"""Resident ID numbers: made-up valid numbers parse back; every kind of typo is caught."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from stdnum.cn import ric

from chairside.core import resident_id
from chairside.core.errors import ErrorCode, ValidationFailed
from chairside.core.resident_id import (
    ResidentId,
    make_resident_id,
    mask_resident_id,
    parse_resident_id,
)

TODAY = date(2025, 6, 30)

regions = st.text(alphabet="0123456789", min_size=5, max_size=5).map(lambda s: "3" + s)
births = st.dates(min_value=date(1900, 1, 1), max_value=TODAY)
sequences = st.integers(min_value=0, max_value=999)


def iso7064_check(body: str) -> str:
    """GB 11643 check character, computed the textbook way as an independent oracle."""
    weights = [2 ** (17 - i) % 11 for i in range(17)]
    remainder = sum(int(d) * w for d, w in zip(body, weights, strict=True)) % 11
    return "10X98765432"[remainder]


def fails_with(text: str, message: object, *, today: date = TODAY) -> None:
    with pytest.raises(ValidationFailed) as caught:
        parse_resident_id(text, today=today)
    assert caught.value.code == ErrorCode.INVALID_RESIDENT_ID
    assert list(caught.value.fields) == ["id_number"]
    # Identity, not text: the lazy message is not rendered.
    assert caught.value.message is message


@given(regions, births, sequences)
def test_made_up_numbers_parse_back_to_what_went_in(region: str, birth: date, seq: int) -> None:
    # when
    number = make_resident_id(region, birth, seq)
    parsed = parse_resident_id(number, today=TODAY)
    # then
    assert parsed == ResidentId(
        number=number,
        birth_date=birth,
        gender="male" if seq % 2 else "female",
        region_code=region,
    )
    assert number[-1] == iso7064_check(number[:17])


@given(regions, births, sequences)
def test_spaces_and_lowercase_x_are_accepted(region: str, birth: date, seq: int) -> None:
    # given
    number = make_resident_id(region, birth, seq)
    typed = f" {number[:6]} {number[6:14]} {number[14:].lower()} "
    # then
    assert parse_resident_id(typed, today=TODAY).number == number
    assert parse_resident_id(typed.replace(" ", "\u3000"), today=TODAY).number == number


@given(regions, births, sequences, st.sampled_from("0123456789X"))
def test_a_changed_check_character_is_caught(
    region: str, birth: date, seq: int, replacement: str
) -> None:
    # given
    number = make_resident_id(region, birth, seq)
    if replacement == number[-1]:
        return
    # then
    fails_with(number[:17] + replacement, resident_id.MESSAGE_BAD_CHECKSUM)


@given(
    regions, births, sequences, st.sampled_from([0, 1, 2, 3, 4, 5, 14, 15, 16]), st.integers(1, 9)
)
def test_a_mistyped_region_or_sequence_digit_is_caught(
    region: str, birth: date, seq: int, position: int, shift: int
) -> None:
    # given one digit outside the birth date changed
    number = make_resident_id(region, birth, seq)
    typo = number[:position] + str((int(number[position]) + shift) % 10) + number[position + 1 :]
    # then the check character no longer matches (every weight is non-zero modulo 11)
    fails_with(typo, resident_id.MESSAGE_BAD_CHECKSUM)


def test_stdnum_reference_number_agrees() -> None:
    assert make_resident_id("360426", date(1991, 1, 1), 7) == "360426199101010071"
    assert ric.is_valid("360426199101010071")
    assert parse_resident_id("360426199101010071").gender == "male"


@pytest.mark.parametrize("text", ["", "12345", "3604261991010100711", "36042619910101007"])
def test_wrong_length(text: str) -> None:
    fails_with(text, resident_id.MESSAGE_BAD_LENGTH)


@pytest.mark.parametrize("text", ["36042619910101007A", "X60426199101010071", "3604261991O1010071"])
def test_wrong_format(text: str) -> None:
    fails_with(text, resident_id.MESSAGE_BAD_FORMAT)


@pytest.mark.parametrize("birth", ["19910230", "19911301", "19910100", "18991231", "00000000"])
def test_impossible_birth_dates(birth: str) -> None:
    body = f"360426{birth}007"
    fails_with(body + iso7064_check(body), resident_id.MESSAGE_IMPOSSIBLE_BIRTH_DATE)


def test_future_birth_date() -> None:
    # given a number whose birth date is tomorrow
    tomorrow = TODAY + timedelta(days=1)
    number = make_resident_id("360426", tomorrow, 7)
    # then
    fails_with(number, resident_id.MESSAGE_FUTURE_BIRTH_DATE)
    # and born today is fine
    assert parse_resident_id(number, today=tomorrow).birth_date == tomorrow


def test_today_defaults_to_the_real_date() -> None:
    # given one number born far in the future and one born two days ago (any time zone)
    future = make_resident_id("360426", date(9999, 1, 1), 7)
    recent = make_resident_id("360426", date.today() - timedelta(days=2), 8)
    # then
    with pytest.raises(ValidationFailed) as caught:
        parse_resident_id(future)
    assert caught.value.message is resident_id.MESSAGE_FUTURE_BIRTH_DATE
    assert parse_resident_id(recent).gender == "female"


def test_the_messages_are_distinct() -> None:
    messages = [
        resident_id.MESSAGE_BAD_LENGTH,
        resident_id.MESSAGE_BAD_FORMAT,
        resident_id.MESSAGE_BAD_CHECKSUM,
        resident_id.MESSAGE_IMPOSSIBLE_BIRTH_DATE,
        resident_id.MESSAGE_FUTURE_BIRTH_DATE,
    ]
    assert len({id(m) for m in messages}) == len(messages)


@pytest.mark.parametrize(
    ("region", "sequence"),
    [("36042", 7), ("3604260", 7), ("36042a", 7), ("360426", -1), ("360426", 1000)],
)
def test_make_resident_id_refuses_bad_parts(region: str, sequence: int) -> None:
    with pytest.raises(ValueError, match=r"region|sequence"):
        make_resident_id(region, date(1991, 1, 1), sequence)


@pytest.mark.parametrize(
    ("number", "masked"),
    [
        ("110101199003071234", "110101********1234"),
        ("11010119900307123x", "110101********123X"),
        ("110101 19900307 1234", "110101********1234"),
        ("123", "***"),
        ("", ""),
    ],
)
def test_masking_keeps_region_and_last_four(number: str, masked: str) -> None:
    assert mask_resident_id(number) == masked


@given(st.text(max_size=30))
def test_masking_never_raises(text: str) -> None:
    masked = mask_resident_id(text)
    assert "*" in masked or masked == ""
