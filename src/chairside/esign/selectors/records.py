"""Reading medical record versions for e-signing (F5): one version, and the signed versions
a doctor has not e-signed yet (shown on their phone page)."""

from __future__ import annotations

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils.translation import gettext_lazy as _

from chairside.clinical.models import RecordVersion
from chairside.core.errors import NotFound
from chairside.core.models import Staff
from chairside.esign.models import Document

UNSIGNED_LIMIT = 50


def get_record_version(*, version_id: int) -> RecordVersion:
    """A version of the organization's records, or 404."""
    version = (
        RecordVersion.objects.select_related(
            "record", "record__clinic", "record__patient", "record__doctor", "author"
        )
        .filter(pk=version_id)
        .first()
    )
    if version is None:
        raise NotFound(_("Medical record not found."))
    return version  # type: ignore[no-any-return]


def versions_to_esign(*, staff: Staff) -> QuerySet[RecordVersion]:
    """Versions `staff` signed in the record system with no e-signature document yet (a
    void one does not count), newest first, at most 50."""
    documents = Document.objects.filter(
        source=Document.Source.RECORD, source_id=OuterRef("pk")
    ).exclude(status=Document.Status.VOID)
    mine = Q(kind=RecordVersion.Kind.ORIGINAL, record__doctor=staff) | Q(
        kind=RecordVersion.Kind.AMENDMENT, author=staff
    )
    return (
        RecordVersion.objects.filter(mine, signed_at__isnull=False)
        .filter(~Exists(documents))
        .select_related("record", "record__patient")
        .order_by("-signed_at", "-id")[:UNSIGNED_LIMIT]
    )
