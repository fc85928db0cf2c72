"""Staff pages of signed documents: the list, one document (signers, revisions, evidence,
downloads, the patient's link, the seal, voiding), a doctor's signing page (phone-sized:
the key is in this browser; the page talks to the API), and e-signing a record version.

Forms post back, call one service and redirect (post/redirect/get).
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from chairside.core.console import ConsoleRequest, console_page, page_number
from chairside.core.errors import DomainError
from chairside.core.pagination import paginate
from chairside.core.web import file_response
from chairside.esign.forms.documents import VoidForm
from chairside.esign.models import Document, EvidenceEvent, SignerSlot
from chairside.esign.package import build_package
from chairside.esign.selectors import documents as selectors
from chairside.esign.selectors.certificates import active_staff_certificate
from chairside.esign.selectors.records import get_record_version
from chairside.esign.services import documents as services
from chairside.esign.services import records, signing
from chairside.esign.views.common import signer_text
from chairside.esign.web import client_info

PAGE_SIZE = 20


@require_GET
@console_page("esign.view")
def document_list(request: ConsoleRequest) -> HttpResponse:
    q = request.GET.get("q", "").strip()[:60]
    status = request.GET.get("status", "")
    status = status if status in Document.Status.values else ""
    source = request.GET.get("source", "")
    source = source if source in Document.Source.values else ""
    page = paginate(
        selectors.document_list(status=status, source=source, query=q),
        page=page_number(request.GET.get("page")),
        page_size=PAGE_SIZE,
    )
    rows = [{"document": d, "current": selectors.current_slot(d)} for d in page.items]
    context = {
        "page": page,
        "rows": rows,
        "q": q,
        "status": status,
        "source": source,
        "statuses": Document.Status.choices,
        "sources": Document.Source.choices,
        "querystring": urlencode({"q": q, "status": status, "source": source}),
    }
    return render(request, "esign/documents.html", context)


def _can_sign_here(request: ConsoleRequest, document: Document, slot: SignerSlot | None) -> bool:
    access = request.access
    if slot is None or slot.role != SignerSlot.Role.DOCTOR or not access.can("esign.sign"):
        return False
    if slot.staff_id is not None:
        return slot.staff_id == access.staff.pk
    return document.clinic_id == access.clinic.pk


def _detail_context(request: ConsoleRequest, document: Document) -> dict[str, Any]:
    access = request.access
    current = selectors.current_slot(document)
    # The browser string is long and says little at a glance (the evidence package has it).
    events = [
        {"event": e, "details": [(k, v) for k, v in e.details.items() if k != "user_agent"]}
        for e in selectors.document_events(document)
    ]
    return {
        "document": document,
        "slots": selectors.document_slots(document),
        "current": current,
        "revisions": list(selectors.document_revisions(document)),
        "events": events,
        "event_labels": dict(EvidenceEvent.Kind.choices),
        "can_sign": _can_sign_here(request, document, current),
        "can_seal": current is not None
        and current.role == SignerSlot.Role.SEAL
        and access.can("esign.manage"),
        "can_send": current is not None
        and current.role == SignerSlot.Role.PATIENT
        and access.can("forms.fill"),
        "can_void": document.status == Document.Status.SIGNING and access.can("esign.manage"),
        "void_form": VoidForm(),
    }


@require_GET
@console_page("esign.view")
def document_detail(request: ConsoleRequest, document_id: int) -> HttpResponse:
    document = selectors.get_document(document_id=document_id)
    return render(request, "esign/document_detail.html", _detail_context(request, document))


@require_GET
@console_page("esign.view")
def document_pdf(request: ConsoleRequest, document_id: int) -> HttpResponse:
    document = selectors.get_document(document_id=document_id)
    number = request.GET.get("revision", "")
    revision = (
        selectors.get_revision(document=document, number=int(number))
        if number.isdigit() and 0 < int(number) < 10_000
        else selectors.latest_revision(document)
    )
    services.document_downloaded(
        actor=request.access.staff, document=document, what="pdf", revision=revision.number
    )
    suffix = "" if revision.number == 1 else f"-r{revision.number}"
    return file_response(
        bytes(revision.pdf),
        content_type="application/pdf",
        filename=f"{document.number}{suffix}.pdf",
    )


@require_GET
@console_page("esign.view")
def document_package(request: ConsoleRequest, document_id: int) -> HttpResponse:
    document = selectors.get_document(document_id=document_id)
    services.document_downloaded(actor=request.access.staff, document=document, what="package")
    return file_response(
        build_package(document),
        content_type="application/zip",
        filename=f"{document.number}-evidence.zip",
    )


def _back(document: Document) -> HttpResponse:
    return redirect(reverse("esign:document", args=[document.pk]))


@require_POST
@console_page("esign.manage")
def document_void(request: ConsoleRequest, document_id: int) -> HttpResponse:
    document = selectors.get_document(document_id=document_id)
    form = VoidForm(request.POST)
    if form.is_valid():
        try:
            services.document_void(
                actor=request.access.staff,
                clinic=request.access.clinic,
                document=document,
                reason=form.cleaned_data["reason"],
            )
        except DomainError as e:
            messages.error(request, str(e.message))
        else:
            messages.success(request, _("The document is void."))
            return _back(document)
    else:
        messages.error(request, _("Give the reason for voiding."))
    return _back(document)


@require_POST
@console_page("forms.fill")
def document_link(request: ConsoleRequest, document_id: int) -> HttpResponse:
    """Send the patient's link by SMS, or open the signing page on this device (a tablet)."""
    document = selectors.get_document(document_id=document_id)
    here = request.POST.get("where") == "here"
    try:
        link = services.signing_link_issue(
            actor=request.access.staff,
            clinic=request.access.clinic,
            document=document,
            send_sms=not here,
        )
    except DomainError as e:
        messages.error(request, str(e.message))
        return _back(document)
    if here:
        return redirect(reverse("esign:sign", args=[link.token]))
    messages.success(request, _("The signing link was sent to the patient by SMS."))
    return _back(document)


