"""Placeholders of form templates ({{patient.name}} ...): which exist, how they are found in
a template's text, and their values for one patient, frozen when a form is made.

The values are the Chinese the printed form shows (a consent is a Chinese document whatever
language the clerk's screen is in), so they are resolved under zh-Hans.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.utils import translation
from django.utils.translation import gettext_lazy as _

from chairside.core.models import Clinic, Staff
from chairside.patients.ages import age_on
from chairside.patients.models import Patient

# key -> what the clerk sees in the template builder.
PLACEHOLDERS: dict[str, Any] = {
    "patient.name": _("Patient's name"),
    "patient.gender": _("Patient's gender"),
    "patient.age": _("Patient's age"),
    "patient.record_number": _("Record number"),
    "today": _("Date the form is made"),
    "clinic.name": _("Clinic name"),
    "doctor.name": _("Doctor's name"),
    "treatment.items": _("Treatment items"),
}
# What a placeholder without a value prints: a line to write on.
BLANK = "________"
ITEM_SEPARATOR = "；"

_TOKEN = re.compile(r"\{\{(.*?)\}\}", re.DOTALL)


@dataclass(frozen=True)
class PlaceholderProblem:
    """A placeholder the template cannot use: an unknown name, or braces left open."""

    text: str
    unclosed: bool = False


def placeholders_in(text: str) -> list[str]:
    """The placeholder names `text` uses, in order, each once (unknown ones included)."""
    return list(dict.fromkeys(m.group(1).strip() for m in _TOKEN.finditer(text)))


def placeholder_problems(text: str) -> list[PlaceholderProblem]:
    """Unknown placeholders of `text`, and "{{" or "}}" left without their partner."""
    problems = [
        PlaceholderProblem("{{" + name + "}}")
        for name in placeholders_in(text)
        if name not in PLACEHOLDERS
    ]
    rest = _TOKEN.sub("", text)
    if "{{" in rest or "}}" in rest:
        problems.append(PlaceholderProblem("{{" if "{{" in rest else "}}", unclosed=True))
    return problems


def fill(text: str, context: dict[str, str]) -> str:
    """`text` with its placeholders replaced by the frozen values (a blank line if none)."""

    def value(match: re.Match[str]) -> str:
        return context.get(match.group(1).strip()) or BLANK

    return _TOKEN.sub(value, text)


def chinese_date(day: date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


def resolve(
    *,
    patient: Patient,
    clinic: Clinic,
    doctor: Staff | None,
    treatment_items: Sequence[str],
    today: date,
) -> dict[str, str]:
    """Every placeholder's value for this patient, as the printed form shows it."""
    age = age_on(patient.birth_date, today)
    with translation.override("zh-hans"):
        gender = str(patient.get_gender_display()) if patient.gender else ""
    return {
        "patient.name": patient.name,
        "patient.gender": gender,
        "patient.age": "" if age is None else str(age),
        "patient.record_number": patient.record_no,
        "today": chinese_date(today),
        "clinic.name": clinic.name,
        "doctor.name": doctor.display_name if doctor is not None else "",
        "treatment.items": ITEM_SEPARATOR.join(t.strip() for t in treatment_items if t.strip()),
    }
