"""Where messages leave the building: one channel per medium, chosen by settings.

A channel's `send(message)` answers with a `Delivery`: accepted (with the provider's id), or
refused with an error that is either permanent (a wrong number or address, a recipient who
blocked us: retrying cannot help) or retryable (a timeout, the provider's rate limit). A
channel should not raise; an exception that escapes is treated as retryable.

SMS and WeChat cannot reach a carrier from here, so only fakes exist, and their names say
so. A real adapter is a class with the same `send` and must send what the providers take:

- SMS through Aliyun (dysmsapi `SendSms`) or Tencent Cloud (sms `SendSms`): the phone
  (`PhoneNumbers` / `PhoneNumberSet`, +86 prefix for Tencent), the signature registered with
  the carrier (`SignName` = `message.sms_sign`), the template registered with the provider
  (`TemplateCode` / `TemplateId` = `message.provider_template_id`) and its variables
  (`TemplateParam` as JSON / `TemplateParamSet` in order = `message.params`). The carrier
  builds the text from its approved copy of the template; our rendered `message.text` is
  what that copy says. `BizId` / `SerialNo` is the provider id. Permanent: invalid number,
  signature or template not approved, number blacklisted or unsubscribed; retryable:
  throttling (`isv.BUSINESS_LIMIT_CONTROL`, `LimitExceeded`), timeouts, 5xx.
- WeChat template message (`POST /cgi-bin/message/template/send` with the official
  account's access token): `{"touser": openid, "template_id": provider_template_id,
  "data": {name: {"value": value}}}` from `message.params`; `msgid` is the provider id.
  Permanent: 40003 (invalid openid), 43004 (the user does not follow the account), 40037
  (invalid template id); retryable: -1 (system busy), 45009 (API limit).
"""

from __future__ import annotations

import fcntl
import json
import logging
import smtplib
import uuid
from dataclasses import dataclass
from email.utils import make_msgid, parseaddr
from pathlib import Path
from typing import Any, Protocol

from django.conf import settings
from django.core.mail import EmailMessage
from django.utils import timezone
from django.utils.module_loading import import_string

from chairside.messaging.models import InAppMessage, OutboxMessage

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Delivery:
    """What a channel answers for one message."""

    accepted: bool
    provider_message_id: str = ""
    error: str = ""
    permanent: bool = False

    @classmethod
    def sent(cls, provider_message_id: str) -> Delivery:
        return cls(accepted=True, provider_message_id=provider_message_id)

    @classmethod
    def retry(cls, error: str) -> Delivery:
        return cls(accepted=False, error=error)

    @classmethod
    def give_up(cls, error: str) -> Delivery:
        return cls(accepted=False, error=error, permanent=True)


class Channel(Protocol):
    def send(self, message: OutboxMessage) -> Delivery: ...


def channel_for(channel_type: str) -> Channel:
    """The channel configured for `channel_type` (settings.CHAIRSIDE_MESSAGING_CHANNELS)."""
    channel: Channel = import_string(settings.CHAIRSIDE_MESSAGING_CHANNELS[channel_type])()
    return channel


def _append_json_line(path: Path, record: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    line = json.dumps(record, ensure_ascii=False) + "\n"
    with path.open("a", encoding="utf-8") as f:
        # Workers in several processes append to the same file; whole lines only.
        fcntl.flock(f, fcntl.LOCK_EX)
        f.write(line)


def _sms_record(message: OutboxMessage, provider_id: str) -> dict[str, Any]:
    return {
        "id": provider_id,
        "at": timezone.now().isoformat(),
        "phone": message.recipient,
        "sign": message.sms_sign,
        "template_code": message.template_code,
        "provider_template_id": message.provider_template_id,
        "params": message.params,
        "text": message.text,
        "segments": message.segments,
        "kind": message.kind,
        "organization_id": message.organization_id,
        "outbox_id": message.pk,
    }


class FileSmsChannel:
    """FAKE SMS for development and tests: each SMS becomes one JSON line in
    settings.CHAIRSIDE_SMS_FILE (phone, sign, template, params, text, segments)."""

    def send(self, message: OutboxMessage) -> Delivery:
        provider_id = f"fake-sms-{uuid.uuid4().hex}"
        _append_json_line(Path(settings.CHAIRSIDE_SMS_FILE), _sms_record(message, provider_id))
        return Delivery.sent(provider_id)


class ConsoleSmsChannel:
    """FAKE SMS that only writes each SMS to the log."""

    def send(self, message: OutboxMessage) -> Delivery:
        provider_id = f"fake-sms-{uuid.uuid4().hex}"
        logger.info("FAKE SMS to %s: %s", message.recipient, message.text)
        return Delivery.sent(provider_id)


class FakeWeChatChannel:
    """FAKE WeChat template messages: each becomes one JSON line in
    settings.CHAIRSIDE_WECHAT_FILE, shaped like the request WeChat's API takes."""

    def send(self, message: OutboxMessage) -> Delivery:
        provider_id = f"fake-wechat-{uuid.uuid4().hex}"
        record = {
            "id": provider_id,
            "at": timezone.now().isoformat(),
            "touser": message.recipient,
            "template_id": message.provider_template_id,
            "data": {name: {"value": value} for name, value in message.params.items()},
            "text": message.text,
            "outbox_id": message.pk,
        }
        _append_json_line(Path(settings.CHAIRSIDE_WECHAT_FILE), record)
        return Delivery.sent(provider_id)


def _permanent_smtp_refusal(error: smtplib.SMTPException) -> bool:
    """5xx answers mean this address will never take the message; 4xx mean later."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return all(code >= 500 for code, _text in error.recipients.values())
    if isinstance(error, smtplib.SMTPResponseException) and not isinstance(
        error, smtplib.SMTPSenderRefused | smtplib.SMTPAuthenticationError
    ):
        return error.smtp_code >= 500
    # Our own sender or credentials refused: fix the settings; the message can wait.
    return False


class EmailChannel:
    """E-mail through Django's configured e-mail backend (SMTP in production)."""

    def send(self, message: OutboxMessage) -> Delivery:
        domain = parseaddr(settings.DEFAULT_FROM_EMAIL)[1].rpartition("@")[2] or "localhost"
        message_id = make_msgid(domain=domain)
        email = EmailMessage(
            subject=message.subject,
            body=message.body,
            to=[message.recipient],
            headers={"Message-ID": message_id},
        )
        try:
            email.send()
        except smtplib.SMTPException as e:
            error = f"{type(e).__name__}: {e}"
            return Delivery.give_up(error) if _permanent_smtp_refusal(e) else Delivery.retry(error)
        except OSError as e:  # the server cannot be reached
            return Delivery.retry(f"{type(e).__name__}: {e}")
        return Delivery.sent(message_id)


class InAppChannel:
    """Stores the message for its recipient (staff:<id> or patient:<id>) to read."""

    def send(self, message: OutboxMessage) -> Delivery:
        who, _sep, ident = message.recipient.partition(":")
        recipient = {"staff_id" if who == "staff" else "patient_id": int(ident)}
        # get_or_create: a message retried after its worker died is stored once.
        stored, _created = InAppMessage.objects.get_or_create(
            outbox=message,
            defaults={
                "organization_id": message.organization_id,
                "clinic_id": message.clinic_id,
                "subject": message.subject,
                "body": message.body,
                **recipient,
            },
        )
        return Delivery.sent(f"in-app-{stored.pk}")
