"""Reading certificates: the list, one certificate, and a staff member's usable one."""

from __future__ import annotations

from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from chairside.core.errors import NotFound
from chairside.core.models import Staff
from chairside.esign.models import Certificate


def certificate_list(
    *, kind: str = "", staff_id: int | None = None, active_only: bool = False
) -> QuerySet[Certificate]:
    """The organization's certificates, newest first, with their staff, patient and clinic."""
    certificates = Certificate.objects.select_related("staff", "patient", "clinic")
    if kind:
        certificates = certificates.filter(kind=kind)
    if staff_id is not None:
        certificates = certificates.filter(staff_id=staff_id)
    if active_only:
        certificates = certificates.filter(revoked_at__isnull=True, not_after__gt=timezone.now())
    return certificates.order_by("-created_at", "-id")


def get_certificate(*, certificate_id: int) -> Certificate:
    certificate = (
        Certificate.objects.select_related("staff", "patient", "clinic")
        .filter(pk=certificate_id)
        .first()
    )
    if certificate is None:
        raise NotFound(_("Certificate not found."))
    return certificate  # type: ignore[no-any-return]


def active_staff_certificate(staff: Staff) -> Certificate | None:
    """The staff member's enrolled certificate that can sign now (at most one is active)."""
    now = timezone.now()
    return (  # type: ignore[no-any-return]
        Certificate.objects.filter(
            kind=Certificate.Kind.STAFF,
            staff=staff,
            revoked_at__isnull=True,
            not_before__lte=now,
            not_after__gt=now,
        )
        .order_by("-created_at", "-id")
        .first()
    )
