"""Every write of the message centre: templates, sending through the outbox, delivery.

Senders never talk to a channel: `message_send` renders the text and writes an outbox row
in the sender's transaction (so a rolled-back booking sends nothing), and the deliverer,
`outbox_deliver_due`, run by the worker every 30 s, sends what is due and records the
result, retrying with backoff.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from celery import current_app
from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _g
from django.utils.translation import gettext_lazy as _

from chairside.core.audit import audit_record, changed_fields, snapshot
from chairside.core.errors import DomainError, NotFound, ValidationFailed
from chairside.core.models import AuditEntry, Clinic, Organization, Staff
from chairside.core.phone import normalize_mobile
from chairside.core.tenancy import TenantScopeError, current_tenant, tenant_scope
from chairside.messaging import templating
from chairside.messaging.channels import Delivery, channel_for
from chairside.messaging.defaults import DEFAULT_TEMPLATES
from chairside.messaging.errors import MessagingErrorCode
from chairside.messaging.guards import (
    Hold,
    SendGuard,
    is_marketing_sms,
    local_zone,
    marketing_sms_allowed_at,
    send_guards,
)
from chairside.messaging.models import (
    COMMON_VARIABLES,
    EVENTS,
    ChannelType,
    InAppMessage,
    Language,
    MessageKind,
    MessageTemplate,
    OutboxMessage,
)
from chairside.patients.models import Patient

logger = logging.getLogger(__name__)

Status = OutboxMessage.Status

_OPENID = re.compile(r"[A-Za-z0-9_-]{6,64}")
_IN_APP_RECIPIENT = re.compile(r"(staff|patient):([1-9][0-9]{0,17})")
_ERROR_LENGTH = 1000
_DEDUPE_KEY_LENGTH = OutboxMessage._meta.get_field("dedupe_key").max_length or 0
_SUBJECT_LENGTH = OutboxMessage._meta.get_field("subject").max_length or 0


# --- templates ------------------------------------------------------------------------


def _default_sign(organization: Organization) -> str:
    sign = re.sub(r"[【】\[\]\s]", "", organization.name)[: templating.SMS_SIGN_MAX]
    if len(sign) < templating.SMS_SIGN_MIN:
        raise ValidationFailed(
            _("Enter the SMS signature registered with the carrier: 2 to 18 characters."),
            field="sms_sign",
        )
    return sign


@transaction.atomic
def default_templates_install(
    *, organization: Organization, sms_sign: str | None = None
) -> list[MessageTemplate]:
    """Give an organization the standard Chinese templates it lacks (run it again safely).

    The SMS signature defaults to the organization's name; it must be the one registered
    with the carrier before real SMS can go out.
    """
    sign = sms_sign if sms_sign is not None else _default_sign(organization)
    created = []
    with tenant_scope(organization):
        for code, channel, body in DEFAULT_TEMPLATES:
            exists = MessageTemplate.objects.filter(
                clinic__isnull=True, code=code, channel=channel, language=Language.ZH_HANS
            ).exists()
            if not exists:
                created.append(
                    MessageTemplate.objects.create(
                        organization=organization,
                        code=code,
                        channel=channel,
                        language=Language.ZH_HANS,
                        sms_sign=sign if channel == ChannelType.SMS else "",
                        body=body,
                    )
                )
    return created


TEMPLATE_EDITABLE_FIELDS = ("subject", "body", "sms_sign", "provider_template_id", "is_active")


@transaction.atomic
def template_update(
    *, actor: Staff | None, template: MessageTemplate, **changes: Any
) -> MessageTemplate:
    """Edit a template's text or settings; a text that could not be sent is refused whole."""
    unknown = set(changes) - set(TEMPLATE_EDITABLE_FIELDS)
    if unknown:
        raise TypeError(f"unexpected template fields: {sorted(unknown)}")
    template = MessageTemplate.objects.select_for_update().get(pk=template.pk)
    before = snapshot(template)
    for key, value in changes.items():
        setattr(template, key, value.strip() if key == "sms_sign" else value)
    after = snapshot(template)
    fields = [f for f in changed_fields(before, after) if f != "updated_at"]
    if not fields:
        return template
    template.updated_by = actor
    template.save()
    audit_record(
        action=AuditEntry.Action.UPDATE,
        instance=template,
        actor=actor,
        clinic=template.clinic,
        before={k: before[k] for k in fields},
        after={k: after[k] for k in fields},
        summary=_g("Message template %(code)s edited") % {"code": template.code},
    )
    return template


