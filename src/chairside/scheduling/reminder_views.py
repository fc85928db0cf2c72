"""The clinic's reminder settings page (/schedule/reminders/): what patients are sent about
their appointments and when the day-before reminder goes out. Everyone who sees the schedule
sees the settings; changing them takes schedule.manage."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.db import models
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from chairside.core.console import ConsoleRequest, console_page
from chairside.core.errors import DomainError
from chairside.scheduling.models import ReminderSettings
from chairside.scheduling.notices import reminder_settings_for
from chairside.scheduling.services.follow_ups import reminder_settings_update

FIELDS = (
    "reminder_enabled",
    "reminder_time",
    "confirmation_enabled",
    "change_notices_enabled",
    "no_show_follow_up_enabled",
)


def _model_field(name: str) -> models.Field[Any, Any]:
    field = ReminderSettings._meta.get_field(name)
    assert isinstance(field, models.Field)
    return field


def _label(name: str) -> Any:
    """The model field's (lazy) name, capitalised like a ModelForm's label."""
    return capfirst(_model_field(name).verbose_name)


class ReminderSettingsForm(forms.Form):
    reminder_enabled = forms.BooleanField(label=_label("reminder_enabled"), required=False)
    reminder_time = forms.TimeField(
        label=_label("reminder_time"),
        help_text=_model_field("reminder_time").help_text,
        widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
    )
    confirmation_enabled = forms.BooleanField(label=_label("confirmation_enabled"), required=False)
    change_notices_enabled = forms.BooleanField(
        label=_label("change_notices_enabled"), required=False
    )
    no_show_follow_up_enabled = forms.BooleanField(
        label=_label("no_show_follow_up_enabled"), required=False
    )


@require_http_methods(["GET", "HEAD", "POST"])
@console_page("schedule.view")
def reminder_settings(request: ConsoleRequest) -> HttpResponse:
    access = request.access
    can_manage = access.can("schedule.manage")
    current = reminder_settings_for(access.clinic)
    form = ReminderSettingsForm(initial={name: getattr(current, name) for name in FIELDS})
    status = 200
    if request.method == "POST":
        if not can_manage:
            forbidden = {"permission": "schedule.manage"}
            return render(request, "console/forbidden.html", forbidden, status=403)
        form = ReminderSettingsForm(request.POST)
        if form.is_valid():
            try:
                reminder_settings_update(
                    clinic=access.clinic, actor=access.staff, **form.cleaned_data
                )
            except DomainError as e:
                for name, errors in e.fields.items():
                    for error in errors:
                        form.add_error(name if name in form.fields else None, str(error))
                if not e.fields:
                    form.add_error(None, str(e.message))
            else:
                messages.success(request, _("Reminder settings saved."))
                return redirect(request.get_full_path())
        status = 400
    if not can_manage:
        for field in form.fields.values():
            field.disabled = True
    context: dict[str, Any] = {"form": form, "can_manage": can_manage, "clinic": access.clinic}
    return render(request, "scheduling/reminder_settings.html", context, status=status)
