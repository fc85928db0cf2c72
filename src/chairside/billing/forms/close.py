"""Forms of the daily close: the day to look at, and closing it."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from chairside.core.clock import FIRST_YEAR, LAST_YEAR


class DayForm(forms.Form):
    date = forms.DateField(
        label=_("Business day"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )

    def clean_date(self) -> Any:
        day = self.cleaned_data["date"]
        if not FIRST_YEAR <= day.year <= LAST_YEAR:
            raise forms.ValidationError(
                _("Enter a date between %(first)s and %(last)s.")
                % {"first": FIRST_YEAR, "last": LAST_YEAR}
            )
        return day


class CloseDayForm(DayForm):
    note = forms.CharField(label=_("Note"), max_length=200, required=False)
