"""Deliverers and senders racing each other on PostgreSQL: every message goes out once, and a
dedupe key queues one message however many senders use it at the same moment."""

from __future__ import annotations

from collections import Counter

import pytest
from django.utils import timezone

from chairside.core.tenancy import tenant_scope
from chairside.messaging.models import ChannelType, MessageKind, OutboxMessage
from chairside.messaging.services import DeliveryRun, message_send, outbox_deliver_due
from tests.concurrency import run_concurrently
from tests.messaging.conftest import Chain, Files, shanghai

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

START = shanghai(2030, 3, 12, 9, 30)


def queue_reminder(chain: Chain, i: int, dedupe_key: str | None = None) -> OutboxMessage:
    world = chain.world
    with tenant_scope(world.org, world.clinic1):
        return message_send(
            organization=world.org,
            clinic=world.clinic1,
            channel=ChannelType.SMS,
            recipient=f"139{i:08d}",
            template_code="appointment.reminder",
            kind=MessageKind.NOTIFICATION,
            context={"start": START, "end": START, "doctor_name": "李医生"},
            dedupe_key=dedupe_key,
        )


def test_workers_delivering_at_once_send_each_message_exactly_once(
    chain: Chain, files: Files
) -> None:
    queued = {queue_reminder(chain, i).pk for i in range(40)}
    now = timezone.now()

    runs = run_concurrently(lambda i: outbox_deliver_due(now=now, limit=15), 6)

    assert all(isinstance(r, DeliveryRun) for r in runs), runs
    assert sum(r.sent for r in runs) == 40
    sent_per_message = Counter(line["outbox_id"] for line in files.sms_sent())
    assert set(sent_per_message) == queued
    assert set(sent_per_message.values()) == {1}
    assert set(OutboxMessage.all_tenants.values_list("status", "attempts")) == {("sent", 1)}
    assert outbox_deliver_due(now=now) == DeliveryRun()


def test_senders_racing_with_one_dedupe_key_queue_one_message(chain: Chain) -> None:
    results = run_concurrently(lambda i: queue_reminder(chain, i, "appointment:9:reminder"), 6)

    assert all(isinstance(r, OutboxMessage) for r in results), results
    assert len({r.pk for r in results}) == 1
    assert OutboxMessage.all_tenants.count() == 1
