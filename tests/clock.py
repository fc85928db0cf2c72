"""A stopped clock for tests: it stands in for django.utils.timezone.now, which
core.clock and the apps read, until a test moves it with `clock.set(...)`."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

SHANGHAI = ZoneInfo("Asia/Shanghai")


class Clock:
    """Stands in for django.utils.timezone.now."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def set(self, value: datetime) -> None:
        self.now = value

    def __call__(self) -> datetime:
        return self.now.astimezone(UTC)


def stop_clock(monkeypatch: pytest.MonkeyPatch, now: datetime) -> Clock:
    """Stop the clock at `now` for the rest of the test."""
    stopped = Clock(now)
    monkeypatch.setattr(timezone, "now", stopped)
    return stopped
