"""Priority windows (S4): time a clinic holds back for some patients, e.g. higher member tiers.

Scheduling does not know who may use a window; another module (membership) does. It plugs
in an implementation of `PriorityWindows` by naming it in the setting
`CHAIRSIDE_PRIORITY_WINDOWS` (a dotted path to a class or an object). By default nothing is
held back.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Protocol

from django.conf import settings
from django.utils.module_loading import import_string

from chairside.core.models import Clinic, Staff
from chairside.patients.models import Patient

SETTING = "CHAIRSIDE_PRIORITY_WINDOWS"
DEFAULT = "chairside.scheduling.priority.NothingHeldBack"


@dataclass(frozen=True)
class Window:
    """A stretch of a doctor's working time, as aware datetimes, and why it is held back."""

    start: datetime
    end: datetime
    reason: str = ""


class PriorityWindows(Protocol):
    def held_back(self, *, clinic: Clinic, doctor: Staff, day: date) -> list[Window]:
        """The windows of `doctor` at `clinic` on `day` (the clinic's date) kept for some."""
        ...

    def may_use(self, *, patient: Patient, window: Window) -> bool:
        """Whether `patient` may book inside `window`."""
        ...


class NothingHeldBack:
    """The default: every free minute is open to everyone."""

    def held_back(self, *, clinic: Clinic, doctor: Staff, day: date) -> list[Window]:
        return []

    def may_use(self, *, patient: Patient, window: Window) -> bool:
        return True


def priority_windows() -> PriorityWindows:
    """The configured implementation (a class is instantiated, an object used as it is)."""
    found = import_string(getattr(settings, SETTING, DEFAULT))
    return found() if isinstance(found, type) else found  # type: ignore[no-any-return]


def closed_windows(
    *, clinic: Clinic, doctor: Staff, day: date, patient: Patient | None
) -> list[Window]:
    """The held-back windows `patient` may not use (all of them when nobody is named)."""
    windows = priority_windows()
    return [
        w
        for w in windows.held_back(clinic=clinic, doctor=doctor, day=day)
        if patient is None or not windows.may_use(patient=patient, window=w)
    ]
