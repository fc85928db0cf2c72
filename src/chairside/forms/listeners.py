"""Forms' listener of e-signature events (named in CHAIRSIDE_ESIGN_LISTENERS): when the
document of a form is completed or voided, the form follows."""

from __future__ import annotations

from chairside.core.tenancy import tenant_scope
from chairside.esign.events import DocumentEvent
from chairside.forms.services.instances import form_instance_follow_document


def on_document_event(event: DocumentEvent) -> None:
    document = event.document
    # Public signing pages act before any staff tenant is set; a staff action is already in
    # this organization, and the nested scope gives its tenant back on the way out.
    with tenant_scope(document.organization_id):
        form_instance_follow_document(document=document, kind=event.kind)
