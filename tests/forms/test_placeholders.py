"""Placeholders: found in a template's text, refused when unknown or left open, resolved
for a patient in Chinese whatever the clerk's language, and filled (a blank line if empty)."""

from __future__ import annotations

from datetime import date

from django.utils import translation

from chairside.core.tenancy import tenant_scope
from chairside.forms.placeholders import (
    BLANK,
    fill,
    placeholder_problems,
    placeholders_in,
    resolve,
)
from chairside.patients.ages import age_on
from tests.conftest import World
from tests.forms.conftest import Forms


def test_placeholders_are_found_once_each_with_spaces_allowed() -> None:
    text = "{{patient.name}}，{{ today }}，再次 {{patient.name}}"

    assert placeholders_in(text) == ["patient.name", "today"]


def test_unknown_and_unclosed_placeholders_are_problems() -> None:
    problems = placeholder_problems("{{patient.nmae}} 与 {{clinic.name}} 与 {{doctor.name")

    assert [p.text for p in problems] == ["{{patient.nmae}}", "{{"]
    assert [p.unclosed for p in problems] == [False, True]
    assert placeholder_problems("{{patient.name}} 年龄 {{patient.age}} 岁") == []


def test_fill_replaces_known_values_and_leaves_a_line_for_empty_ones() -> None:
    context = {"patient.name": "陈晓明", "doctor.name": ""}

    filled = fill(
        "患者：{{patient.name}}，医师：{{ doctor.name }}，项目：{{treatment.items}}", context
    )

    assert filled == f"患者：陈晓明，医师：{BLANK}，项目：{BLANK}"


def test_age_counts_whole_years_before_the_birthday() -> None:
    assert age_on(date(1980, 5, 1), date(2026, 4, 30)) == 45
    assert age_on(date(1980, 5, 1), date(2026, 5, 1)) == 46
    assert age_on(None, date(2026, 5, 1)) is None


def test_resolve_gives_the_chinese_the_form_prints(world: World, forms: Forms) -> None:
    with tenant_scope(world.org, world.clinic1), translation.override("en"):
        context = resolve(
            patient=forms.patient,
            clinic=world.clinic1,
            doctor=world.doctor,
            treatment_items=["种植体植入（36）", " ", "植骨"],
            today=date(2026, 9, 14),
        )

    assert context == {
        "patient.name": "陈晓明",
        "patient.gender": "男",
        "patient.age": "46",
        "patient.record_number": forms.patient.record_no,
        "today": "2026年9月14日",
        "clinic.name": "Downtown Clinic",
        "doctor.name": "Dr. Li",
        "treatment.items": "种植体植入（36）；植骨",
    }
