"""What may hold a message back just before it is sent: marketing SMS only by day, and
(N2, not built yet) SMS quotas and per-number daily limits.

A guard is a callable `guard(message, now) -> Hold | None`. None lets the message through;
`Hold(until=...)` defers it without counting an attempt; `Hold(until=None)` gives it up.
Guards run inside the deliverer's claim transaction, in the message's tenant scope, with
`message.clinic` and `message.organization` loaded. The built-in quiet-hours guard always
runs; settings.CHAIRSIDE_MESSAGING_SEND_GUARDS adds more (dotted paths), in order.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.utils.module_loading import import_string

from chairside.core.models import Clinic, Organization
from chairside.messaging.models import ChannelType, MessageKind, OutboxMessage


@dataclass(frozen=True)
class Hold:
    reason: str
    until: datetime | None = None  # None: give the message up


class SendGuard(Protocol):
    def __call__(self, message: OutboxMessage, now: datetime) -> Hold | None: ...


def local_zone(*, organization: Organization, clinic: Clinic | None) -> ZoneInfo:
    """The zone the recipient lives in: the clinic's, else the organization's."""
    name = clinic.timezone if clinic is not None else organization.timezone
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(settings.TIME_ZONE)


def marketing_sms_allowed_at(at: datetime, zone: ZoneInfo) -> datetime:
    """`at` if marketing SMS may go out then, else the start of the next allowed hours."""
    first_hour, end_hour = settings.CHAIRSIDE_MESSAGING_MARKETING_SMS_HOURS
    local = at.astimezone(zone)
    if first_hour <= local.hour < end_hour:
        return at
    day = local.date() if local.hour < first_hour else local.date() + timedelta(days=1)
    return datetime.combine(day, time(first_hour), tzinfo=zone)


def is_marketing_sms(message: OutboxMessage) -> bool:
    return message.channel == ChannelType.SMS and message.kind == MessageKind.MARKETING


def marketing_sms_quiet_hours(message: OutboxMessage, now: datetime) -> Hold | None:
    """Carriers and the rules allow marketing SMS only in the daytime (08:00-20:00)."""
    if not is_marketing_sms(message):
        return None
    zone = local_zone(organization=message.organization, clinic=message.clinic)
    allowed = marketing_sms_allowed_at(now, zone)
    return None if allowed == now else Hold(reason="quiet hours", until=allowed)


def send_guards() -> list[SendGuard]:
    extra: list[SendGuard] = [import_string(p) for p in settings.CHAIRSIDE_MESSAGING_SEND_GUARDS]
    return [marketing_sms_quiet_hours, *extra]
