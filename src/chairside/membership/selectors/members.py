"""Reads of members: the filtered list, one member with history, the points ledger, the
benefits used, and the renewal report (M6)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from chairside.core.errors import NotFound
from chairside.membership.models import BenefitUse, Member, PointsEntry, TierChange
from chairside.patients.models import Patient
from chairside.patients.selectors import search_condition

RENEWAL_WINDOW_DAYS = 30


def member_list(
    *,
    tier_id: int | None = None,
    status: str | None = None,
    expiring_before: date | None = None,
    query: str = "",
) -> QuerySet[Member]:
    members = Member.objects.select_related("tier", "patient")
    if tier_id is not None:
        members = members.filter(tier_id=tier_id)
    if status:
        members = members.filter(status=status)
    if expiring_before is not None:
        members = members.filter(expires_on__lt=expiring_before)
    query = query.strip()
    if query:
        # The card number, or the patient by name, pinyin, phone or record number.
        patients = Patient.objects.filter(search_condition(query)).values("pk")
        members = members.filter(Q(card_number__icontains=query) | Q(patient__in=patients))
    return members.order_by("-enrolled_at", "-id")


def get_member(*, member_id: int) -> Member:
    member = (
        Member.objects.select_related("tier", "patient", "enrolled_clinic")
        .filter(pk=member_id)
        .first()
    )
    if member is None:
        raise NotFound(_("Member not found."))
    return member


def member_of_patient(*, patient_id: int) -> Member | None:
    return Member.objects.select_related("tier").filter(patient_id=patient_id).first()


def points_ledger(*, member: Member, kind: str | None = None) -> QuerySet[PointsEntry]:
    entries = PointsEntry.objects.filter(member=member).select_related("gift", "created_by")
    if kind:
        entries = entries.filter(kind=kind)
    return entries.order_by("-created_at", "-id")


def tier_history(*, member: Member) -> QuerySet[TierChange]:
    return (
        TierChange.objects.filter(member=member)
        .select_related("from_tier", "to_tier", "created_by")
        .order_by("-created_at", "-id")
    )


def benefits_used(*, member: Member) -> QuerySet[BenefitUse]:
    return (
        BenefitUse.objects.filter(member=member)
        .select_related("bill")
        .order_by("-created_at", "-id")
    )


@dataclass
class RenewalReport:
    """Memberships around their expiry, as of `today`: `due` expire within the window;
    `reminded` of those got a reminder; `renewed` were renewed in the last window days;
    `lapsed` expired in the last window days without renewal."""

    today: date
    window_days: int
    due: list[Member] = field(default_factory=list)
    reminded: list[Member] = field(default_factory=list)
    renewed: list[Member] = field(default_factory=list)
    lapsed: list[Member] = field(default_factory=list)


def renewal_report(*, today: date, window_days: int = RENEWAL_WINDOW_DAYS) -> RenewalReport:
    report = RenewalReport(today=today, window_days=window_days)
    members = Member.objects.select_related("tier", "patient")
    ahead = today + timedelta(days=window_days)
    behind = today - timedelta(days=window_days)
    report.due = list(
        members.filter(
            status=Member.Status.ACTIVE, expires_on__gte=today, expires_on__lte=ahead
        ).order_by("expires_on", "id")
    )
    report.reminded = [m for m in report.due if m.reminded_for == m.expires_on]
    renewed_ids = TierChange.objects.filter(
        reason=TierChange.Reason.RENEW, created_at__date__gte=behind
    ).values("member_id")
    report.renewed = list(members.filter(pk__in=renewed_ids).order_by("expires_on", "id"))
    report.lapsed = list(
        members.filter(
            status=Member.Status.EXPIRED, expires_on__gte=behind, expires_on__lt=today
        ).order_by("expires_on", "id")
    )
    return report
