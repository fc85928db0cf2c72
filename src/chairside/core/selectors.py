"""Reads of core data (clinics, staff and their roles), scoped to the current organization."""

from __future__ import annotations

from django.db.models import Prefetch, Q, QuerySet
from django.utils.translation import gettext_lazy as _

from chairside.core.errors import NotFound
from chairside.core.models import AuditEntry, Clinic, Staff, StaffRole


def clinic_list() -> QuerySet[Clinic]:
    """Every clinic of the organization: the branches, then the headquarters office."""
    return Clinic.objects.order_by("kind", "id")


def get_clinic(*, clinic_id: int) -> Clinic:
    """A clinic of the current organization, or the same 404 whether missing or foreign."""
    clinic = Clinic.objects.filter(pk=clinic_id).first()
    if clinic is None:
        raise NotFound(_("Clinic not found."))
    return clinic


def _with_roles(staff: QuerySet[Staff]) -> QuerySet[Staff]:
    grants = StaffRole.objects.select_related("role").order_by("clinic_id", "role__code")
    return staff.prefetch_related(Prefetch("role_grants", queryset=grants))


def staff_list(*, clinic_id: int | None = None, include_inactive: bool = False) -> QuerySet[Staff]:
    """The organization's staff with their role grants; `clinic_id` keeps those who work there
    (a grant in that clinic or one spanning the organization)."""
    staff = Staff.objects.all()
    if not include_inactive:
        staff = staff.filter(is_active=True)
    if clinic_id is not None:
        staff = staff.filter(
            Q(role_grants__clinic_id=clinic_id)
            | Q(role_grants__clinic__isnull=True)
            | Q(role_grants__role__spans_organization=True)
        ).distinct()
    return _with_roles(staff).order_by("display_name", "id")


def get_staff(*, staff_id: int) -> Staff:
    """A staff member of the current organization, or the same 404 whether missing or foreign."""
    staff = _with_roles(Staff.objects.filter(pk=staff_id)).first()
    if staff is None:
        raise NotFound(_("Staff member not found."))
    return staff


def audit_entries(*, clinic_id: int | None = None, action: str = "") -> QuerySet[AuditEntry]:
    """The audit log, newest first, with who and where loaded in the same query."""
    entries = AuditEntry.objects.select_related("actor", "clinic")
    if clinic_id is not None:
        entries = entries.filter(clinic_id=clinic_id)
    if action:
        entries = entries.filter(action=action)
    return entries.order_by("-created_at", "-id")
