"""Forms of the form pages: making a form for a patient, filling its fields (a Django field
per template field, by kind), voiding."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from chairside.core.models import Staff
from chairside.forms.blocks import MAX_TEXT_VALUE, Field
from chairside.forms.models import FieldKind, FormTemplate
from chairside.forms.selectors.instances import TreatmentItemChoice

PREFIX = "f_"
MAX_TYPED_ITEMS = 30


class NewInstanceForm(forms.Form):
    template = forms.ModelChoiceField(
        label=_("Form template"), queryset=FormTemplate.all_tenants.none()
    )
    doctor = forms.ModelChoiceField(
        label=_("Doctor"), queryset=Staff.all_tenants.none(), required=False
    )
    plan_items = forms.TypedMultipleChoiceField(
        label=_("Treatment items from the patient's plans"),
        coerce=int,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    typed_items = forms.CharField(
        label=_("Other treatment items"),
        required=False,
        max_length=3000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("One per line."),
    )

    def __init__(
        self,
        *args: Any,
        templates: Any,
        doctors: Any,
        items: list[TreatmentItemChoice],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["template"].queryset = templates  # type: ignore[attr-defined]
        self.fields["doctor"].queryset = doctors  # type: ignore[attr-defined]
        self.fields["plan_items"].choices = [  # type: ignore[attr-defined]
            (i.id, f"{i.text} · {i.plan_title}") for i in items
        ]

    def typed(self) -> list[str]:
        lines = (self.cleaned_data.get("typed_items") or "").splitlines()
        return [line.strip() for line in lines if line.strip()]


def field_name(key: str) -> str:
    # Prefixed, so that no template key meets the page's own names (action, csrf ...).
    return PREFIX + key


def _form_field(field: Field) -> forms.Field:
    label = field.label
    common: dict[str, Any] = {"label": label, "required": False, "help_text": field.help}
    kind = field.kind
    if kind == FieldKind.NUMBER:
        return forms.DecimalField(max_digits=15, **common)
    if kind == FieldKind.DATE:
        return forms.DateField(widget=forms.DateInput(attrs={"type": "date"}), **common)
    if kind == FieldKind.CHOICE:
        return forms.ChoiceField(
            choices=[(o, o) for o in field.options], widget=forms.RadioSelect, **common
        )
    if kind == FieldKind.MULTICHOICE:
        return forms.MultipleChoiceField(
            choices=[(o, o) for o in field.options],
            widget=forms.CheckboxSelectMultiple,
            **common,
        )
    if kind == FieldKind.CHECKBOX:
        return forms.BooleanField(**common)
    return forms.CharField(
        max_length=MAX_TEXT_VALUE, widget=forms.Textarea(attrs={"rows": 2}), **common
    )


class InstanceDataForm(forms.Form):
    """One Django field per filled-in template field; required ones are marked for the
    clerk but enforced only when the form is sent for signing."""

    def __init__(self, *args: Any, fields: list[Field], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.template_fields = fields
        for field in fields:
            form_field = _form_field(field)
            # What the page shows beside the field: "*" and a checkbox's label after it.
            form_field.template_required = field.required  # type: ignore[attr-defined]
            form_field.template_kind = field.kind  # type: ignore[attr-defined]
            self.fields[field_name(field.key)] = form_field

    @staticmethod
    def initial_of(fields: list[Field], data: dict[str, Any]) -> dict[str, Any]:
        return {field_name(f.key): data[f.key] for f in fields if f.key in data}

    def values(self) -> dict[str, Any]:
        """The cleaned values as the service takes them, by field key (empty ones left out)."""
        values: dict[str, Any] = {}
        for field in self.template_fields:
            value = self.cleaned_data.get(field_name(field.key))
            if isinstance(value, Decimal):
                value = str(value)
            elif isinstance(value, date):
                value = value.isoformat()
            if value in (None, "", []):
                continue
            values[field.key] = value
        return values

    def attach(self, fields: dict[str, list[Any]], fallback: Any) -> None:
        """A service's errors ("data.<key>") at their fields; the rest above the form."""
        attached = False
        for name, messages in fields.items():
            key = name.removeprefix("data.")
            target = field_name(key) if field_name(key) in self.fields else None
            for message in messages:
                self.add_error(target, str(message))
                attached = True
        if not attached:
            self.add_error(None, str(fallback))


class VoidForm(forms.Form):
    reason = forms.CharField(label=_("Reason for voiding"), max_length=200)
