"""Named permissions, the default roles made of them, and the check used by pages and API."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

# Every permission the product knows, by action. Later apps add theirs here so that one
# list shows everything a role can be granted.
PERMISSIONS: dict[str, object] = {
    "patients.view": _("View patients"),
    "patients.create": _("Register patients"),
    "patients.update": _("Edit patients"),
    "patients.archive": _("Archive patients"),
    "patients.view_id_number": _("See full resident ID numbers"),
    "patients.tag": _("Tag patients"),
    "patients.family": _("Link family members"),
    "patients.referrals": _("View referrals"),
    "tags.manage": _("Manage tags"),
    "segments.manage": _("Manage segments"),
    "clinics.view": _("View clinics"),
    "staff.view": _("View staff"),
    "staff.manage": _("Manage staff and roles"),
    "audit.view": _("View the audit log"),
    "schedule.view": _("View the clinic's appointments and schedules"),
    "schedule.view_own": _("View one's own appointments and schedule"),
    "schedule.book": _("Book, confirm, check in, move and cancel appointments"),
    "schedule.treat": _("Start and complete treatment"),
    "schedule.manage": _("Manage shifts, leave, chairs and appointment types"),
    "schedule.analytics": _("View booking analytics (no-shows, lead time, utilisation)"),
    "messaging.view": _("View the messages sent by the clinic"),
    "messaging.view_all": _("View the messages sent by every clinic"),
    "messaging.cancel": _("Cancel messages not sent yet"),
    "messaging.templates": _("Edit message templates"),
}

_PATIENT_DESK = [
    "patients.view",
    "patients.create",
    "patients.update",
    "patients.tag",
    "patients.family",
    "patients.referrals",
    "clinics.view",
    "staff.view",
]

# code -> (name, spans the organization, permissions)
DEFAULT_ROLES: dict[str, tuple[object, bool, list[str]]] = {
    "boss": (_("Owner"), True, list(PERMISSIONS)),
    "hq_operator": (
        _("HQ operator"),
        True,
        [
            *_PATIENT_DESK,
            "tags.manage",
            "segments.manage",
            "audit.view",
            "messaging.view",
            "messaging.view_all",
            "messaging.cancel",
            "messaging.templates",
            "schedule.view",
            "schedule.analytics",
        ],
    ),
    "clinic_manager": (
        _("Clinic manager"),
        False,
        [
            *_PATIENT_DESK,
            "patients.archive",
            "patients.view_id_number",
            "tags.manage",
            "segments.manage",
            "audit.view",
            "messaging.view",
            "messaging.cancel",
            "schedule.view",
            "schedule.book",
            "schedule.manage",
            "schedule.analytics",
        ],
    ),
    "front_desk": (
        _("Front desk"),
        False,
        [
            *_PATIENT_DESK,
            "patients.view_id_number",
            "messaging.view",
            "messaging.cancel",
            "schedule.view",
            "schedule.book",
        ],
    ),
    "doctor": (
        _("Doctor"),
        False,
        [
            "patients.view",
            "patients.update",
            "patients.tag",
            "clinics.view",
            "staff.view",
            "schedule.view_own",
            "schedule.treat",
        ],
    ),
    "nurse": (
        _("Nurse"),
        False,
        ["patients.view", "clinics.view", "staff.view", "schedule.view"],
    ),
    "consultant": (_("Consultant"), False, [*_PATIENT_DESK]),
    "marketing": (
        _("Marketing"),
        True,
        [
            "patients.view",
            "patients.tag",
            "patients.referrals",
            "tags.manage",
            "segments.manage",
            "clinics.view",
            "messaging.view",
            "messaging.view_all",
            "messaging.templates",
        ],
    ),
    "inventory_clerk": (_("Inventory clerk"), False, ["clinics.view", "staff.view"]),
}
