"""Reads of the message centre, scoped to the current organization (and clinic where asked)."""

from __future__ import annotations

from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from chairside.core.errors import NotFound
from chairside.core.models import Clinic, Staff
from chairside.core.pagination import Page as Page  # re-exported for the API
from chairside.core.pagination import paginate as paginate
from chairside.messaging.models import InAppMessage, MessageTemplate, OutboxMessage


def template_list(
    *, code: str = "", channel: str | None = None, language: str | None = None
) -> QuerySet[MessageTemplate]:
    templates = MessageTemplate.objects.select_related("clinic")
    if code:
        templates = templates.filter(code=code)
    if channel:
        templates = templates.filter(channel=channel)
    if language:
        templates = templates.filter(language=language)
    return templates.order_by("code", "channel", "language", "clinic_id", "id")


def get_template(*, template_id: int) -> MessageTemplate:
    template = MessageTemplate.objects.select_related("clinic").filter(pk=template_id).first()
    if template is None:
        raise NotFound(_("Message template not found."))
    return template


def outbox_list(
    *,
    clinic: Clinic | None,
    status: str | None = None,
    channel: str | None = None,
    patient_id: int | None = None,
) -> QuerySet[OutboxMessage]:
    """Messages newest first: those of `clinic`, or of the whole organization (None)."""
    messages = OutboxMessage.objects.select_related("clinic", "patient")
    if clinic is not None:
        messages = messages.filter(clinic=clinic)
    if status:
        messages = messages.filter(status=status)
    if channel:
        messages = messages.filter(channel=channel)
    if patient_id is not None:
        messages = messages.filter(patient_id=patient_id)
    return messages.order_by("-created_at", "-id")


def get_outbox_message(*, message_id: int, clinic: Clinic | None) -> OutboxMessage:
    """One message of `clinic` (or of the organization): the same 404 if missing or not ours."""
    messages = OutboxMessage.objects.select_related("clinic", "patient")
    if clinic is not None:
        messages = messages.filter(clinic=clinic)
    message = messages.filter(pk=message_id).first()
    if message is None:
        raise NotFound(_("Message not found."))
    return message


def inbox_list(*, staff: Staff, unread: bool = False) -> QuerySet[InAppMessage]:
    """A staff member's in-app messages, newest first."""
    messages = InAppMessage.objects.filter(staff=staff)
    if unread:
        messages = messages.filter(read_at__isnull=True)
    return messages.order_by("-created_at", "-id")


def get_in_app_message(*, message_id: int, staff: Staff) -> InAppMessage:
    message = InAppMessage.objects.filter(pk=message_id, staff=staff).first()
    if message is None:
        raise NotFound(_("Message not found."))
    return message
