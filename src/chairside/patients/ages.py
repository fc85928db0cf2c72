"""A patient's age in whole years, shared by the console pages and the forms' placeholders."""

from __future__ import annotations

from datetime import date


def age_on(birth_date: date | None, today: date) -> int | None:
    """Completed years on `today` (the birthday counts from its own day); None if unknown."""
    if birth_date is None:
        return None
    before_birthday = (today.month, today.day) < (birth_date.month, birth_date.day)
    return today.year - birth_date.year - before_birthday
