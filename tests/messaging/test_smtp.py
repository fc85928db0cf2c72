"""E-mail through a real SMTP server (aiosmtpd on a free local port) and Django's SMTP backend:
the message arrives as rendered; refusals are permanent (5xx) or retried (4xx, no server)."""

from __future__ import annotations

import email
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.policy import default as default_policy
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from django.test import override_settings
from django.utils import timezone

from chairside.core.tenancy import tenant_scope
from chairside.messaging.models import ChannelType, MessageKind, MessageTemplate, OutboxMessage
from chairside.messaging.services import message_send, outbox_deliver_due
from tests.messaging.conftest import Chain, shanghai

REFUSED = "gone@example.com"  # 550: the mailbox does not exist
GREYLISTED = "later@example.com"  # 450: try again later


@dataclass
class Mailbox:
    """What the SMTP server received."""

    messages: list[tuple[list[str], EmailMessage]] = field(default_factory=list)

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: Any
    ) -> str:
        if address == REFUSED:
            return "550 5.1.1 No such user"
        if address == GREYLISTED:
            return "450 4.2.0 Greylisted, try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.content if isinstance(envelope.content, bytes) else b""
        parsed = email.message_from_bytes(content, policy=default_policy)
        assert isinstance(parsed, EmailMessage)
        self.messages.append((list(envelope.rcpt_tos), parsed))
        return "250 Message accepted"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture
def smtp_server() -> Iterator[tuple[Mailbox, int]]:
    mailbox = Mailbox()
    port = free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        with override_settings(
            EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
            EMAIL_HOST="127.0.0.1",
            EMAIL_PORT=port,
            EMAIL_USE_TLS=False,
            EMAIL_USE_SSL=False,
            EMAIL_HOST_USER="",
            EMAIL_HOST_PASSWORD="",
            EMAIL_TIMEOUT=10,
            DEFAULT_FROM_EMAIL="微笑齿科 <noreply@smile.example.com>",
        ):
            yield mailbox, port
    finally:
        controller.stop()


def send_confirmation(chain: Chain, recipient: str) -> OutboxMessage:
    world = chain.world
    start = shanghai(2030, 3, 12, 9, 30)
    with tenant_scope(world.org, world.clinic1):
        MessageTemplate.objects.get_or_create(
            code="appointment.confirmation",
            channel=ChannelType.EMAIL,
            defaults={
                "subject": "{clinic_name}：预约成功",
                "body": "{patient_name}您好，您已预约{start}，医生：{doctor_name}。",
            },
        )
        return message_send(
            organization=world.org,
            clinic=world.clinic1,
            channel=ChannelType.EMAIL,
            recipient=recipient,
            template_code="appointment.confirmation",
            kind=MessageKind.NOTIFICATION,
            context={"start": start, "end": start, "doctor_name": "李医生"},
            patient=chain.patient,
        )


def test_an_email_arrives_at_the_smtp_server_as_rendered(
    chain: Chain, smtp_server: tuple[Mailbox, int]
) -> None:
    mailbox, _port = smtp_server
    message = send_confirmation(chain, "zhang@example.com")

    run = outbox_deliver_due(now=timezone.now())

    assert run.sent == 1
    [(recipients, received)] = mailbox.messages
    assert recipients == ["zhang@example.com"]
    assert received["Subject"] == "Downtown Clinic：预约成功"
    assert received["From"] == "微笑齿科 <noreply@smile.example.com>"
    assert received.get_content().strip() == "张三您好，您已预约2030年3月12日 09:30，医生：李医生。"
    sent = OutboxMessage.all_tenants.get(pk=message.pk)
    assert sent.status == "sent"
    assert sent.provider_message_id == received["Message-ID"]


def test_a_mailbox_that_does_not_exist_is_given_up(
    chain: Chain, smtp_server: tuple[Mailbox, int]
) -> None:
    mailbox, _port = smtp_server
    message = send_confirmation(chain, REFUSED)

    outbox_deliver_due(now=timezone.now())

    dead = OutboxMessage.all_tenants.get(pk=message.pk)
    assert dead.status == "dead"
    assert "No such user" in dead.last_error
    assert mailbox.messages == []


def test_a_temporary_refusal_is_retried(chain: Chain, smtp_server: tuple[Mailbox, int]) -> None:
    message = send_confirmation(chain, GREYLISTED)

    outbox_deliver_due(now=timezone.now())

    failed = OutboxMessage.all_tenants.get(pk=message.pk)
    assert failed.status == "failed"
    assert "Greylisted" in failed.last_error


def test_an_unreachable_server_is_retried(chain: Chain) -> None:
    message = send_confirmation(chain, "zhang@example.com")

    with override_settings(
        EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
        EMAIL_HOST="127.0.0.1",
        EMAIL_PORT=free_port(),  # nothing listens there
        EMAIL_TIMEOUT=5,
    ):
        outbox_deliver_due(now=timezone.now())

    failed = OutboxMessage.all_tenants.get(pk=message.pk)
    assert failed.status == "failed"
    assert "ConnectionRefusedError" in failed.last_error
