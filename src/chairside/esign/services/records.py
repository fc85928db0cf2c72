"""Doctors e-sign their medical records (F5): a signed record version becomes a PDF/A-3b
carrying the SHA-256 of the version's canonical rendering, with one doctor slot for the
version's signer, who then signs it with their enrolled key (esign.services.signing).

Prescriptions take the forms path (a 处方笺 form with a doctor slot); nothing here.
"""

from __future__ import annotations

from django.conf import settings
from django.db import transaction
from django.utils import translation
from django.utils.translation import gettext as _

from chairside.clinical.models import RecordVersion
from chairside.clinical.rendering import RENDERING_FORMAT
from chairside.clinical.services.records import record_viewed
from chairside.core.errors import Conflict
from chairside.core.models import Clinic, Staff
from chairside.esign.errors import NotYourTurn
from chairside.esign.models import Document, SignerSlot
from chairside.esign.record_pdf import render_version_pdf
from chairside.esign.selectors.documents import record_document
from chairside.esign.services.documents import SignerSpec, document_create


def version_signer_id(version: RecordVersion) -> int:
    """Who signed the version in the record system: the record's doctor for the original,
    the author of an amendment."""
    if version.kind == RecordVersion.Kind.ORIGINAL:
        return version.record.doctor_id  # type: ignore[no-any-return]
    return version.author_id  # type: ignore[no-any-return]


@transaction.atomic
def record_document_create(*, actor: Staff, clinic: Clinic, version: RecordVersion) -> Document:
    """The document to e-sign `version` (made once; a void one is made again). Only the
    version's signer may ask, and only for a version signed in the record system."""
    if version.signed_at is None or not version.digest:
        raise Conflict(_("Sign the record first; only a signed version is e-signed."))
    signer_id = version_signer_id(version)
    if signer_id != actor.pk:
        raise NotYourTurn(_("Only the doctor who signed this version can e-sign it."))
    # Lock the version: two requests at once make one document.
    RecordVersion.objects.select_for_update().filter(pk=version.pk).first()
    existing = record_document(version_id=version.pk)
    if existing is not None:
        return existing
    record = version.record
    rendered = render_version_pdf(version)
    record_viewed(actor=actor, clinic=clinic, record=record, via="esign")
    with translation.override(settings.LANGUAGE_CODE):  # titles are in the documents' language
        title = _("Medical record %(date)s, version %(number)d") % {
            "date": record.visit_date.isoformat(),
            "number": version.number,
        }
    return document_create(
        clinic=record.clinic,
        patient=record.patient,
        title=title,
        source=Document.Source.RECORD,
        source_id=version.pk,
        pdf=rendered.pdf,
        # Identifies what was rendered without copying health data into the document row.
        data={
            "format": RENDERING_FORMAT,
            "record_id": record.pk,
            "version": version.number,
            "rendering_sha256": version.digest,
        },
        signers=[
            SignerSpec(
                role=SignerSlot.Role.DOCTOR,
                staff=actor,
                field_name="doctor",
                page=rendered.page,
                box=rendered.box,
            )
        ],
        created_by=actor,
    )
