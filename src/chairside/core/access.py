"""Who may do what, where: the clinics a staff member works in and their permissions there."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.utils.translation import gettext_lazy as _

from chairside.core.errors import PermissionDenied
from chairside.core.models import Clinic, Organization, Staff, StaffRole
from chairside.core.tenancy import Tenant


@dataclass(frozen=True)
class Access:
    """A signed-in staff member acting in one clinic of their organization."""

    staff: Staff
    organization: Organization
    clinic: Clinic
    clinics: tuple[Clinic, ...]
    permissions: frozenset[str] = field(default_factory=frozenset)

    @property
    def tenant(self) -> Tenant:
        return Tenant(organization_id=self.organization.pk, clinic_id=self.clinic.pk)

    def can(self, permission: str) -> bool:
        return permission in self.permissions

    def require(self, permission: str) -> None:
        if permission not in self.permissions:
            raise PermissionDenied(
                _("You do not have permission for this in %(clinic)s.") % {"clinic": self.clinic}
            )


def _grants(staff: Staff) -> list[StaffRole]:
    return list(
        StaffRole.all_tenants.filter(
            staff=staff, organization_id=staff.organization_id
        ).select_related("role")
    )


def staff_clinics(staff: Staff, grants: list[StaffRole] | None = None) -> list[Clinic]:
    """The clinics (not the HQ office) where the staff member holds at least one role."""
    if staff.organization_id is None:
        return []
    grants = _grants(staff) if grants is None else grants
    clinics = Clinic.all_tenants.filter(
        organization_id=staff.organization_id, kind=Clinic.Kind.CLINIC, is_active=True
    )
    if not any(g.clinic_id is None or g.role.spans_organization for g in grants):
        clinics = clinics.filter(pk__in={g.clinic_id for g in grants})
    return list(clinics.order_by("id"))


def build_access(staff: Staff, clinic_id: int | None = None) -> Access | None:
    """The access of `staff` in `clinic_id` (or their first clinic); None if they have none."""
    if staff.organization_id is None or not staff.is_active:
        return None
    grants = _grants(staff)
    clinics = staff_clinics(staff, grants)
    if not clinics:
        return None
    clinic = next((c for c in clinics if c.pk == clinic_id), None)
    if clinic_id is not None and clinic is None:
        return None
    clinic = clinic or clinics[0]
    permissions: set[str] = set()
    for grant in grants:
        if grant.clinic_id is None or grant.clinic_id == clinic.pk or grant.role.spans_organization:
            permissions.update(grant.role.permissions)
    organization = Organization.objects.get(pk=staff.organization_id)
    return Access(
        staff=staff,
        organization=organization,
        clinic=clinic,
        clinics=tuple(clinics),
        permissions=frozenset(permissions),
    )
