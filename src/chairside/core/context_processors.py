"""What every console page needs: the navigation and the acting clinic."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

# (url name, label, icon, permission). Modules add their entry here when they land, so the
# navigation stays in one place and in the order a clinic works through its day.
NAVIGATION: list[tuple[str, Any, str, str]] = [
    ("core:home", _("Workbench"), "home", ""),
    ("patients:list", _("Patients"), "users", "patients.view"),
    ("patients:referrals", _("Referrals"), "share", "patients.referrals"),
    ("patients:segments", _("Segments"), "filter", "segments.manage"),
    ("core:staff", _("Staff"), "id", "staff.view"),
    ("core:audit", _("Audit log"), "shield", "audit.view"),
]


def console(request: HttpRequest) -> dict[str, Any]:
    access = getattr(request, "access", None)
    if access is None:
        return {"access": None, "navigation": []}
    path = request.path
    items = []
    for url_name, label, icon, permission in NAVIGATION:
        if permission and not access.can(permission):
            continue
        url = reverse(url_name)
        active = path == url if url == "/" else path.startswith(url)
        items.append({"url": url, "label": label, "icon": icon, "active": active})
    return {"access": access, "navigation": items}