# --- sending --------------------------------------------------------------------------


def _require_same_organization(organization: Organization, *objects: Any) -> None:
    if current_tenant().organization_id != organization.pk:
        raise TenantScopeError("message_send for an organization other than the current one")
    if any(o is not None and o.organization_id != organization.pk for o in objects):
        raise NotFound(_("Not found."))


def _invalid_recipient(message: Any) -> ValidationFailed:
    return ValidationFailed(message, field="recipient", code=MessagingErrorCode.INVALID_RECIPIENT)


def _recipient(channel: str, recipient: str) -> str:
    """The recipient in the form its channel stores, or a 400 naming the field."""
    recipient = recipient.strip()
    if channel == ChannelType.SMS:
        try:
            return normalize_mobile(recipient)
        except DomainError as e:
            raise _invalid_recipient(e.message) from e
    if channel == ChannelType.EMAIL:
        try:
            validate_email(recipient)
        except DjangoValidationError as e:
            raise _invalid_recipient(_("Enter a valid e-mail address.")) from e
        return recipient
    if channel == ChannelType.WECHAT:
        if not _OPENID.fullmatch(recipient):
            raise _invalid_recipient(_("Enter the recipient's WeChat openid."))
        return recipient
    if channel == ChannelType.IN_APP:
        match = _IN_APP_RECIPIENT.fullmatch(recipient)
        found = False
        if match is not None:
            people = Staff.objects if match[1] == "staff" else Patient.objects
            found = people.filter(pk=int(match[2])).exists()
        if not found:
            raise _invalid_recipient(_("Send in-app messages to staff:<id> or patient:<id>."))
        return recipient
    raise TypeError(f"unknown channel {channel!r}")


def _values(
    *,
    organization: Organization,
    clinic: Clinic | None,
    patient: Patient | None,
    context: Mapping[str, Any],
    event_variables: frozenset[str],
    language: str,
) -> dict[str, str]:
    """Every variable of the event as text: the caller's, else what the tenant knows."""
    unknown = set(context) - event_variables
    if unknown:
        raise TypeError(f"context has variables the event does not declare: {sorted(unknown)}")
    missing = event_variables - COMMON_VARIABLES - set(context)
    if missing:
        raise TypeError(f"context lacks the event's variables: {sorted(missing)}")
    known = {
        "organization_name": organization.name,
        "clinic_name": clinic.name if clinic else organization.name,
        "clinic_phone": clinic.phone if clinic else "",
        "clinic_address": clinic.address if clinic else "",
        "patient_name": patient.name if patient else "",
    }
    zone = local_zone(organization=organization, clinic=clinic)
    values = {k: v for k, v in known.items() if k in event_variables}
    for key, value in context.items():
        values[key] = templating.format_value(value, tz=zone, language=language)
    return values


def _template_for(
    *, code: str, channel: str, language: str, clinic: Clinic | None
) -> MessageTemplate | None:
    """The active template to send: the clinic's own before the organization's, the
    language asked for before the default language."""
    candidates = MessageTemplate.objects.filter(
        Q(clinic__isnull=True) | Q(clinic=clinic),
        code=code,
        channel=channel,
        language__in={language, settings.LANGUAGE_CODE},
        is_active=True,
    )
    return min(
        candidates, key=lambda t: (t.language != language, t.clinic_id is None), default=None
    )


