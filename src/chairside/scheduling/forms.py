"""Forms of the schedule pages. They only tidy what was typed; the services decide what is
valid (working hours, double booking, transitions)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, time, timedelta
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from chairside.core.errors import Conflict, DomainError
from chairside.core.models import Staff
from chairside.scheduling.errors import SchedulingErrorCode
from chairside.scheduling.models import AppointmentType, Chair

_DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
_TIME = forms.TimeInput(attrs={"type": "time", "step": 300}, format="%H:%M")
DEFAULT_MINUTES = 30

# Where the services' field names land on these forms.
_FIELD_ALIASES = {"end": "minutes"}


def attach_errors(form: forms.Form, error: DomainError) -> None:
    """A clash (Conflict) or time outside the doctor's hours above the form, where it is seen
    first and has room for its long message; other errors at the fields the service names."""
    outside_hours = error.code == SchedulingErrorCode.OUTSIDE_WORKING_HOURS
    if isinstance(error, Conflict) or outside_hours or not error.fields:
        form.add_error(None, str(error.message))
        return
    for name, messages in error.fields.items():
        target = _FIELD_ALIASES.get(name, name)
        for message in messages:
            form.add_error(target if target in form.fields else None, str(message))


def _choices(items: Iterable[Any], empty: Any = None) -> list[tuple[Any, Any]]:
    options = [(item.pk, str(item)) for item in items]
    return [("", empty), *options] if empty is not None else options


class _Parties(forms.Form):
    """Patient, doctor, chair and type, chosen from the clinic's own lists."""

    patient_id = forms.IntegerField(
        label=_("Patient"),
        widget=forms.HiddenInput,
        error_messages={"required": _("Choose a patient."), "invalid": _("Choose a patient.")},
    )
    doctor_id = forms.TypedChoiceField(
        label=_("Doctor"), coerce=int, error_messages={"required": _("Choose a doctor.")}
    )
    chair_id = forms.TypedChoiceField(
        label=_("Chair"), coerce=int, required=False, empty_value=None
    )
    appointment_type_id = forms.TypedChoiceField(
        label=_("Type"), coerce=int, required=False, empty_value=None
    )
    note = forms.CharField(
        label=_("Note"), required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(
        self,
        *args: Any,
        doctors: list[Staff],
        chairs: list[Chair],
        types: list[AppointmentType],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.doctors = {d.pk: d for d in doctors}
        self.chairs = {c.pk: c for c in chairs}
        self.types = {t.pk: t for t in types}
        self.fields["doctor_id"].choices = _choices(doctors, _("Choose a doctor"))  # type: ignore[attr-defined]
        self.fields["chair_id"].choices = _choices(chairs, _("No chair"))  # type: ignore[attr-defined]
        self.fields["appointment_type_id"].choices = _choices(types, _("No type"))  # type: ignore[attr-defined]

    def parties(self) -> dict[str, Any]:
        """The doctor, chair and type picked (from the lists the form was given)."""
        data = self.cleaned_data
        return {
            "doctor": self.doctors[data["doctor_id"]],
            "chair": self.chairs.get(data["chair_id"]) if data.get("chair_id") else None,
            "appointment_type": (
                self.types.get(data["appointment_type_id"])
                if data.get("appointment_type_id")
                else None
            ),
        }


class AppointmentForm(_Parties):
    """Book from the calendar: who, with whom, when and for how long."""

    date = forms.DateField(label=_("Date"), widget=_DATE)
    start = forms.TimeField(label=_("Time"), widget=_TIME)
    minutes = forms.IntegerField(
        label=_("Minutes"), min_value=5, max_value=480, initial=DEFAULT_MINUTES
    )
    allow_outside_hours = forms.BooleanField(label=_("Book outside working hours"), required=False)

    field_order = (
        "patient_id",
        "appointment_type_id",
        "doctor_id",
        "chair_id",
        "date",
        "start",
        "minutes",
        "note",
        "allow_outside_hours",
    )

    def period(self) -> tuple[datetime, datetime]:
        """Start and end as the clinic's wall-clock times (naive: the service places them)."""
        start = datetime.combine(self.cleaned_data["date"], self.cleaned_data["start"])
        return start, start + timedelta(minutes=self.cleaned_data["minutes"])


class WalkInForm(_Parties):
    """A patient who came without an appointment: checked in with a doctor from now."""


class RescheduleForm(forms.Form):
    """Move an appointment: new day, time, length, doctor or chair (no chair frees it)."""

    date = forms.DateField(label=_("Date"), widget=_DATE)
    start = forms.TimeField(label=_("Time"), widget=_TIME)
    minutes = forms.IntegerField(label=_("Minutes"), min_value=5, max_value=480)
    doctor_id = forms.TypedChoiceField(label=_("Doctor"), coerce=int)
    chair_id = forms.TypedChoiceField(
        label=_("Chair"), coerce=int, required=False, empty_value=None
    )
    allow_outside_hours = forms.BooleanField(label=_("Book outside working hours"), required=False)
    reason = forms.CharField(label=_("Reason"), required=False, max_length=200)

    def __init__(
        self, *args: Any, doctors: list[Staff], chairs: list[Chair], **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.doctors = {d.pk: d for d in doctors}
        self.chairs = {c.pk: c for c in chairs}
        self.fields["doctor_id"].choices = _choices(doctors)  # type: ignore[attr-defined]
        self.fields["chair_id"].choices = _choices(chairs, _("No chair"))  # type: ignore[attr-defined]

    def period(self) -> tuple[datetime, datetime]:
        start = datetime.combine(self.cleaned_data["date"], self.cleaned_data["start"])
        return start, start + timedelta(minutes=self.cleaned_data["minutes"])


class CancelForm(forms.Form):
    reason = forms.CharField(label=_("Reason for cancelling"), required=False, max_length=200)


def initial_time(value: str | None) -> time | None:
    """A time from the address (?time=09:15), or None."""
    try:
        return time.fromisoformat(value) if value else None
    except ValueError:
        return None


def initial_date(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None
