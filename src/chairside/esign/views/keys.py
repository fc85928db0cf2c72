"""Staff pages of signing keys: enrolling one in this browser, "待我签署" (what waits for my
signature, the record versions I have not e-signed yet, and my certificates), and the
organization's certificates with revocation (esign.manage)."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from chairside.core.console import ConsoleRequest, console_page, forbidden, page_number
from chairside.core.errors import DomainError
from chairside.core.pagination import paginate
from chairside.esign.forms.documents import RevokeForm
from chairside.esign.models import Certificate
from chairside.esign.selectors import certificates as cert_selectors
from chairside.esign.selectors import documents as selectors
from chairside.esign.selectors.records import versions_to_esign
from chairside.esign.services import enrolment
from chairside.esign.views.common import enrol_text

PAGE_SIZE = 20


@require_GET
@console_page("esign.sign")
def enrol(request: ConsoleRequest) -> HttpResponse:
    staff = request.access.staff
    context = {
        "staff": staff,
        "certificate": cert_selectors.active_staff_certificate(staff),
        "text": enrol_text(),
    }
    return render(request, "esign/enrol.html", context)


@require_GET
@console_page("esign.view")
def mine(request: ConsoleRequest) -> HttpResponse:
    access = request.access
    documents = selectors.waiting_for(
        staff=access.staff,
        clinic=access.clinic,
        can_sign=access.can("esign.sign"),
        can_seal=access.can("esign.manage"),
    )
    context = {
        "rows": [{"document": d, "current": selectors.current_slot(d)} for d in documents],
        "versions": list(versions_to_esign(staff=access.staff)) if access.can("esign.sign") else [],
        "certificates": list(cert_selectors.certificate_list(staff_id=access.staff.pk)[:10]),
        "active": cert_selectors.active_staff_certificate(access.staff),
        "can_sign": access.can("esign.sign"),
    }
    return render(request, "esign/mine.html", context)


@require_GET
@console_page("esign.manage")
def certificates(request: ConsoleRequest) -> HttpResponse:
    kind = request.GET.get("kind", "")
    kind = kind if kind in Certificate.Kind.values else ""
    active = request.GET.get("active", "") == "1"
    page = paginate(
        cert_selectors.certificate_list(kind=kind, active_only=active),
        page=page_number(request.GET.get("page")),
        page_size=PAGE_SIZE,
    )
    context = {
        "page": page,
        "kind": kind,
        "active": active,
        "kinds": Certificate.Kind.choices,
        "querystring": urlencode({"kind": kind, "active": "1" if active else ""}),
        "form": RevokeForm(),
    }
    return render(request, "esign/certificates.html", context)


@require_POST
@console_page()
def certificate_revoke(request: ConsoleRequest, certificate_id: int) -> HttpResponse:
    """Revoke one's own certificate (esign.sign), or anyone's (esign.manage)."""
    access = request.access
    may_manage = access.can("esign.manage")
    if not may_manage and not access.can("esign.sign"):
        return forbidden(request, "esign.sign")
    certificate = cert_selectors.get_certificate(certificate_id=certificate_id)
    if not may_manage and certificate.staff_id != access.staff.pk:
        return forbidden(request, "esign.manage")
    back = (
        "esign:mine"
        if request.POST.get("next") == "mine" or not may_manage
        else "esign:certificates"
    )
    form = RevokeForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Give the reason for revoking."))
        return redirect(back)
    try:
        enrolment.certificate_revoke(
            actor=access.staff,
            certificate=certificate,
            reason=form.cleaned_data["reason"],
            may_manage=may_manage,
        )
    except DomainError as e:
        messages.error(request, str(e.message))
    else:
        messages.success(request, _("The certificate is revoked."))
    return redirect(back)


urlpatterns = [
    path("esign/enrol/", enrol, name="enrol"),
    path("esign/mine/", mine, name="mine"),
    path("esign/certificates/", certificates, name="certificates"),
    path(
        "esign/certificates/<int:certificate_id>/revoke/",
        certificate_revoke,
        name="certificate_revoke",
    ),
]