@require_POST
@console_page("esign.manage")
def document_seal(request: ConsoleRequest, document_id: int) -> HttpResponse:
    document = selectors.get_document(document_id=document_id)
    current = selectors.current_slot(document)
    if current is None or current.role != SignerSlot.Role.SEAL:
        messages.error(request, _("It is not the clinic seal's turn."))
        return _back(document)
    try:
        signing.seal_apply(actor=request.access.staff, slot=current, client=client_info(request))
    except DomainError as e:
        messages.error(request, str(e.message))
    else:
        messages.success(request, _("The clinic seal is applied."))
    return _back(document)


@require_GET
@console_page("esign.sign")
def document_sign(request: ConsoleRequest, document_id: int) -> HttpResponse:
    """The doctor's signing page: draw (optional), preview, confirm; the key is this
    browser's (found by the certificate's spki_sha256)."""
    document = selectors.get_document(document_id=document_id)
    current = selectors.current_slot(document)
    context = {
        "document": document,
        "slot": current,
        "can_sign": _can_sign_here(request, document, current),
        "certificate": active_staff_certificate(request.access.staff),
        "text": signer_text(),
    }
    return render(request, "esign/sign_staff.html", context)


@require_http_methods(["POST"])
@console_page("esign.sign")
def record_sign(request: ConsoleRequest, version_id: int) -> HttpResponse:
    """E-sign a signed record version: make (or find) its document, go to its signing page."""
    version = get_record_version(version_id=version_id)
    try:
        document = records.record_document_create(
            actor=request.access.staff, clinic=request.access.clinic, version=version
        )
    except DomainError as e:
        messages.error(request, str(e.message))
        return redirect("esign:mine")
    if not _can_sign_here(request, document, selectors.current_slot(document)):
        return _back(document)
    return redirect(reverse("esign:document_sign", args=[document.pk]))


urlpatterns = [
    path("esign/", document_list, name="documents"),
    path("esign/documents/<int:document_id>/", document_detail, name="document"),
    path("esign/documents/<int:document_id>/pdf/", document_pdf, name="document_pdf"),
    path("esign/documents/<int:document_id>/package/", document_package, name="document_package"),
    path("esign/documents/<int:document_id>/void/", document_void, name="document_void"),
    path("esign/documents/<int:document_id>/link/", document_link, name="document_link"),
    path("esign/documents/<int:document_id>/seal/", document_seal, name="document_seal"),
    path("esign/documents/<int:document_id>/sign/", document_sign, name="document_sign"),
    path("esign/records/<int:version_id>/sign/", record_sign, name="record_sign"),
]
