"""Priority booking windows for members (M3), plugged into scheduling through the setting
CHAIRSIDE_PRIORITY_WINDOWS (see scheduling.priority).

A clinic holds back weekly windows (MemberWindow: weekday, from, until, lowest tier rank)
for every doctor working then; only patients whose tier (their own, or their family's when
the organization shares tiers) has priority booking and at least that rank may book into
them online. The front desk can still book anyone there.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.utils.translation import gettext as _

from chairside.core.clock import at
from chairside.core.models import Clinic, Staff
from chairside.membership.models import MemberWindow, Tier
from chairside.membership.services.members import benefit_member
from chairside.patients.models import Patient
from chairside.scheduling.priority import Window


@dataclass(frozen=True)
class TierWindow(Window):
    """A held-back window and the lowest tier rank that may use it."""

    min_rank: int = 0


class MemberPriorityWindows:
    def held_back(self, *, clinic: Clinic, doctor: Staff, day: date) -> list[Window]:
        rows = list(
            MemberWindow.objects.filter(clinic=clinic, weekday=day.weekday()).order_by("start")
        )
        if not rows:
            return []
        names = dict(Tier.objects.values_list("rank", "name"))
        return [
            TierWindow(
                start=at(day, row.start, clinic),
                end=at(day, row.end, clinic),
                reason=_("Kept for %(tier)s members and above")
                % {"tier": names.get(row.min_rank, row.min_rank)},
                min_rank=row.min_rank,
            )
            for row in rows
        ]

    def may_use(self, *, patient: Patient, window: Window) -> bool:
        if not isinstance(window, TierWindow):
            return True
        member = benefit_member(patient=patient, today=window.start.date())
        return (
            member is not None
            and member.tier.priority_booking
            and member.tier.rank >= window.min_rank
        )
