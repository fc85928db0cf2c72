"""What every console page needs: the navigation and the acting clinic."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

# (url name, label, icon, permission; "a|b": either will do). Modules add their entry here
# when they land, so the navigation stays in one place and in the order a clinic works
# through its day.
NAVIGATION: list[tuple[str, Any, str, str]] = [
    ("core:home", _("Workbench"), "home", ""),
    ("scheduling:today", _("Today's work"), "clock", "schedule.view|schedule.view_own"),
    ("scheduling:calendar", _("Schedule"), "calendar", "schedule.view|schedule.view_own"),
    ("scheduling:recalls", _("Recalls"), "phone", "schedule.view"),
    ("scheduling:analytics", _("Booking analytics"), "chart", "schedule.analytics"),
    ("scheduling:reminders", _("Appointment reminders"), "bell", "schedule.manage"),
    ("billing:cashier", _("Cashier"), "cash", "billing.charge|billing.view"),
    ("billing:refunds", _("Refunds"), "undo", "billing.refund|billing.refund_approve"),
    ("billing:close", _("Daily close"), "lock", "billing.close|billing.view_all"),
    ("clinical:plan_changes", _("Plan changes"), "check", "plans.approve"),
    ("membership:members", _("Members"), "star", "membership.view"),
    ("promotions:coupons", _("Coupons"), "ticket", "promotions.view"),
    ("esign:mine", _("Awaiting my signature"), "pen", "esign.view"),
    ("patients:list", _("Patients"), "users", "patients.view"),
    ("forms:instances", _("Forms and consents"), "file", "forms.view"),
    ("esign:documents", _("Signed documents"), "file", "esign.view"),
    ("patients:referrals", _("Referrals"), "share", "patients.referrals"),
    ("patients:segments", _("Segments"), "filter", "segments.manage"),
    ("billing:catalogue", _("Price list"), "list", "billing.catalogue|billing.view"),
    (
        "billing:bonus_rules",
        _("Top-up promotions"),
        "gift",
        "billing.stored_value|billing.catalogue",
    ),
    ("clinical:templates", _("Record templates"), "file", "clinical.templates"),
    ("forms:templates", _("Form templates"), "edit", "forms.templates"),
    ("membership:tiers", _("Member tiers"), "award", "membership.manage"),
    ("promotions:coupon_templates", _("Coupon templates"), "tag", "promotions.manage"),
    ("promotions:flash_sale_list", _("Flash sales"), "zap", "promotions.view"),
    ("esign:certificates", _("Certificates"), "key", "esign.manage"),
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
        if permission and not any(access.can(p) for p in permission.split("|")):
            continue
        url = reverse(url_name)
        active = path == url if url == "/" else path.startswith(url)
        items.append({"url": url, "label": label, "icon": icon, "active": active})
    # The most specific entry wins: /schedule/today/ is "Today's work", not "Schedule".
    current = max((i for i in items if i["active"]), key=lambda i: len(i["url"]), default=None)
    for item in items:
        item["active"] = item is current
    return {"access": access, "navigation": items}
