"""Placeholders, rendering and SMS length: the text rules every template obeys."""

from __future__ import annotations

from datetime import UTC, date

import pytest

from chairside.messaging.templating import (
    PlaceholderError,
    format_value,
    has_opt_out,
    placeholders,
    render,
    sms_segments,
    sms_text,
)
from tests.messaging.conftest import SHANGHAI, shanghai


def test_placeholders_are_the_names_in_braces() -> None:
    assert placeholders("{patient_name}您好，{start}见，{{不是变量}}") == {"patient_name", "start"}


@pytest.mark.parametrize("text", ["{", "}", "您好{patient_name", "a } b"])
def test_an_unmatched_brace_is_refused(text: str) -> None:
    with pytest.raises(PlaceholderError) as caught:
        placeholders(text)

    assert caught.value.reason == "braces"


@pytest.mark.parametrize(
    "text", ["{}", "{0}", "{patient.name}", "{names[0]}", "{start!r}", "{start:%H}", "{a-b}"]
)
def test_anything_but_a_plain_name_is_refused(text: str) -> None:
    with pytest.raises(PlaceholderError) as caught:
        placeholders(text)

    assert caught.value.reason == "form"
    assert caught.value.detail.startswith("{")


def test_render_fills_values_without_interpreting_them() -> None:
    text = render("{patient_name}您好 {{R}}", {"patient_name": "{start} 王"})

    assert text == "{start} 王您好 {R}"


def test_times_are_shown_in_the_clinics_zone_and_language() -> None:
    utc_morning = shanghai(2026, 11, 25, 9, 5).astimezone(UTC)  # 01:05 in UTC

    assert format_value(utc_morning, tz=SHANGHAI, language="zh-hans") == "2026年11月25日 09:05"
    assert format_value(utc_morning, tz=SHANGHAI, language="en") == "2026-11-25 09:05"
    assert format_value(date(2026, 1, 2), tz=SHANGHAI, language="zh-hans") == "2026年1月2日"
    assert format_value(7, tz=SHANGHAI, language="en") == "7"


@pytest.mark.parametrize(
    ("length", "segments"), [(1, 1), (70, 1), (71, 2), (134, 2), (135, 3), (201, 3), (202, 4)]
)
def test_sms_are_billed_per_70_then_per_67_characters(length: int, segments: int) -> None:
    assert sms_segments("字" * length) == segments


def test_the_signature_heads_the_sms() -> None:
    assert sms_text(sign="微笑齿科", body="您好") == "【微笑齿科】您好"


@pytest.mark.parametrize(
    ("text", "expected"),
    [("周末洗牙八折，拒收请回复R", True), ("回T退订", True), ("周末洗牙八折", False)],
)
def test_opt_out_lines_are_recognised(text: str, expected: bool) -> None:
    assert has_opt_out(text) is expected
