"""Staff key enrolment and certificate revocation (F3).

A staff member enrols once per device: the browser makes a non-extractable P-256 key and a
certificate request; the organization's CA issues a two-year certificate after the SMS code
to their mobile, and their resident ID number and name through the identity verifier. One
certificate is active per staff member: enrolling again revokes the previous one.
"""

from __future__ import annotations

from datetime import timedelta

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from chairside.core.audit import audit_record
from chairside.core.errors import PermissionDenied, ValidationFailed
from chairside.core.models import AuditEntry, Clinic, Organization, Staff
from chairside.esign import evidence, pki
from chairside.esign.errors import IdentityCheckFailed, NoMobile
from chairside.esign.identity import identity_verifier, same_name
from chairside.esign.models import Certificate, EvidenceEvent
from chairside.esign.services.documents import ClientInfo, actor_label, organization_of
from chairside.esign.services.identity import staff_code_check, use_check

STAFF_CERTIFICATE_LIFETIME = timedelta(days=730)
MAX_CSR = 4096
SUPERSEDED = "superseded"


def enrolment_submit(
    *,
    actor: Staff,
    clinic: Clinic,
    csr_der: bytes,
    code: str,
    name: str,
    id_number: str,
    client: ClientInfo,
) -> Certificate:
    """Issue `actor` a staff certificate for the key in `csr_der`, after the SMS code, the
    name (must be theirs) and the resident ID number (through the identity verifier).
    Any certificate they held before is revoked."""
    if not actor.phone:
        raise NoMobile(
            _("Your staff profile has no mobile number; ask an administrator to add it."),
            field="code",
        )
    if not csr_der or len(csr_der) > MAX_CSR:
        raise ValidationFailed(_("The certificate request is missing or too large."), field="csr")
    check = staff_code_check(staff=actor, code=code, client_ip=client.ip)
    if not same_name(name, actor.display_name):
        raise IdentityCheckFailed(
            _("The name must be the one on your staff profile: %(name)s.")
            % {"name": actor.display_name},
            field="name",
        )
    verifier = identity_verifier()
    result = verifier.verify(name=name.strip(), id_number=id_number)
    if not result.ok:
        raise IdentityCheckFailed(
            result.message or _("The resident ID number and the name do not match."),
            field="id_number",
        )
    organization = organization_of(actor.organization_id or 0)
    with transaction.atomic():
        use_check(check)
        previous = list(
            Certificate.objects.select_for_update().filter(
                kind=Certificate.Kind.STAFF,
                staff=actor,
                revoked_at__isnull=True,
                not_after__gt=timezone.now(),
            )
        )
        certificate = pki.issue_from_csr(
            organization=organization,
            csr_der=csr_der,
            kind=Certificate.Kind.STAFF,
            subject_name=actor.display_name,
            staff=actor,
            valid_for=STAFF_CERTIFICATE_LIFETIME,
        )
        for old in previous:
            _revoke(actor=actor, certificate=old, reason=SUPERSEDED, organization=organization)
        evidence.record(
            organization=organization,
            kind=EvidenceEvent.Kind.ENROLLED,
            actor=actor_label(actor),
            details={
                "certificate_serial": certificate.serial,
                "spki_sha256": certificate.spki_sha256,
                "not_after": certificate.not_after.isoformat(),
                "identity_verifier": str(getattr(verifier, "name", type(verifier).__name__)),
                "identity_reference": result.reference[:100],
                **client.details(),
            },
        )
        audit_record(
            action=AuditEntry.Action.CREATE,
            instance=certificate,
            actor=actor,
            clinic=clinic,
            after={"serial": certificate.serial, "kind": certificate.kind},
            summary=_("Signing key enrolled for %(name)s") % {"name": actor.display_name},
        )
    return certificate


def _revoke(
    *, actor: Staff, certificate: Certificate, reason: str, organization: Organization
) -> None:
    pki.revoke(certificate, reason=reason, by=actor)
    evidence.record(
        organization=organization,
        kind=EvidenceEvent.Kind.REVOKED,
        actor=actor_label(actor),
        details={"certificate_serial": certificate.serial, "reason": reason[:200]},
    )


@transaction.atomic
def certificate_revoke(
    *, actor: Staff, certificate: Certificate, reason: str, may_manage: bool
) -> Certificate:
    """Revoke a staff or seal certificate: one's own (a lost phone), or anyone's with
    esign.manage (`may_manage`). Signatures made before stay valid; new ones cannot use it."""
    reason = reason.strip()
    if not reason:
        raise ValidationFailed(_("Give the reason for revoking."), field="reason")
    if not may_manage and certificate.staff_id != actor.pk:
        raise PermissionDenied(_("You may revoke only your own certificate."))
    if certificate.kind == Certificate.Kind.PATIENT:
        raise ValidationFailed(_("A patient's one-time certificate expires by itself."))
    if certificate.revoked_at is not None:
        raise ValidationFailed(_("This certificate is already revoked."))
    _revoke(
        actor=actor,
        certificate=certificate,
        reason=reason,
        organization=organization_of(certificate.organization_id),
    )
    return certificate
