"""Renewal reminders (M6): members whose card expires within the window get one message per
expiry date through messaging (event "membership.renewal", SMS to the patient's mobile).

The event and its default text belong to messaging (messaging.models.EVENTS and
messaging.defaults.DEFAULT_TEMPLATES, with the variables in RENEWAL_EVENT_VARIABLES). While
messaging does not know the event, nothing is sent; a member without a mobile, or an
organization without an active template, is skipped and tried again the next day.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from django.db import transaction
from django.db.models import F

from chairside.core.errors import ValidationFailed
from chairside.core.models import Organization
from chairside.membership.models import Member
from chairside.membership.selectors.members import RENEWAL_WINDOW_DAYS
from chairside.messaging.services import message_send

RENEWAL_EVENT = "membership.renewal"
# What the event's text may use besides the common patient / clinic variables.
RENEWAL_EVENT_VARIABLES = frozenset({"card_number", "tier_name", "expires_on"})


@dataclass
class ReminderRun:
    sent: int = 0
    skipped: int = 0


def renewal_reminders_send(
    *, organization: Organization, today: date, window_days: int = RENEWAL_WINDOW_DAYS
) -> ReminderRun:
    """Queue a reminder for every active member expiring within `window_days` who has not
    had one for this expiry date (idempotent: also deduplicated by the outbox key)."""
    run = ReminderRun()
    due = (
        Member.objects.filter(
            organization=organization,
            status=Member.Status.ACTIVE,
            expires_on__gte=today,
            expires_on__lte=today + timedelta(days=window_days),
        )
        .exclude(reminded_for=F("expires_on"))
        .select_related("patient", "tier", "enrolled_clinic")
        .order_by("expires_on", "pk")
    )
    for member in due:
        if not member.patient.phone:
            run.skipped += 1
            continue
        try:
            with transaction.atomic():
                message_send(
                    organization=organization,
                    channel="sms",
                    recipient=member.patient.phone,
                    template_code=RENEWAL_EVENT,
                    kind="notification",
                    context={
                        "card_number": member.card_number,
                        "tier_name": member.tier.name,
                        "expires_on": member.expires_on.isoformat(),
                    },
                    clinic=member.enrolled_clinic,
                    patient=member.patient,
                    dedupe_key=f"{RENEWAL_EVENT}:{member.pk}:{member.expires_on.isoformat()}",
                )
                Member.objects.filter(pk=member.pk).update(reminded_for=member.expires_on)
        except ValidationFailed:
            # No active template (or an invalid mobile): try again tomorrow.
            run.skipped += 1
            continue
        run.sent += 1
    return run
