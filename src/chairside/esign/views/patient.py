"""The patient's signing page, /sign/<token>/: public (no sign-in), phone-sized, opened by
the link the clinic sent (or on the clinic's tablet). The token opens that one signature
and nothing else; the SMS code to the mobile on file (and the resident ID number where the
form asks) proves who is signing, and the proof is kept in this browser's session.

The page runs the steps in JavaScript (esign/static/esign/sign.js) against the small JSON
endpoints below: code → verify → prepare (the browser's fresh key and its certificate
request, the drawn signature) → preview → finish. Answers never name other patients; a
link that is unknown, replaced, expired or done shows the same "not available" page.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import path
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from chairside.core.errors import DomainError, ValidationFailed
from chairside.core.phone import mask_mobile
from chairside.core.tenancy import tenant_scope
from chairside.esign.models import SignerSlot
from chairside.esign.selectors.documents import current_slot, get_session, slot_for_token
from chairside.esign.services import documents as services
from chairside.esign.services import identity, signing
from chairside.esign.verification import mask_name
from chairside.esign.views.common import signer_text
from chairside.esign.web import client_info

SESSION_KEY = "chairside_esign_checks"
OPENED_KEY = "chairside_esign_opened"
MAX_BODY = 400_000


def _not_available(request: HttpRequest) -> HttpResponse:
    return render(request, "esign/sign_gone.html", status=404)


@contextmanager
def _as_tenant(slot: SignerSlot) -> Iterator[None]:
    with tenant_scope(slot.organization_id, slot.document.clinic_id):
        yield


def _open(token: str) -> SignerSlot | None:
    """The slot of the link if it may still be signed (its document's turn)."""
    slot = slot_for_token(token)
    if slot is None:
        return None
    with _as_tenant(slot):
        current = current_slot(slot.document)
    return slot if current is not None and current.pk == slot.pk else None


def _error(error: DomainError) -> JsonResponse:
    fields = {k: [str(m) for m in v] for k, v in error.fields.items()}
    return JsonResponse(
        {"code": str(error.code), "message": str(error.message), "fields": fields},
        status=error.status,
    )


def _json(request: HttpRequest) -> dict[str, Any]:
    if len(request.body) > MAX_BODY:
        raise ValidationFailed(_("The request is too large."))
    try:
        data = json.loads(request.body or b"{}")
    except (ValueError, UnicodeDecodeError):
        raise ValidationFailed(_("The request could not be read.")) from None
    if not isinstance(data, dict):
        raise ValidationFailed(_("The request could not be read."))
    return data


def _bytes(data: dict[str, Any], key: str, *, required: bool) -> bytes | None:
    value = data.get(key)
    if not value:
        if required:
            raise ValidationFailed(_("The request could not be read."), field=key)
        return None
    try:
        return base64.b64decode(str(value), validate=True)
    except (binascii.Error, ValueError):
        raise ValidationFailed(_("The request could not be read."), field=key) from None


def _checks(request: HttpRequest) -> dict[str, int]:
    value = request.session.get(SESSION_KEY)
    return value if isinstance(value, dict) else {}


def _endpoint(
    handler: Callable[[HttpRequest, SignerSlot], dict[str, Any]],
) -> Callable[[HttpRequest, str], HttpResponse]:
    """A JSON step of the page: the link's slot in its tenant, domain errors as JSON."""

    @never_cache
    @require_POST
    def view(request: HttpRequest, token: str) -> HttpResponse:
        slot = _open(token)
        if slot is None:
            return JsonResponse(
                {"code": "not_found", "message": _("This link is not available."), "fields": {}},
                status=404,
            )
        try:
            with _as_tenant(slot):
                return JsonResponse(handler(request, slot))
        except DomainError as error:
            return _error(error)

    view.__name__ = handler.__name__
    view.__doc__ = handler.__doc__
    return view


@never_cache
@require_GET
def sign_page(request: HttpRequest, token: str) -> HttpResponse:
    slot = _open(token)
    if slot is None:
        return _not_available(request)
    document = slot.document
    with _as_tenant(slot):
        opened: list[int] = request.session.get(OPENED_KEY) or []
        if slot.pk not in opened:
            services.slot_opened(slot=slot, client=client_info(request))
            request.session[OPENED_KEY] = [*opened[-20:], slot.pk]
        verified = (
            identity.fresh_patient_check(slot=slot, check_id=_checks(request).get(str(slot.pk)))
            is not None
        )
        context = {
            "token": token,
            "slot": slot,
            "document": document,
            "clinic": document.clinic,
            "masked_phone": mask_mobile(document.patient.phone) if document.patient.phone else "",
            "verified": verified,
            # Until the SMS code is confirmed the page shows no title (it can name a
            # treatment) and only the masked name.
            "signer_name": document.patient.name if verified else mask_name(document.patient.name),
            "text": signer_text(),
        }
        return render(request, "esign/sign_patient.html", context)


def code(request: HttpRequest, slot: SignerSlot) -> dict[str, Any]:
    """Send the SMS code to the patient's mobile on file."""
    check = identity.patient_code_request(slot=slot, client_ip=client_info(request).ip)
    return {"sent_to": mask_mobile(check.phone), "expires_at": check.expires_at.isoformat()}


def verify(request: HttpRequest, slot: SignerSlot) -> dict[str, Any]:
    """Check the code (and the ID number); remember the proof in this browser's session."""
    data = _json(request)
    check = identity.patient_identity_verify(
        slot=slot,
        code=str(data.get("code") or ""),
        id_number=str(data.get("id_number") or ""),
        client=client_info(request),
    )
    checks = _checks(request)
    checks[str(slot.pk)] = check.pk
    request.session[SESSION_KEY] = checks
    return {"verified": True}


def prepare(request: HttpRequest, slot: SignerSlot) -> dict[str, Any]:
    """Certify the browser's fresh key and prepare the signature with the drawing."""
    data = _json(request)
    check = identity.fresh_patient_check(slot=slot, check_id=_checks(request).get(str(slot.pk)))
    session = signing.patient_prepare(
        slot=slot,
        identity_check=check,
        csr_der=_bytes(data, "csr", required=True) or b"",
        handwriting_png=_bytes(data, "handwriting_png", required=False),
    )
    return {
        "id": session.pk,
        "signed_attributes": base64.b64encode(bytes(session.signed_attributes)).decode(),
        "document_digest": session.document_digest,
        "preview_sha256": session.preview_sha256,
        "expires_at": session.expires_at.isoformat(),
    }


def _session_of(slot: SignerSlot, data: dict[str, Any]) -> Any:
    try:
        session_id = int(data.get("session") or 0)
    except (TypeError, ValueError):
        session_id = 0
    session = get_session(session_id=max(session_id, 1))
    if session.slot_id != slot.pk:
        raise ValidationFailed(_("This signing step has expired. Please start again."))
    return session


def preview(request: HttpRequest, slot: SignerSlot) -> dict[str, Any]:
    """The pages about to be signed, as images, and the digest."""
    data = _json(request)
    session = _session_of(slot, data)
    pages = signing.session_preview(
        session=session,
        actor=services.actor_label(patient=slot.document.patient),
        client=client_info(request),
    )
    return {
        "pages": ["data:image/png;base64," + base64.b64encode(p).decode() for p in pages],
        "document_digest": session.document_digest,
        "preview_sha256": session.preview_sha256,
    }


def finish(request: HttpRequest, slot: SignerSlot) -> dict[str, Any]:
    """Embed the browser's signature; the link is used up."""
    data = _json(request)
    session = _session_of(slot, data)
    document = signing.session_finish(
        session=session,
        signature=_bytes(data, "signature", required=True) or b"",
        actor=None,
        client=client_info(request),
    )
    checks = _checks(request)
    checks.pop(str(slot.pk), None)
    request.session[SESSION_KEY] = checks
    return {"signed": True, "number": document.number}


urlpatterns = [
    path("sign/<str:token>/", sign_page, name="sign"),
    path("sign/<str:token>/code/", _endpoint(code), name="sign_code"),
    path("sign/<str:token>/verify/", _endpoint(verify), name="sign_verify"),
    path("sign/<str:token>/prepare/", _endpoint(prepare), name="sign_prepare"),
    path("sign/<str:token>/preview/", _endpoint(preview), name="sign_preview"),
    path("sign/<str:token>/finish/", _endpoint(finish), name="sign_finish"),
]
