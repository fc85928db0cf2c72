"""Which days a doctor's weekly shifts apply: China's public holidays and make-up workdays.

The rule, as clinics run it:

- Dental clinics open at weekends, so an ordinary Saturday or Sunday is worked by whoever
  has shifts on that weekday. Weekends are not skipped.
- A statutory public holiday (法定节假日, e.g. National Day, 2026-10-01..07) closes the
  regular schedule: no shift applies that day.
- A make-up workday (调休上班, a weekend day declared a working day, e.g. Saturday
  2026-10-10 or Sunday 2026-09-20) is an ordinary working day worked with the shifts of
  its own weekday: its place in the holiday plan never closes it.
- An extra shift (a schedule exception) opens any day, holidays included; leave closes
  time on any day.

The holiday data comes from `chinese_calendar`, published year by year; a year it has no
data for yet is treated by weekday only (no holidays known).
"""

from __future__ import annotations

from datetime import date

import chinese_calendar


def public_holiday(day: date) -> str | None:
    """The name of the public holiday `day` is part of, or None for a working or weekend day."""
    try:
        is_holiday, name = chinese_calendar.get_holiday_detail(day)
    except NotImplementedError:
        return None
    # Ordinary weekends are "holidays" without a name in chinese_calendar; make-up workdays
    # carry the festival's name but are not holidays.
    return str(name) if is_holiday and name else None


def regular_shifts_apply(day: date) -> bool:
    """Whether doctors work their weekly shifts on `day` (see the module docstring)."""
    return public_holiday(day) is None
