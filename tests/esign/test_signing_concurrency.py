"""Signing under concurrency, on PostgreSQL with real threads: two finishes of one session,
or of two sessions of one slot, give exactly one signature revision."""

from __future__ import annotations

import pytest
from django.db import connection

from chairside.core.errors import DomainError
from chairside.core.tenancy import tenant_scope
from chairside.esign.models import Document, DocumentRevision, EvidenceEvent, SigningSession
from chairside.esign.services.signing import session_finish, session_preview, staff_prepare
from tests.concurrency import run_concurrently
from tests.esign.flow_helpers import Esign, client, slot_of

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def prepared(e: Esign, document: Document) -> SigningSession:
    with tenant_scope(e.world.org, e.world.clinic1):
        session = staff_prepare(
            actor=e.doctor, slot=slot_of(document, "doctor"), handwriting_png=None
        )
        session_preview(session=session, actor="x", client=client())
        return session


def finish_from_threads(e: Esign, sessions: list[SigningSession]) -> list[object]:
    signatures = [e.doctor_browser.sign(bytes(s.signed_attributes)) for s in sessions]

    def finish(i: int) -> Document:
        with tenant_scope(e.world.org, e.world.clinic1):
            return session_finish(
                session=sessions[i], signature=signatures[i], actor=e.doctor, client=client()
            )

    return run_concurrently(finish, len(sessions))


def test_two_finishes_of_one_session_write_one_revision(enrolled: Esign) -> None:
    assert connection.vendor == "postgresql"
    document = enrolled.document(roles=("doctor", "seal"))
    session = prepared(enrolled, document)

    results = finish_from_threads(enrolled, [session, session])

    signed = [r for r in results if isinstance(r, Document)]
    refused = [r for r in results if isinstance(r, DomainError)]
    assert len(signed) == 1, results
    assert len(refused) == 1, results
    with tenant_scope(enrolled.world.org):
        assert DocumentRevision.objects.filter(document=document, kind="signature").count() == 1
        assert EvidenceEvent.objects.filter(document=document, kind="signed").count() == 1


def test_two_sessions_of_one_slot_sign_it_once(enrolled: Esign) -> None:
    document = enrolled.document(roles=("doctor", "seal"))
    # The doctor opened the signing page on two devices and confirmed on both at once.
    sessions = [prepared(enrolled, document), prepared(enrolled, document)]

    results = finish_from_threads(enrolled, sessions)

    signed = [r for r in results if isinstance(r, Document)]
    refused = [r for r in results if isinstance(r, DomainError)]
    assert len(signed) == 1, results
    assert len(refused) == 1, results
    with tenant_scope(enrolled.world.org):
        revisions = list(DocumentRevision.objects.filter(document=document).order_by("number"))
        assert [r.kind for r in revisions] == ["rendered", "signature"]
        assert slot_of(document, "doctor").status == "signed"
