"""Forms of the record pages. They only tidy what was typed; the services decide what is
valid (the findings' teeth, who may sign, what an amendment needs)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from chairside.clinical.models import SECTIONS, RecordTemplate, TreatmentPlan, VisitType
from chairside.core.errors import DomainError

SECTION_LENGTH = 5000
_DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


def attach_errors(form: forms.Form, error: DomainError) -> None:
    """The service's field errors at their fields ("sections.diagnosis" at diagnosis,
    "findings.2.teeth" at findings); anything else above the form."""
    if not error.fields:
        form.add_error(None, str(error.message))
        return
    for name, messages in error.fields.items():
        parts = name.split(".")
        target = parts[1] if parts[0] == "sections" and len(parts) > 1 else parts[0]
        if target == "plan_id":
            target = "plan"
        for message in messages:
            if target == "findings" and len(parts) > 1 and parts[1].isdigit():
                message = _("Finding %(number)d: %(message)s") % {
                    "number": int(parts[1]) + 1,
                    "message": message,
                }
            form.add_error(target if target in form.fields else None, str(message))


class RecordNewForm(forms.Form):
    visit_type = forms.ChoiceField(label=_("Visit type"), choices=VisitType.choices)
    template = forms.TypedChoiceField(
        label=_("Template"), coerce=int, required=False, empty_value=None
    )
    visit_date = forms.DateField(label=_("Visit date"), required=False, widget=_DATE)

    def __init__(self, *args: Any, templates: Iterable[RecordTemplate] = (), **kwargs: Any):
        super().__init__(*args, **kwargs)
        field = self.fields["template"]
        assert isinstance(field, forms.TypedChoiceField)
        field.choices = [
            ("", _("The visit type's template")),
            *[(t.pk, f"{t.get_visit_type_display()} · {t.name}") for t in templates],
        ]


class _Content(forms.Form):
    """The eight sections and the findings (JSON kept by the tooth chart component)."""

    findings = forms.CharField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        sections: dict[str, forms.Field] = {
            key: forms.CharField(
                label=label,
                required=False,
                strip=False,
                max_length=SECTION_LENGTH,
                widget=forms.Textarea(attrs={"rows": 3}),
            )
            for key, label in SECTIONS
        }
        self.fields = {**sections, **self.fields}

    def clean_findings(self) -> list[Any]:
        raw = self.cleaned_data.get("findings") or "[]"
        try:
            findings = json.loads(raw)
        except ValueError:
            findings = None
        if not isinstance(findings, list):
            raise forms.ValidationError(_("The findings could not be read. Reload the page."))
        return findings

    def section_values(self) -> dict[str, str]:
        return {key: self.cleaned_data.get(key) or "" for key, _label in SECTIONS}

    def section_fields(self) -> list[forms.BoundField]:
        return [self[key] for key, _label in SECTIONS]


class RecordEditForm(_Content):
    plan = forms.TypedChoiceField(
        label=_("Treatment plan"), coerce=int, required=False, empty_value=None
    )

    def __init__(self, *args: Any, plans: Iterable[TreatmentPlan] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["plan"]
        assert isinstance(field, forms.TypedChoiceField)
        field.choices = [
            ("", _("No plan")),
            *[(p.pk, f"{p.title} · {p.get_status_display()}") for p in plans],
        ]


class AmendForm(_Content):
    reason = forms.CharField(
        label=_("Reason for the amendment"),
        max_length=200,
        error_messages={"required": _("Give the reason for the amendment.")},
    )


class TemplateForm(forms.Form):
    visit_type = forms.ChoiceField(label=_("Visit type"), choices=VisitType.choices)
    name = forms.CharField(label=_("Name"), max_length=50)
    is_active = forms.BooleanField(label=_("Active"), required=False, initial=True)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for key, label in SECTIONS:
            self.fields[key] = forms.CharField(
                label=label,
                required=False,
                strip=False,
                max_length=SECTION_LENGTH,
                widget=forms.Textarea(attrs={"rows": 3}),
            )

    def section_values(self) -> dict[str, str]:
        return {key: self.cleaned_data.get(key) or "" for key, _label in SECTIONS}

    def section_fields(self) -> list[forms.BoundField]:
        return [self[key] for key, _label in SECTIONS]
