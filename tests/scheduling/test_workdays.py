"""China's public holidays close the weekly shifts; weekends and make-up workdays do not."""

from __future__ import annotations

from datetime import date

import pytest

from chairside.scheduling.workdays import public_holiday, regular_shifts_apply


@pytest.mark.parametrize(
    ("day", "works"),
    [
        (date(2026, 10, 1), False),  # National Day
        (date(2026, 10, 3), False),  # a Saturday inside the holiday
        (date(2026, 10, 5), False),  # a Monday inside the holiday
        (date(2026, 9, 19), True),  # an ordinary Saturday: clinics open at weekends
        (date(2026, 9, 20), True),  # Sunday, make-up workday (调休上班)
        (date(2026, 10, 10), True),  # Saturday, make-up workday
        (date(2026, 10, 8), True),  # the first working day after
    ],
)
def test_weekly_shifts_apply_except_on_public_holidays(day: date, works: bool) -> None:
    assert regular_shifts_apply(day) is works


def test_the_holiday_is_named() -> None:
    assert public_holiday(date(2026, 10, 1)) == "National Day"
    assert public_holiday(date(2026, 10, 10)) is None


def test_a_year_without_holiday_data_goes_by_weekday_only() -> None:
    assert public_holiday(date(2099, 10, 1)) is None
    assert regular_shifts_apply(date(2099, 10, 1))
