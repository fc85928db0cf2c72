"""Doctors' calendar feeds: create (which rotates the old link), and revoke."""

from __future__ import annotations

import secrets

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from chairside.core.audit import audit_record, snapshot
from chairside.core.errors import ValidationFailed
from chairside.core.models import AuditEntry, Staff
from chairside.scheduling.models import CalendarFeed
from chairside.scheduling.services.common import lock_staff, require_current_organization

# Stands in for the token in the audit log.
REDACTED = "*" * 3


def _audit_feed(action: str, feed: CalendarFeed, *, actor: Staff | None, summary: str) -> None:
    # The token is the feed's only key: it never goes into the audit log.
    after = snapshot(feed)
    after["token"] = REDACTED
    audit_record(
        action=action, instance=feed, actor=actor, clinic=None, after=after, summary=summary
    )


def _revoke_active(doctor: Staff, *, actor: Staff | None) -> None:
    for feed in CalendarFeed.objects.filter(doctor=doctor, revoked_at__isnull=True):
        feed.revoked_at = timezone.now()
        feed.save(update_fields=["revoked_at"])
        _audit_feed(
            AuditEntry.Action.UPDATE,
            feed,
            actor=actor,
            summary=gettext("Calendar feed revoked: %(doctor)s") % {"doctor": doctor},
        )


@transaction.atomic
def calendar_feed_create(*, actor: Staff | None, doctor: Staff) -> CalendarFeed:
    """A new feed for `doctor`; any feed they had stops working (rotation)."""
    require_current_organization(doctor)
    if not doctor.is_active:
        raise ValidationFailed(_("This staff member is no longer active."), field="doctor_id")
    lock_staff(doctor)
    _revoke_active(doctor, actor=actor)
    feed = CalendarFeed.objects.create(
        doctor=doctor, token=secrets.token_urlsafe(32), created_by=actor
    )
    _audit_feed(
        AuditEntry.Action.CREATE,
        feed,
        actor=actor,
        summary=gettext("Calendar feed created: %(doctor)s") % {"doctor": doctor},
    )
    return feed


@transaction.atomic
def calendar_feed_revoke(*, actor: Staff | None, feed: CalendarFeed) -> CalendarFeed:
    """The feed's link stops working at once; revoking twice changes nothing."""
    require_current_organization(feed)
    feed = CalendarFeed.objects.select_for_update().get(pk=feed.pk)
    if feed.revoked_at is None:
        feed.revoked_at = timezone.now()
        feed.save(update_fields=["revoked_at"])
        _audit_feed(
            AuditEntry.Action.UPDATE,
            feed,
            actor=actor,
            summary=gettext("Calendar feed revoked: %(doctor)s") % {"doctor": feed.doctor},
        )
    return feed
