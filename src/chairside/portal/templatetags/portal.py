"""Dates as patients read them on a phone: "今天", "周三", "9月16日"."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from django import template
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

register = template.Library()


def _weekdays() -> list[str]:
    return [
        pgettext("short weekday", "Mon"),
        pgettext("short weekday", "Tue"),
        pgettext("short weekday", "Wed"),
        pgettext("short weekday", "Thu"),
        pgettext("short weekday", "Fri"),
        pgettext("short weekday", "Sat"),
        pgettext("short weekday", "Sun"),
    ]


def _as_date(value: date | datetime) -> date:
    if isinstance(value, datetime):
        return timezone.localtime(value).date() if timezone.is_aware(value) else value.date()
    return value


@register.filter
def weekday(value: date | datetime) -> str:
    return _weekdays()[_as_date(value).weekday()]


@register.filter
def month_day(value: date | datetime) -> str:
    day = _as_date(value)
    return _("%(month)d/%(day)d") % {"month": day.month, "day": day.day}


@register.filter
def relative_day(value: date | datetime) -> str:
    """ "Today", "Tomorrow", "Day after tomorrow", else the short weekday."""
    day = _as_date(value)
    offset = (day - timezone.localdate()).days
    if offset == 0:
        return _("Today")
    if offset == 1:
        return _("Tomorrow")
    if offset == 2:
        return _("In 2 days")
    return weekday(day)


@register.filter
def when(value: datetime) -> str:
    """A visit's start as "9/16 (Wed) 09:30"."""
    local = timezone.localtime(value)
    return _("%(date)s (%(weekday)s) %(time)s") % {
        "date": month_day(local),
        "weekday": relative_day(local),
        "time": local.strftime("%H:%M"),
    }


@register.filter
def hhmm(value: datetime) -> str:
    return timezone.localtime(value).strftime("%H:%M")


@register.filter
def iso_day(value: date | datetime) -> str:
    return _as_date(value).isoformat()


@register.filter
def minutes_between(start: datetime, end: datetime) -> int:
    return int((end - start) / timedelta(minutes=1))


def _status_labels() -> dict[str, str]:
    # The patient's words for a booking's state; the console's are the staff's.
    return {
        "booked": pgettext("booking status", "Booked"),
        "confirmed": pgettext("booking status", "Confirmed"),
        "arrived": pgettext("booking status", "Checked in"),
        "in_treatment": pgettext("booking status", "In treatment"),
        "completed": pgettext("booking status", "Completed"),
        "cancelled": pgettext("booking status", "Cancelled"),
        "no_show": pgettext("booking status", "Missed"),
    }


@register.filter
def status_label(status: str) -> str:
    return _status_labels().get(status, status)
