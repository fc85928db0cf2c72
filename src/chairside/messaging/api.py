"""API of the message centre: the outbox (what was sent, to whom, and whether it arrived),
message templates, and the caller's own in-app messages.

Staff see the messages of the clinic they act in; with messaging.view_all, those of every
clinic. Another organization's objects are 404, like missing ones.
"""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Query, Router

from chairside.core.access import Access
from chairside.core.api_auth import AUTH_ERRORS, LOOKUP_ERRORS, access_of
from chairside.core.models import Clinic
from chairside.core.schemas import PathId
from chairside.messaging import selectors, services
from chairside.messaging.schemas import (
    InAppMessageOut,
    InboxPage,
    InboxQuery,
    MessageTemplateOut,
    MessageTemplatePage,
    MessageTemplateQuery,
    MessageTemplateUpdateIn,
    OutboxMessageOut,
    OutboxPage,
    OutboxQuery,
)

router = Router(tags=["messaging"])


def _visible_clinic(access: Access) -> Clinic | None:
    """The clinic whose messages the caller may see, or None for the whole organization."""
    return None if access.can("messaging.view_all") else access.clinic


# --- outbox ---------------------------------------------------------------------------


@router.get("/messaging/outbox", response={200: OutboxPage, **AUTH_ERRORS}, summary="Messages sent")
def outbox_list(request: HttpRequest, filters: Query[OutboxQuery]) -> OutboxPage:
    """Messages of the acting clinic, newest first; `all_clinics` for the whole organization
    (needs messaging.view_all)."""
    access = access_of(request)
    access.require("messaging.view")
    if filters.all_clinics:
        access.require("messaging.view_all")
    page = selectors.paginate(
        selectors.outbox_list(
            clinic=None if filters.all_clinics else access.clinic,
            status=filters.status,
            channel=filters.channel,
            patient_id=filters.patient,
        ),
        page=filters.page,
        page_size=filters.page_size,
    )
    return OutboxPage.of(
        page,
        [OutboxMessageOut.of(m) for m in page.items],
    )


@router.get(
    "/messaging/outbox/{int:message_id}",
    response={200: OutboxMessageOut, **LOOKUP_ERRORS},
    summary="A message sent",
)
def outbox_detail(request: HttpRequest, message_id: PathId) -> OutboxMessageOut:
    access = access_of(request)
    access.require("messaging.view")
    return OutboxMessageOut.of(
        selectors.get_outbox_message(message_id=message_id, clinic=_visible_clinic(access))
    )


@router.post(
    "/messaging/outbox/{int:message_id}/cancel",
    response={200: OutboxMessageOut, **LOOKUP_ERRORS},
    summary="Cancel a message not sent yet",
)
def outbox_cancel(request: HttpRequest, message_id: PathId) -> OutboxMessageOut:
    """Only queued messages and those waiting for a retry can be cancelled (400 otherwise)."""
    access = access_of(request)
    access.require("messaging.cancel")
    message = selectors.get_outbox_message(message_id=message_id, clinic=_visible_clinic(access))
    message = services.message_cancel(actor=access.staff, message=message)
    return OutboxMessageOut.of(
        selectors.get_outbox_message(message_id=message.pk, clinic=_visible_clinic(access))
    )


# --- templates ------------------------------------------------------------------------


@router.get(
    "/messaging/templates",
    response={200: MessageTemplatePage, **AUTH_ERRORS},
    summary="Message templates",
)
def template_list(
    request: HttpRequest, filters: Query[MessageTemplateQuery]
) -> MessageTemplatePage:
    access_of(request).require("messaging.view")
    page = selectors.paginate(
        selectors.template_list(
            code=filters.code, channel=filters.channel, language=filters.language
        ),
        page=filters.page,
        page_size=filters.page_size,
    )
    return MessageTemplatePage.of(
        page,
        [MessageTemplateOut.of(t) for t in page.items],
    )


@router.patch(
    "/messaging/templates/{int:template_id}",
    response={200: MessageTemplateOut, **LOOKUP_ERRORS},
    summary="Edit a message template",
)
def template_update(
    request: HttpRequest, template_id: PathId, payload: MessageTemplateUpdateIn
) -> MessageTemplateOut:
    """A text with unknown variables, an SMS without its signature, or a marketing SMS
    without an opt-out line is refused (400, every problem by field)."""
    access = access_of(request)
    access.require("messaging.templates")
    template = selectors.get_template(template_id=template_id)
    services.template_update(actor=access.staff, template=template, **payload.changes())
    return MessageTemplateOut.of(selectors.get_template(template_id=template_id))


# --- the caller's in-app messages -----------------------------------------------------


@router.get("/messaging/inbox", response={200: InboxPage, **AUTH_ERRORS}, summary="My messages")
def inbox_list(request: HttpRequest, filters: Query[InboxQuery]) -> InboxPage:
    """The caller's own in-app messages, newest first."""
    access = access_of(request)
    page = selectors.paginate(
        selectors.inbox_list(staff=access.staff, unread=filters.unread),
        page=filters.page,
        page_size=filters.page_size,
    )
    return InboxPage.of(
        page,
        [InAppMessageOut.of(m) for m in page.items],
    )


@router.post(
    "/messaging/inbox/{int:message_id}/read",
    response={200: InAppMessageOut, **LOOKUP_ERRORS},
    summary="Mark one of my messages read",
)
def inbox_read(request: HttpRequest, message_id: PathId) -> InAppMessageOut:
    access = access_of(request)
    message = selectors.get_in_app_message(message_id=message_id, staff=access.staff)
    return InAppMessageOut.of(services.in_app_message_read(message=message))
