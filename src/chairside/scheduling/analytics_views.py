"""The booking analytics page (S5): no-show and cancellation rates, lead time by source and
utilisation by day of the acting clinic, drawn with ECharts from the same selector the API
uses."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from django import forms
from django.http import HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_safe

from chairside.core.clock import clinic_today
from chairside.core.console import ConsoleRequest, console_page
from chairside.core.errors import ValidationFailed
from chairside.scheduling.analytics import (
    MAX_ANALYTICS_DAYS,
    BookingAnalytics,
    booking_analytics,
)
from chairside.scheduling.models import AppointmentSource

DEFAULT_DAYS = 30


def _date_picker() -> forms.DateInput:
    # The browser's date picker reads and writes ISO dates, whatever the page's language.
    return forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class RangeForm(forms.Form):
    date_from = forms.DateField(label=_("From"), required=False, widget=_date_picker())
    date_to = forms.DateField(label=_("To"), required=False, widget=_date_picker())


def _percent(rate: float | None) -> str:
    return "–" if rate is None else f"{rate * 100:.1f}%"


def _chart_data(figures: BookingAnalytics) -> dict[str, Any]:
    sources = dict(AppointmentSource.choices)
    leads = figures.lead_time_by_source
    return {
        "days": [d.day.isoformat() for d in figures.days],
        "doctor_rate": [
            None if d.doctor_rate is None else round(d.doctor_rate * 100, 1) for d in figures.days
        ],
        "chair_rate": [
            None if d.chair_rate is None else round(d.chair_rate * 100, 1) for d in figures.days
        ],
        "sources": [str(sources.get(lead.source, lead.source)) for lead in leads],
        "median_hours": [lead.median_hours for lead in leads],
        "p90_hours": [lead.p90_hours for lead in leads],
        "labels": {
            "doctors": str(_("Doctors' time booked (%)")),
            "chairs": str(_("Chair time booked (%)")),
            "median": str(_("Median (hours)")),
            "p90": str(_("90th percentile (hours)")),
        },
    }


@require_safe
@console_page("schedule.analytics")
def analytics(request: ConsoleRequest) -> HttpResponse:
    clinic = request.access.clinic
    today = clinic_today(clinic)
    last: date = today
    first: date = today - timedelta(days=DEFAULT_DAYS - 1)
    # Unbound, the date fields show the range the figures are for.
    form = RangeForm(request.GET or None, initial={"date_from": first, "date_to": last})
    figures = None
    if form.is_bound and form.is_valid():
        last = form.cleaned_data["date_to"] or today
        first = form.cleaned_data["date_from"] or last - timedelta(days=DEFAULT_DAYS - 1)
    if not form.is_bound or form.is_valid():
        try:
            figures = booking_analytics(clinic=clinic, date_from=first, date_to=last)
        except ValidationFailed as e:
            form.add_error(None, str(e.message))
    status = 200 if figures is not None else 400
    sources = dict(AppointmentSource.choices)
    context = {
        "form": form,
        "date_from": first,
        "date_to": last,
        "max_days": MAX_ANALYTICS_DAYS,
        "figures": figures,
        "no_show_rate": _percent(figures.no_show.rate) if figures else "",
        "cancellation_rate": _percent(figures.cancellation.rate) if figures else "",
        "by_source": (
            [(sources.get(k, k), n) for k, n in figures.by_source.items() if n] if figures else []
        ),
        "chart": _chart_data(figures) if figures else None,
    }
    return render(request, "scheduling/analytics.html", context, status=status)
