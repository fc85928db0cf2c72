"""Console pages of the core app (sign-in, clinic switcher, workbench, staff, audit log) and
the health check."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth import login, logout
from django.core.cache import cache
from django.db import connection
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from chairside.core import selectors
from chairside.core.access import build_access
from chairside.core.console import ConsoleRequest, console_page, page_number
from chairside.core.errors import DomainError
from chairside.core.forms import OneTimeCodeForm, SignInForm
from chairside.core.middleware import ACTIVE_CLINIC_SESSION_KEY
from chairside.core.models import AuditEntry, Staff
from chairside.core.pagination import paginate
from chairside.core.services import (
    staff_check_password,
    staff_check_second_factor,
    staff_signed_in,
    staff_totp_begin,
    staff_totp_confirm,
)

# Between the password step and the code step only the staff id is kept, never the password.
PENDING_SIGN_IN_KEY = "chairside_pending_staff_id"
BACKEND = "chairside.core.auth.StaffBackend"


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """404 for the whole site: the API's error shape under /api/, the console's page elsewhere
    (addresses no route matches at all, e.g. with a line break in them, end here)."""
    if request.path.startswith("/api/"):
        body = {"code": "not_found", "message": _("There is no such API address."), "fields": {}}
        return JsonResponse(body, status=404)
    return render(request, "404.html", status=404)


def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness of the database and the cache, for load balancers and monitoring."""
    checks: dict[str, str] = {}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        checks["database"] = "ok"
    except Exception as e:  # noqa: BLE001 - any failure means "down", reported, not raised
        checks["database"] = f"error: {type(e).__name__}"
    try:
        cache.set("chairside:healthz", "1", 5)
        checks["cache"] = "ok" if cache.get("chairside:healthz") == "1" else "error: no read-back"
    except Exception as e:  # noqa: BLE001
        checks["cache"] = f"error: {type(e).__name__}"
    healthy = all(v == "ok" for v in checks.values())
    return JsonResponse(
        {"status": "ok" if healthy else "degraded", "checks": checks},
        status=200 if healthy else 503,
    )


def _safe_next(request: HttpRequest, fallback: str) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return fallback


def _finish_sign_in(request: HttpRequest, staff: Staff) -> HttpResponseRedirect:
    login(request, staff, backend=BACKEND)
    access = build_access(staff)
    if access is not None:
        request.session[ACTIVE_CLINIC_SESSION_KEY] = access.clinic.pk
    return redirect(_safe_next(request, reverse("core:home")))


def sign_in(request: HttpRequest) -> HttpResponse:
    """Step one: username or mobile and password. Accounts with TOTP go on to step two."""
    form = SignInForm(request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            staff = staff_check_password(
                login=form.cleaned_data["login"], password=form.cleaned_data["password"]
            )
        except DomainError as e:
            form.add_error(None, str(e.message))
            status = 400
        else:
            if not staff.totp_enabled:
                staff_signed_in(staff=staff)
                return _finish_sign_in(request, staff)
            request.session[PENDING_SIGN_IN_KEY] = staff.pk
            query = urlencode({"next": _safe_next(request, "")})
            return redirect(reverse("core:login_code") + "?" + query)
    return render(
        request,
        "core/login.html",
        {"form": form, "step": "password", "next": _safe_next(request, "")},
        status=status,
    )


def sign_in_code(request: HttpRequest) -> HttpResponse:
    """Step two for accounts with an authenticator app: the 6-digit code."""
    staff_id = request.session.get(PENDING_SIGN_IN_KEY)
    staff = Staff.all_tenants.filter(pk=staff_id, is_active=True).first() if staff_id else None
    if staff is None:
        return redirect("core:login")
    form = OneTimeCodeForm(request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            staff_check_second_factor(staff=staff, otp=form.cleaned_data["otp"])
        except DomainError as e:
            form.add_error("otp", str(e.message))
            status = 400
        else:
            del request.session[PENDING_SIGN_IN_KEY]
            return _finish_sign_in(request, staff)
    return render(
        request,
        "core/login.html",
        {"form": form, "step": "otp", "next": _safe_next(request, "")},
        status=status,
    )


@require_POST
def sign_out(request: HttpRequest) -> HttpResponse:
    logout(request)
    return redirect("core:login")


@require_POST
@console_page()
def switch_clinic(request: ConsoleRequest) -> HttpResponse:
    try:
        clinic_id = int(request.POST.get("clinic", ""))
    except ValueError:
        clinic_id = -1
    if build_access(request.access.staff, clinic_id) is None:
        messages.error(request, _("You have no role in that clinic."))
        return HttpResponse(status=403, content=_("You have no role in that clinic."))
    request.session[ACTIVE_CLINIC_SESSION_KEY] = clinic_id
    return redirect(_safe_next(request, reverse("core:home")))


@console_page()
def home(request: ConsoleRequest) -> HttpResponse:
    recent = list(selectors.audit_entries(clinic_id=request.access.clinic.pk)[:8])
    return render(request, "core/home.html", {"recent": recent})


@console_page("staff.view")
def staff_index(request: ConsoleRequest) -> HttpResponse:
    query = request.GET.get("q", "").strip()
    staff = selectors.staff_list()
    if query:
        staff = staff.filter(display_name__icontains=query) | staff.filter(
            username__icontains=query
        )
    page = paginate(staff, page=page_number(request.GET.get("page")))
    return render(
        request,
        "core/staff.html",
        {"page": page, "q": query, "query": urlencode({"q": query}) if query else ""},
    )


@console_page("audit.view")
def audit_index(request: ConsoleRequest) -> HttpResponse:
    """The audit log. Organization-wide roles see every clinic; others their acting clinic."""
    access = request.access
    action = request.GET.get("action", "")
    if action not in AuditEntry.Action.values:
        action = ""
    spans = access.can("staff.manage")  # the owner's permission set; clinic roles lack it
    entries = selectors.audit_entries(clinic_id=None if spans else access.clinic.pk, action=action)
    page = paginate(entries, page=page_number(request.GET.get("page")))
    return render(
        request,
        "core/audit.html",
        {
            "page": page,
            "action": action,
            "actions": AuditEntry.Action.choices,
            "query": urlencode({"action": action}) if action else "",
        },
    )


@console_page()
def security(request: ConsoleRequest) -> HttpResponse:
    """Turn on a second factor: show the secret, then confirm with a code from the app."""
    staff = request.access.staff
    context: dict[str, Any] = {"enabled": staff.totp_enabled}
    if request.method == "POST" and request.POST.get("step") == "begin":
        context["uri"] = staff_totp_begin(staff=staff)
        context["secret"] = staff.totp_secret
        context["form"] = OneTimeCodeForm()
    elif request.method == "POST" and request.POST.get("step") == "confirm":
        form = OneTimeCodeForm(request.POST)
        if form.is_valid():
            try:
                staff_totp_confirm(staff=staff, code=form.cleaned_data["otp"])
            except DomainError as e:
                form.add_error("otp", str(e.message))
            else:
                messages.success(request, _("Two-step sign-in is on."))
                return redirect("core:security")
        context.update(form=form, secret=staff.totp_secret)
    return render(request, "core/security.html", context)
