"""Forms of the patient pages. They only tidy what was typed; the services decide what is valid."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from chairside.core.errors import DomainError
from chairside.patients.models import FamilyRelation, Gender, Patient, SourceChannel

_DATE_INPUT = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


def _stripped(value: Any) -> str:
    return (value or "").strip()


def attach_errors(form: forms.Form, error: DomainError) -> None:
    """Show a service's field errors at the fields they name; anything else above the form."""
    if not error.fields:
        form.add_error(None, str(error.message))
        return
    for name, messages in error.fields.items():
        target = name if name in form.fields else None
        for message in messages:
            form.add_error(target, str(message))


class PatientForm(forms.Form):
    """Registration and profile edit. `referrer_id` is set by the referrer picker."""

    name = forms.CharField(
        label=_("Name"),
        required=False,
        max_length=50,
        widget=forms.TextInput(attrs={"autofocus": True, "autocomplete": "off"}),
    )
    phone = forms.CharField(
        label=_("Mobile"),
        required=False,
        max_length=30,
        widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "off"}),
    )
    gender = forms.ChoiceField(label=_("Gender"), choices=Gender.choices, initial=Gender.UNKNOWN)
    birth_date = forms.DateField(label=_("Date of birth"), required=False, widget=_DATE_INPUT)
    id_number = forms.CharField(
        label=_("Resident ID number"),
        required=False,
        max_length=30,
        help_text=_("Birth date and gender are filled in from it."),
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    source = forms.ChoiceField(
        label=_("Source"),
        required=False,
        choices=[("", _("Not known")), *SourceChannel.choices],
    )
    referrer_id = forms.IntegerField(required=False, widget=forms.HiddenInput)
    record_no = forms.CharField(
        label=_("Record number"),
        required=False,
        max_length=20,
        help_text=_("Leave empty to number automatically."),
    )
    address = forms.CharField(label=_("Address"), required=False, max_length=200)
    note = forms.CharField(
        label=_("Note"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )

    def __init__(
        self,
        *args: Any,
        patient: Patient | None = None,
        show_id_number: bool = True,
        **kwargs: Any,
    ) -> None:
        self.patient = patient
        # Staff who may not see ID numbers never get one in the form either: an empty box
        # keeps the number on file.
        self.keeps_hidden_id_number = bool(patient and patient.id_number and not show_id_number)
        if patient is not None and "initial" not in kwargs:
            kwargs["initial"] = {
                "name": patient.name,
                "phone": patient.phone,
                "gender": patient.gender,
                "birth_date": patient.birth_date,
                "id_number": "" if self.keeps_hidden_id_number else patient.id_number,
                "source": patient.source,
                "referrer_id": patient.referrer_id,
                "record_no": patient.record_no,
                "address": patient.address,
                "note": patient.note,
            }
        super().__init__(*args, **kwargs)
        if patient is not None:
            self.fields["record_no"].help_text = _("Leave empty to keep the current number.")
        if self.keeps_hidden_id_number:
            self.fields["id_number"].help_text = _(
                "A number is on file. Leave empty to keep it; type a new one to replace it."
            )

    def clean_name(self) -> str:
        return _stripped(self.cleaned_data.get("name"))

    def clean_phone(self) -> str:
        return _stripped(self.cleaned_data.get("phone"))

    def clean_id_number(self) -> str:
        return _stripped(self.cleaned_data.get("id_number")).upper()

    def clean_record_no(self) -> str:
        return _stripped(self.cleaned_data.get("record_no")).upper()

    def clean_address(self) -> str:
        return _stripped(self.cleaned_data.get("address"))

    def clean_note(self) -> str:
        return _stripped(self.cleaned_data.get("note"))

    def service_values(self) -> dict[str, Any]:
        """The keyword arguments for `patient_create` / `patient_update`."""
        values = dict(self.cleaned_data)
        if not values.get("source"):
            # Unknown: the service picks "referral" when a referrer is given, else the default.
            values.pop("source", None)
        if self.keeps_hidden_id_number and not values.get("id_number"):
            values.pop("id_number", None)
        return values


class TagPickForm(forms.Form):
    tag_id = forms.IntegerField(label=_("Tag"))


class TagCreateForm(forms.Form):
    name = forms.CharField(label=_("Name"), required=False, max_length=30)
    color = forms.CharField(
        label=_("Colour"),
        required=False,
        initial="#2563eb",
        widget=forms.TextInput(attrs={"type": "color"}),
    )
    description = forms.CharField(label=_("Description"), required=False, max_length=200)

    def clean_name(self) -> str:
        return _stripped(self.cleaned_data.get("name"))

    def clean_color(self) -> str:
        return _stripped(self.cleaned_data.get("color")).lower() or "#2563eb"

    def clean_description(self) -> str:
        return _stripped(self.cleaned_data.get("description"))


class FamilyLinkForm(forms.Form):
    relative_id = forms.IntegerField(
        label=_("Family member"),
        required=False,
        widget=forms.HiddenInput,
    )
    relation = forms.ChoiceField(
        label=_("Relation"),
        choices=[c for c in FamilyRelation.choices if c[0] != FamilyRelation.SELF],
    )

    def clean_relative_id(self) -> int | None:
        relative_id = self.cleaned_data.get("relative_id")
        if relative_id is None:
            # Not a rule of the clinic, just an empty picker: nothing to send to the service.
            raise forms.ValidationError(_("Search for the patient and pick one."))
        return int(relative_id)


def _int_choices(items: Iterable[Any]) -> list[tuple[str, str]]:
    return [(str(item.pk), str(item)) for item in items]


class SegmentForm(forms.Form):
    """The name and rules of a segment (see `chairside.patients.segments.SegmentRules`)."""

    name = forms.CharField(label=_("Name"), required=False, max_length=50)
    description = forms.CharField(label=_("Description"), required=False, max_length=200)
    age_min = forms.IntegerField(label=_("Age from"), required=False)
    age_max = forms.IntegerField(label=_("Age to"), required=False)
    gender = forms.ChoiceField(
        label=_("Gender"), required=False, choices=[("", _("Any")), *Gender.choices]
    )
    sources = forms.MultipleChoiceField(
        label=_("Source"),
        required=False,
        choices=SourceChannel.choices,
        widget=forms.CheckboxSelectMultiple,
    )
    no_visit_months = forms.IntegerField(
        label=_("No visit for (months)"),
        required=False,
        help_text=_("Also matches patients who never visited."),
    )
    visited_within_months = forms.IntegerField(label=_("Visited within (months)"), required=False)
    registered_within_days = forms.IntegerField(label=_("Registered within (days)"), required=False)
    tags_any = forms.MultipleChoiceField(
        label=_("Has any of these tags"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    clinic_ids = forms.MultipleChoiceField(
        label=_("First-visit clinic"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )

    RULE_FIELDS = (
        "age_min",
        "age_max",
        "gender",
        "sources",
        "no_visit_months",
        "visited_within_months",
        "registered_within_days",
        "tags_any",
        "clinic_ids",
    )

    def __init__(
        self,
        *args: Any,
        tags: Iterable[Any] = (),
        clinics: Iterable[Any] = (),
        rules: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        initial = dict(kwargs.pop("initial", None) or {})
        for key, value in (rules or {}).items():
            # Checkbox choices are strings; stored rules hold ids as numbers.
            initial[key] = [str(v) for v in value] if isinstance(value, list) else value
        kwargs["initial"] = initial
        super().__init__(*args, **kwargs)
        tags_field = self.fields["tags_any"]
        clinics_field = self.fields["clinic_ids"]
        assert isinstance(tags_field, forms.MultipleChoiceField)
        assert isinstance(clinics_field, forms.MultipleChoiceField)
        tags_field.choices = _int_choices(tags)
        clinics_field.choices = _int_choices(clinics)

    def clean_name(self) -> str:
        return _stripped(self.cleaned_data.get("name"))

    def clean_description(self) -> str:
        return _stripped(self.cleaned_data.get("description"))

    def rules(self) -> dict[str, Any]:
        """The rules as `segment_save` takes them: only the conditions that were filled in."""
        rules: dict[str, Any] = {}
        for key in self.RULE_FIELDS:
            value = self.cleaned_data.get(key)
            if value in (None, "", []):
                continue
            if key in ("tags_any", "clinic_ids"):
                value = [int(v) for v in value]
            rules[key] = value
        return rules