def _deliver_soon() -> None:
    """Wake the deliverer now rather than at the next beat: a login code must not wait
    30 seconds. If the broker is down the beat still delivers, so never fail the sender."""
    try:
        current_app.signature("messaging.deliver_due").apply_async(retry=False)
    except Exception:  # whatever the broker raises: the outbox row is safe, the beat sends it
        logger.warning("could not wake the message deliverer", exc_info=True)


@transaction.atomic
def message_send(
    *,
    organization: Organization,
    channel: str,
    recipient: str,
    template_code: str,
    kind: str,
    context: Mapping[str, Any] | None = None,
    clinic: Clinic | None = None,
    patient: Patient | None = None,
    language: str | None = None,
    dedupe_key: str | None = None,
    send_after: datetime | None = None,
    expires_at: datetime | None = None,
) -> OutboxMessage:
    """Render the template for `template_code` and queue the message in the outbox.

    `context` gives the event's variables (see models.EVENTS); patient, clinic and
    organization names, phone and address are filled in. Datetimes are shown in the
    clinic's time zone. A message with a `dedupe_key` already used in the organization is
    not queued again: the existing row is returned. Marketing SMS are held to the daytime;
    verification codes are given up after `expires_at` (default: 10 minutes) and sent at
    once. Run inside the organization's tenant scope.

    Raises ValidationFailed when there is no active template or the recipient is not valid
    for the channel; TypeError when the context does not match the event (a caller's bug).
    """
    _require_same_organization(organization, clinic, patient)
    if dedupe_key is not None and not 0 < len(dedupe_key) <= _DEDUPE_KEY_LENGTH:
        raise ValueError(f"a dedupe key has 1 to {_DEDUPE_KEY_LENGTH} characters")
    if dedupe_key is not None:
        existing = OutboxMessage.objects.filter(dedupe_key=dedupe_key).first()
        if existing is not None:
            return existing
    event = EVENTS.get(template_code)
    if channel not in ChannelType.values:
        raise TypeError(f"unknown channel {channel!r}")
    if event is None or event.kind != kind:
        raise TypeError(f"{template_code!r} is not an event of kind {kind!r}")
    recipient = _recipient(channel, recipient)
    language = language or settings.LANGUAGE_CODE
    template = _template_for(code=template_code, channel=channel, language=language, clinic=clinic)
    if template is None:
        raise ValidationFailed(
            _("There is no active %(channel)s template for %(event)s.")
            % {"channel": ChannelType(channel).label, "event": event.label},
            code=MessagingErrorCode.NO_TEMPLATE,
        )
    values = _values(
        organization=organization,
        clinic=clinic,
        patient=patient,
        context=context or {},
        event_variables=event.variables,
        language=template.language,
    )
    now = timezone.now()
    message = OutboxMessage(
        organization=organization,
        clinic=clinic,
        patient=patient,
        channel=channel,
        recipient=recipient,
        template_code=template_code,
        language=template.language,
        kind=kind,
        # Long names can push a full subject line past the column; the start is what shows.
        subject=templating.render(template.subject, values)[:_SUBJECT_LENGTH],
        body=templating.render(template.body, values),
        params=values,
        sms_sign=template.sms_sign if channel == ChannelType.SMS else "",
        provider_template_id=template.provider_template_id,
        next_attempt_at=max(now, send_after or now),
        expires_at=expires_at,
        dedupe_key=dedupe_key,
        created_at=now,
    )
    if channel == ChannelType.SMS:
        message.segments = templating.sms_segments(message.text)
    if kind == MessageKind.VERIFICATION and expires_at is None:
        ttl = timedelta(seconds=settings.CHAIRSIDE_MESSAGING_VERIFICATION_TTL_SECONDS)
        message.expires_at = message.next_attempt_at + ttl
    if is_marketing_sms(message):
        message.next_attempt_at = marketing_sms_allowed_at(
            message.next_attempt_at, local_zone(organization=organization, clinic=clinic)
        )
    try:
        with transaction.atomic():
            message.save()
    except IntegrityError:
        # Another transaction queued the same key first: theirs is the message.
        if dedupe_key is None:
            raise
        return OutboxMessage.objects.get(dedupe_key=dedupe_key)
    if kind == MessageKind.VERIFICATION and message.next_attempt_at <= now:
        transaction.on_commit(_deliver_soon)
    return message


