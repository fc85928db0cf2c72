"""Mainland mobile numbers: every usual spelling normalizes to 11 digits; nothing else does."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chairside.core.errors import ErrorCode, ValidationFailed
from chairside.core.phone import mask_mobile, normalize_mobile

# 13x and 18x followed by any eight digits are all allocated mobile ranges.
mobiles = st.builds(
    lambda second, third, rest: f"1{second}{third}{rest}",
    st.sampled_from("38"),
    st.sampled_from("0123456789"),
    st.text(alphabet="0123456789", min_size=8, max_size=8),
)

FULL_WIDTH = str.maketrans("0123456789+", "０１２３４５６７８９＋")


def spellings(number: str) -> list[str]:
    head, middle, tail = number[:3], number[3:7], number[7:]
    return [
        number,
        f"{head}-{middle}-{tail}",
        f"{head} {middle} {tail}",
        f"+86 {head} {middle} {tail}",
        f"+86-{number}",
        f"86{number}",
        f"0086 {number}",
        f"(+86) {number}",
        f"  {number}\t",
        f"+86 {number}".translate(FULL_WIDTH),
    ]


@given(mobiles)
def test_every_usual_spelling_normalizes_to_the_same_eleven_digits(number: str) -> None:
    for text in spellings(number):
        assert normalize_mobile(text) == number, text


@pytest.mark.parametrize(
    "text",
    ["+86 138 0013 8000", "138-0013-8000", "8613800138000", "１３８００１３８０００"],
)
def test_examples_from_the_front_desk(text: str) -> None:
    assert normalize_mobile(text) == "13800138000"


@pytest.mark.parametrize(
    "text",
    [
        "",
        "abc",
        "12345",
        "1380013800",  # one digit short
        "138001380001",  # one digit long
        "010 12345678",  # Beijing landline
        "021-62345678",  # Shanghai landline
        "0755 8888 8888",  # Shenzhen landline
        "400 810 8888",  # toll-free service line
        "+1 650 253 0000",  # United States
        "+852 9123 4567",  # Hong Kong mobile
        "10086",  # carrier short code
        "13800138000 ext. 12",
        "12800138000",  # no 12x mobile range
    ],
)
def test_anything_but_a_mainland_mobile_is_refused(text: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        normalize_mobile(text)
    assert caught.value.code == ErrorCode.INVALID_PHONE
    assert list(caught.value.fields) == ["phone"]


@pytest.mark.parametrize("value", [None, 13800138000])
def test_non_text_is_refused(value: Any) -> None:
    with pytest.raises(ValidationFailed) as caught:
        normalize_mobile(value)
    assert caught.value.code == ErrorCode.INVALID_PHONE


@given(mobiles)
def test_masking_hides_the_middle_four_digits(number: str) -> None:
    # when
    masked = mask_mobile(number)
    # then
    assert masked == number[:3] + "****" + number[7:]
    assert mask_mobile(f"+86 {number}") == masked


@pytest.mark.parametrize(
    ("text", "masked"),
    [("13800138000", "138****8000"), ("", ""), ("123", "***"), ("010-12345678", "010*****5678")],
)
def test_masking_examples(text: str, masked: str) -> None:
    assert mask_mobile(text) == masked


@given(st.text(max_size=30))
def test_masking_never_raises_and_never_shows_the_middle(text: str) -> None:
    masked = mask_mobile(text)
    if len(masked) >= 8:
        assert "*" * (len(masked) - 7) == masked[3:-4]
    else:
        assert set(masked) <= {"*"}
