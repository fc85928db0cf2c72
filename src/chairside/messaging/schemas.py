"""API schemas of the message centre."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ninja import Schema
from pydantic import Field

from chairside.core.schemas import ObjectId, PageOut, PageQuery, Text
from chairside.messaging.models import (
    EVENTS,
    ChannelType,
    InAppMessage,
    Language,
    MessageKind,
    MessageTemplate,
    OutboxMessage,
)

# --- input ----------------------------------------------------------------------------


class OutboxQuery(PageQuery):
    status: OutboxMessage.Status | None = Field(None, description="Only messages in this state.")
    channel: ChannelType | None = None
    patient: ObjectId | None = Field(None, description="Only messages about this patient.")
    all_clinics: bool = Field(
        False,
        description="Messages of every clinic, not only the acting one (messaging.view_all).",
    )


class MessageTemplateQuery(PageQuery):
    code: Text = Field("", max_length=64, description="Event, e.g. appointment.reminder.")
    channel: ChannelType | None = None
    language: Language | None = None


class MessageTemplateUpdateIn(Schema):
    """Only the fields sent are changed."""

    subject: Text | None = Field(None, max_length=200)
    body: Text | None = Field(None, max_length=1000, description="Variables as {name}.")
    sms_sign: Text | None = Field(None, max_length=18, description="SMS signature (签名).")
    provider_template_id: Text | None = Field(None, max_length=64)
    is_active: bool | None = None

    def changes(self) -> dict[str, Any]:
        """Keyword arguments for `template_update`; null clears a text, keeps is_active."""
        changes = self.model_dump(exclude_unset=True)
        if changes.get("is_active", False) is None:
            del changes["is_active"]
        return {k: "" if v is None else v for k, v in changes.items()}


class InboxQuery(PageQuery):
    unread: bool = Field(False, description="Only messages not read yet.")


# --- output ---------------------------------------------------------------------------


class Ref(Schema):
    id: int
    name: str


class OutboxMessageOut(Schema):
    id: int
    clinic: Ref | None
    patient: Ref | None
    channel: ChannelType
    recipient: str
    template_code: str
    language: str
    kind: MessageKind
    subject: str
    body: str = Field(description="As sent; verification codes are masked.")
    segments: int = Field(description="SMS billed for this message.")
    status: OutboxMessage.Status
    attempts: int
    next_attempt_at: datetime | None = Field(description="When it is tried next, if pending.")
    expires_at: datetime | None
    last_error: str
    provider_message_id: str
    sent_at: datetime | None
    created_at: datetime

    @staticmethod
    def of(message: OutboxMessage) -> OutboxMessageOut:
        body = message.body
        code = message.params.get("code") if message.kind == MessageKind.VERIFICATION else None
        if code:
            # Whoever reads the outbox must not be able to sign in as the patient.
            body = body.replace(str(code), "*" * len(str(code)))
        return OutboxMessageOut(
            id=message.pk,
            clinic=Ref(id=message.clinic.pk, name=message.clinic.name) if message.clinic else None,
            patient=(
                Ref(id=message.patient.pk, name=message.patient.name) if message.patient else None
            ),
            channel=ChannelType(message.channel),
            recipient=message.recipient,
            template_code=message.template_code,
            language=message.language,
            kind=MessageKind(message.kind),
            subject=message.subject,
            body=body,
            segments=message.segments,
            status=OutboxMessage.Status(message.status),
            attempts=message.attempts,
            next_attempt_at=(
                message.next_attempt_at if message.status in OutboxMessage.PENDING else None
            ),
            expires_at=message.expires_at,
            last_error=message.last_error,
            provider_message_id=message.provider_message_id,
            sent_at=message.sent_at,
            created_at=message.created_at,
        )


class OutboxPage(PageOut):
    items: list[OutboxMessageOut]


class MessageTemplateOut(Schema):
    id: int
    clinic: Ref | None = Field(description="The clinic of an override, or null for everyone.")
    code: str
    event: str = Field(description="The event's name, in the request's language.")
    variables: list[str] = Field(description="The variables the text may use.")
    channel: ChannelType
    language: Language
    kind: MessageKind
    sms_sign: str
    provider_template_id: str
    subject: str
    body: str
    is_active: bool
    updated_at: datetime

    @staticmethod
    def of(template: MessageTemplate) -> MessageTemplateOut:
        event = EVENTS.get(template.code)
        clinic = template.clinic
        return MessageTemplateOut(
            id=template.pk,
            clinic=Ref(id=clinic.pk, name=clinic.name) if clinic else None,
            code=template.code,
            event=str(event.label) if event else template.code,
            variables=sorted(event.variables) if event else [],
            channel=ChannelType(template.channel),
            language=Language(template.language),
            kind=MessageKind(template.kind),
            sms_sign=template.sms_sign,
            provider_template_id=template.provider_template_id,
            subject=template.subject,
            body=template.body,
            is_active=template.is_active,
            updated_at=template.updated_at,
        )


class MessageTemplatePage(PageOut):
    items: list[MessageTemplateOut]


class InAppMessageOut(Schema):
    id: int
    subject: str
    body: str
    created_at: datetime
    read_at: datetime | None

    @staticmethod
    def of(message: InAppMessage) -> InAppMessageOut:
        return InAppMessageOut.model_validate(message, from_attributes=True)


class InboxPage(PageOut):
    items: list[InAppMessageOut]
