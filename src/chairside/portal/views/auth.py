"""Sign-in by SMS code (mobile, then code) and sign-out."""

from __future__ import annotations

from datetime import datetime

from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from chairside.core.errors import DomainError
from chairside.core.phone import mask_mobile
from chairside.core.web import client_ip
from chairside.portal import services
from chairside.portal.forms import CodeForm, MobileForm
from chairside.portal.views.common import (
    PortalRequest,
    pending_phone,
    portal_page,
    portal_url,
    safe_next,
    set_pending_phone,
    sign_in,
    sign_out,
)

RESEND_AFTER_SECONDS = 60


def _next(request: PortalRequest) -> str:
    return safe_next(request, request.POST.get("next") or request.GET.get("next")) or portal_url(
        request, "home"
    )


@require_http_methods(["GET", "HEAD", "POST"])
@portal_page(sign_in_required=False)
def login(request: PortalRequest) -> HttpResponse:
    """Step 1: the mobile number. Every valid number gets the same answer."""
    if request.household is not None:
        return redirect(_next(request))
    form = MobileForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            phone = services.login_code_request(
                organization=request.organization,
                phone=form.cleaned_data["phone"],
                client_ip=client_ip(request),
            )
        except DomainError as e:  # not a mobile number, or too many requests
            form.add_error("phone", str(e.message))
        else:
            set_pending_phone(request, request.organization, phone)
            return redirect(
                portal_url(request, "login_code", next=safe_next(request, _next(request)))
            )
    return render(
        request,
        "portal/login.html",
        {
            "form": form,
            "next": safe_next(request, request.GET.get("next") or request.POST.get("next")),
        },
    )


def _resend_wait(sent_at: str) -> int:
    try:
        elapsed = (timezone.now() - datetime.fromisoformat(sent_at)).total_seconds()
    except (TypeError, ValueError):
        return 0
    return max(0, int(RESEND_AFTER_SECONDS - elapsed))


@require_http_methods(["GET", "HEAD", "POST"])
@portal_page(sign_in_required=False)
def login_code(request: PortalRequest) -> HttpResponse:
    """Step 2: the code from the SMS; or ask for another one."""
    pending = pending_phone(request, request.organization)
    if pending is None:
        return redirect(
            portal_url(request, "login", next=safe_next(request, request.GET.get("next")))
        )
    phone = str(pending["phone"])
    resend = request.method == "POST" and request.POST.get("action") == "resend"
    form = CodeForm(None if resend else (request.POST or None))
    notice = resend_error = ""
    if resend:
        try:
            services.login_code_request(
                organization=request.organization, phone=phone, client_ip=client_ip(request)
            )
        except DomainError as e:
            resend_error = str(e.message)
        else:
            set_pending_phone(request, request.organization, phone)
            notice = _("A new code is on its way.")
    elif request.method == "POST" and form.is_valid():
        try:
            who = services.login_code_verify(
                organization=request.organization,
                phone=phone,
                code=form.cleaned_data["code"],
                client_ip=client_ip(request),
            )
        except DomainError as e:
            form.add_error("code", str(e.message))
        else:
            sign_in(request, who)
            return redirect(_next(request))
    pending = pending_phone(request, request.organization) or pending
    context = {
        "form": form,
        "masked_phone": mask_mobile(phone),
        "resend_wait": _resend_wait(str(pending.get("sent_at", ""))),
        "notice": notice,
        "resend_error": resend_error,
        "next": safe_next(request, request.GET.get("next") or request.POST.get("next")),
    }
    # The resend button swaps only its own block (htmx), keeping what was typed.
    partial = resend and bool(getattr(request, "htmx", False))
    template = "portal/_resend.html" if partial else "portal/login_code.html"
    return render(request, template, context)


@require_POST
@portal_page(sign_in_required=False)
def logout(request: PortalRequest) -> HttpResponse:
    sign_out(request, request.organization)
    return redirect(portal_url(request, "login"))