def _cancel(message: OutboxMessage, actor: Staff | None) -> OutboxMessage:
    before = message.status
    message.advance(Status.CANCELLED)
    message.save(update_fields=["status", "updated_at"])
    audit_record(
        action=AuditEntry.Action.UPDATE,
        instance=message,
        actor=actor,
        clinic=message.clinic,
        before={"status": before},
        after={"status": message.status},
        summary=_g("Message cancelled before sending"),
    )
    return message


@transaction.atomic
def message_cancel(*, actor: Staff | None, message: OutboxMessage) -> OutboxMessage:
    """Stop a message that has not gone out yet. Cancelling twice changes nothing."""
    message = OutboxMessage.objects.select_for_update().get(pk=message.pk)
    if message.status == Status.CANCELLED:
        return message
    if message.status not in (Status.QUEUED, Status.FAILED):
        raise ValidationFailed(
            _("This message can no longer be cancelled: it is %(status)s.")
            % {"status": message.get_status_display()},
            code=MessagingErrorCode.NOT_CANCELLABLE,
        )
    return _cancel(message, actor)


@transaction.atomic
def message_cancel_by_dedupe_key(
    *, organization: Organization, dedupe_key: str, actor: Staff | None = None
) -> OutboxMessage | None:
    """Cancel the message queued under `dedupe_key` if it has not gone out (e.g. the reminder
    of an appointment that was cancelled). Returns the message, whatever its status, or None.
    """
    _require_same_organization(organization)
    message = OutboxMessage.objects.select_for_update().filter(dedupe_key=dedupe_key).first()
    if message is None or message.status not in (Status.QUEUED, Status.FAILED):
        return message
    return _cancel(message, actor)


@transaction.atomic
def in_app_message_read(*, message: InAppMessage) -> InAppMessage:
    if message.read_at is None:
        message.read_at = timezone.now()
        message.save(update_fields=["read_at"])
    return message


# --- delivery -------------------------------------------------------------------------


@dataclass
class DeliveryRun:
    """What one run of the deliverer did, for the task's log line."""

    sent: int = 0
    retrying: int = 0
    dead: int = 0
    held: int = 0


def retry_delay(attempts: int) -> timedelta:
    """How long to wait after the `attempts`-th failed try: 1, 5, 25, 125 minutes... capped."""
    seconds = settings.CHAIRSIDE_MESSAGING_RETRY_FIRST_SECONDS * (
        settings.CHAIRSIDE_MESSAGING_RETRY_FACTOR ** max(0, attempts - 1)
    )
    return timedelta(seconds=min(seconds, settings.CHAIRSIDE_MESSAGING_RETRY_MAX_SECONDS))


def _give_up(message: OutboxMessage, error: str) -> None:
    message.advance(Status.DEAD)
    message.last_error = error[:_ERROR_LENGTH]


def _hold(message: OutboxMessage, guards: list[SendGuard], now: datetime) -> Hold | None:
    with tenant_scope(message.organization_id, message.clinic_id):
        for guard in guards:
            hold = guard(message, now)
            if hold is not None:
                return hold
    return None


