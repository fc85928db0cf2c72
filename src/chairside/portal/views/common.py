"""What every portal page shares: the organization from the address, the tenant scope, the
patient's sign-in kept apart from staff sign-in, the language, and errors as pages.

A patient's sign-in is an entry in the session under PORTAL_SESSION_KEY, one per
organization: {organization id: {"phone": ..., "patients": [ids], "since": ...}}. It never
touches Django's auth (request.user stays the staff member, or anonymous), and the session
key is rotated when it is written, so a session id planted before sign-in is worthless.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.cache import add_never_cache_headers
from django.utils.http import url_has_allowed_host_and_scheme

from chairside.core.errors import NotFound
from chairside.core.models import Organization
from chairside.core.tenancy import tenant_scope
from chairside.portal import selectors
from chairside.portal.selectors import Household
from chairside.portal.services import SignIn

PORTAL_SESSION_KEY = "chairside_portal"
PENDING_SESSION_KEY = "chairside_portal_pending"
# The portal speaks Chinese unless the visitor chose another language with the switch;
# a phone's Accept-Language alone does not change it.
PORTAL_LANGUAGE = "zh-hans"


class PortalRequest(HttpRequest):
    """A portal request (for type checkers): the organization, and who is signed in."""

    organization: Organization
    household: Household | None


class SignedInRequest(PortalRequest):
    household: Household


def portal_language(request: HttpRequest) -> str:
    chosen = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME, "")
    return chosen if chosen in dict(settings.LANGUAGES) else PORTAL_LANGUAGE


# --- the sign-in in the session ---------------------------------------------------------


def _entries(request: HttpRequest, key: str) -> dict[str, Any]:
    value = request.session.get(key)
    return value if isinstance(value, dict) else {}


def _household(request: HttpRequest, organization: Organization) -> Household | None:
    entry = _entries(request, PORTAL_SESSION_KEY).get(str(organization.pk))
    if not isinstance(entry, dict):
        return None
    try:
        phone, ids = str(entry["phone"]), [int(i) for i in entry["patients"]]
    except (KeyError, TypeError, ValueError):
        return None
    found = selectors.household(phone=phone, patient_ids=ids)
    if found is None:  # their mobile changed or they were archived: signed out
        sign_out(request, organization)
    return found


def sign_in(request: HttpRequest, who: SignIn) -> None:
    request.session.cycle_key()
    entries = _entries(request, PORTAL_SESSION_KEY)
    entries[str(who.organization_id)] = {
        "phone": who.phone,
        "patients": list(who.patient_ids),
        "since": timezone.now().isoformat(),
    }
    request.session[PORTAL_SESSION_KEY] = entries
    pending = _entries(request, PENDING_SESSION_KEY)
    pending.pop(str(who.organization_id), None)
    request.session[PENDING_SESSION_KEY] = pending


def sign_out(request: HttpRequest, organization: Organization) -> None:
    entries = _entries(request, PORTAL_SESSION_KEY)
    if entries.pop(str(organization.pk), None) is not None:
        request.session[PORTAL_SESSION_KEY] = entries
        request.session.cycle_key()


def pending_phone(request: HttpRequest, organization: Organization) -> dict[str, Any] | None:
    """The mobile a code was asked for, between the two sign-in steps."""
    entry = _entries(request, PENDING_SESSION_KEY).get(str(organization.pk))
    return entry if isinstance(entry, dict) and "phone" in entry else None


def set_pending_phone(request: HttpRequest, organization: Organization, phone: str) -> None:
    pending = _entries(request, PENDING_SESSION_KEY)
    pending[str(organization.pk)] = {"phone": phone, "sent_at": timezone.now().isoformat()}
    request.session[PENDING_SESSION_KEY] = pending


# --- addresses --------------------------------------------------------------------------


def portal_url(request: PortalRequest, name: str, *args: Any, **query: Any) -> str:
    url = reverse(f"portal:{name}", args=[request.organization.slug, *args])
    query = {k: v for k, v in query.items() if v not in (None, "", [])}
    return f"{url}?{urlencode(query, doseq=True)}" if query else url


def safe_next(request: PortalRequest, value: str | None) -> str | None:
    """`value` if it is an address of this organization's portal, else None."""
    prefix = reverse("portal:home", args=[request.organization.slug])
    if (
        value
        and value.startswith(prefix)
        and url_has_allowed_host_and_scheme(
            value, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        )
    ):
        return value
    return None


# --- the decorator ------------------------------------------------------------------------


def _not_found(request: HttpRequest, organization: Organization | None) -> HttpResponse:
    return render(request, "portal/404.html", {"organization": organization}, status=404)


def portal_page(
    *, sign_in_required: bool = True
) -> Callable[[Callable[..., HttpResponse]], Callable[..., HttpResponse]]:
    """Resolve the organization of `/p/<org_slug>/`, run the view in its tenant scope, time
    zone and the portal's language, and send visitors who are not signed in to sign in
    first (coming back afterwards). NotFound anywhere is the portal's 404 page, the same for
    another family's booking as for one that does not exist."""

    def decorate(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @functools.wraps(view)
        def wrapper(request: HttpRequest, org_slug: str, *args: Any, **kwargs: Any) -> HttpResponse:
            language = portal_language(request)
            with translation.override(language):
                response = _run(request, org_slug, view, sign_in_required, args, kwargs)
            response.headers["Content-Language"] = language
            add_never_cache_headers(response)  # pages of one patient, on shared phones too
            return response

        return wrapper

    return decorate


def _run(
    request: HttpRequest,
    org_slug: str,
    view: Callable[..., HttpResponse],
    sign_in_required: bool,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
) -> HttpResponse:
    try:
        organization = selectors.organization_by_slug(slug=org_slug)
    except NotFound:
        return _not_found(request, None)
    with tenant_scope(organization), timezone.override(organization.timezone):
        portal_request: PortalRequest = request  # type: ignore[assignment]
        portal_request.organization = organization
        portal_request.household = _household(request, organization)
        if sign_in_required and portal_request.household is None:
            login = reverse("portal:login", args=[organization.slug])
            return redirect(f"{login}?{urlencode({'next': request.get_full_path()})}")
        try:
            return view(portal_request, *args, **kwargs)
        except NotFound:
            return _not_found(request, organization)
