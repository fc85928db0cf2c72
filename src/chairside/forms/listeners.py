"""Forms' listener of e-signature events (named in CHAIRSIDE_ESIGN_LISTENERS): when the
document of a form is completed or voided, the form follows."""

from __future__ import annotations

from chairside.core.tenancy import current_tenant_or_none, tenant_scope
from chairside.esign.events import DocumentEvent
from chairside.forms.services.instances import form_instance_follow_document


def on_document_event(event: DocumentEvent) -> None:
    document = event.document
    tenant = current_tenant_or_none()
    if tenant is not None and tenant.organization_id == document.organization_id:
        form_instance_follow_document(document=document, kind=event.kind)
        return
    # Public signing pages act before any staff tenant is set.
    with tenant_scope(document.organization_id):
        form_instance_follow_document(document=document, kind=event.kind)