def _outbox_claim(*, now: datetime, limit: int, run: DeliveryRun) -> list[OutboxMessage]:
    """Take up to `limit` due messages for this worker and mark them sending.

    On PostgreSQL, rows another worker is claiming are skipped, not waited for, so any
    number of workers share the outbox without sending a message twice. SQLite ignores
    the row lock, but its writers queue up (IMMEDIATE transactions), to the same effect.
    """
    guards = send_guards()
    lease = timedelta(seconds=settings.CHAIRSIDE_MESSAGING_SENDING_LEASE_SECONDS)
    max_attempts = settings.CHAIRSIDE_MESSAGING_MAX_ATTEMPTS
    claimed: list[OutboxMessage] = []
    with transaction.atomic():
        due = list(
            OutboxMessage.all_tenants.filter(status__in=OutboxMessage.PENDING)
            .filter(next_attempt_at__lte=now)
            .select_related("organization", "clinic")
            .select_for_update(skip_locked=True, of=("self",))
            .order_by("next_attempt_at", "id")[:limit]
        )
        for message in due:
            if message.status == Status.SENDING:
                # Its worker died mid-send (the lease ran out): that attempt failed.
                message.advance(Status.FAILED)
                message.last_error = "the worker stopped while sending"
            if message.expires_at is not None and message.expires_at <= now:
                _give_up(message, "expired before it could be sent")
                run.dead += 1
            elif message.attempts >= max_attempts:
                _give_up(message, message.last_error or "too many attempts")
                run.dead += 1
            elif hold := _hold(message, guards, now):
                if hold.until is None:
                    _give_up(message, hold.reason)
                    run.dead += 1
                else:
                    message.next_attempt_at = hold.until
                    run.held += 1
            else:
                message.advance(Status.SENDING)
                message.attempts += 1
                message.next_attempt_at = now + lease
                claimed.append(message)
            message.updated_at = timezone.now()
        OutboxMessage.all_tenants.bulk_update(
            due, ["status", "attempts", "next_attempt_at", "last_error", "updated_at"]
        )
    return claimed


def _outbox_record(
    message: OutboxMessage, delivery: Delivery, *, now: datetime, run: DeliveryRun
) -> None:
    """Write what the channel answered; only if this worker still holds the message."""
    claimed_attempt = message.attempts
    if delivery.accepted:
        message.advance(Status.SENT)
        message.sent_at = now
        message.provider_message_id = delivery.provider_message_id[:100]
        message.last_error = ""
        run.sent += 1
    elif delivery.permanent or message.attempts >= settings.CHAIRSIDE_MESSAGING_MAX_ATTEMPTS:
        _give_up(message, delivery.error)
        run.dead += 1
    else:
        retry_at = now + retry_delay(message.attempts)
        if is_marketing_sms(message):
            zone = local_zone(organization=message.organization, clinic=message.clinic)
            retry_at = marketing_sms_allowed_at(retry_at, zone)
        if message.expires_at is not None and retry_at >= message.expires_at:
            _give_up(message, delivery.error)
            run.dead += 1
        else:
            message.advance(Status.FAILED)
            message.next_attempt_at = retry_at
            message.last_error = delivery.error[:_ERROR_LENGTH]
            run.retrying += 1
    updated = OutboxMessage.all_tenants.filter(
        pk=message.pk, status=Status.SENDING, attempts=claimed_attempt
    ).update(
        status=message.status,
        next_attempt_at=message.next_attempt_at,
        last_error=message.last_error,
        provider_message_id=message.provider_message_id,
        sent_at=message.sent_at,
        updated_at=timezone.now(),
    )
    if not updated:
        logger.warning("outbox message %s was taken over while being sent", message.pk)


def outbox_deliver_due(*, now: datetime | None = None, limit: int = 100) -> DeliveryRun:
    """Send every message due at `now` (default: the clock), across all organizations.

    Each message goes out through its channel in its own tenant scope, outside any
    transaction (a slow provider holds no locks), and its result is recorded: sent;
    failed and retried after `retry_delay`; or dead after a permanent error, expiry or the
    last attempt. Safe to run in several workers at once.
    """
    now = now or timezone.now()
    run = DeliveryRun()
    for message in _outbox_claim(now=now, limit=limit, run=run):
        with tenant_scope(message.organization_id, message.clinic_id):
            try:
                delivery = channel_for(message.channel).send(message)
            except Exception as e:  # one broken send must not stop the rest
                logger.exception("sending outbox message %s failed", message.pk)
                delivery = Delivery.retry(f"{type(e).__name__}: {e}")
            _outbox_record(message, delivery, now=now, run=run)
    return run
