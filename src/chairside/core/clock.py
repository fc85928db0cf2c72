"""The clinic's wall clock: its zone, today, and the UTC bounds of its days.

Every business day (appointments, bills, the daily close) is a day in the clinic's zone
(Asia/Shanghai unless the clinic says otherwise); instants are aware datetimes.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from chairside.core.errors import ValidationFailed
from chairside.core.models import Clinic

# Dates outside these years are typing mistakes, and beyond what calendars can compute.
FIRST_YEAR = 2000
LAST_YEAR = 2100


def clinic_zone(clinic: Clinic) -> ZoneInfo:
    try:
        return ZoneInfo(clinic.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("Asia/Shanghai")


def clinic_now(clinic: Clinic) -> datetime:
    return timezone.now().astimezone(clinic_zone(clinic))


def clinic_today(clinic: Clinic) -> date:
    return clinic_now(clinic).date()


def clinic_time(value: datetime, clinic: Clinic, field: str) -> datetime:
    """A time someone entered, on the clinic's clock; refused outside 2000-2100."""
    check_year(value.date(), field)
    return local(value, clinic)


def local(value: datetime, clinic: Clinic) -> datetime:
    """`value` on the clinic's clock; a naive value is taken as the clinic's wall-clock time."""
    zone = clinic_zone(clinic)
    if timezone.is_naive(value):
        return value.replace(tzinfo=zone)
    return value.astimezone(zone)


def at(day: date, wall: time, clinic: Clinic) -> datetime:
    """The instant `wall` o'clock on `day` at the clinic."""
    return datetime.combine(day, wall, tzinfo=clinic_zone(clinic))


def day_bounds(first: date, last: date, clinic: Clinic) -> tuple[datetime, datetime]:
    """From the clinic's midnight starting `first` to the one ending `last`."""
    return at(first, time.min, clinic), at(last + timedelta(days=1), time.min, clinic)


def check_year(day: date, field: str) -> None:
    if not FIRST_YEAR <= day.year <= LAST_YEAR:
        raise ValidationFailed(
            _("Enter a date between %(first)s and %(last)s.")
            % {"first": FIRST_YEAR, "last": LAST_YEAR},
            field=field,
        )


def hhmm(value: datetime, clinic: Clinic) -> str:
    return local(value, clinic).strftime("%H:%M")
