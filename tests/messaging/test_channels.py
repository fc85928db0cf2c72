"""The channels: the fake SMS file developers read, the fake WeChat request, the log-only SMS,
and the choice of channel by settings."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from django.utils import timezone
from pytest_django.fixtures import Settings

from chairside.core.tenancy import tenant_scope
from chairside.messaging.channels import (
    ConsoleSmsChannel,
    FakeWeChatChannel,
    FileSmsChannel,
    channel_for,
)
from chairside.messaging.models import ChannelType, MessageKind, OutboxMessage
from chairside.messaging.services import message_send, outbox_deliver_due
from tests.messaging.conftest import Chain, Files, shanghai

START = shanghai(2030, 3, 12, 9, 30)
CONTEXT = {"start": START, "end": START + timedelta(hours=1), "doctor_name": "李医生"}


def queue(chain: Chain, channel: str, recipient: str) -> OutboxMessage:
    world = chain.world
    with tenant_scope(world.org, world.clinic1):
        return message_send(
            organization=world.org,
            clinic=world.clinic1,
            channel=channel,
            recipient=recipient,
            template_code="appointment.confirmation",
            kind=MessageKind.NOTIFICATION,
            context=CONTEXT,
            patient=chain.patient,
        )


def test_the_sms_file_holds_one_json_line_per_sms(chain: Chain, files: Files) -> None:
    first = queue(chain, ChannelType.SMS, "13912345678")
    second = queue(chain, ChannelType.SMS, "+86 139-0000-1111")

    outbox_deliver_due(now=timezone.now())

    lines = files.sms_sent()
    assert [line["outbox_id"] for line in sorted(lines, key=lambda x: x["outbox_id"])] == [
        first.pk,
        second.pk,
    ]
    line = next(line for line in lines if line["outbox_id"] == first.pk)
    assert line["phone"] == "13912345678"
    assert line["sign"] == "微笑齿科"
    assert line["template_code"] == "appointment.confirmation"
    assert line["params"]["patient_name"] == "张三"
    assert line["params"]["start"] == "2030年3月12日 09:30"
    assert line["text"] == (
        "【微笑齿科】张三您好，您已预约2030年3月12日 09:30在Downtown Clinic就诊。"
        "如需改约请致电021-64000000。"
    )
    assert line["segments"] == 1
    assert line["kind"] == "notification"
    assert line["organization_id"] == chain.world.org.pk
    assert line["id"] == OutboxMessage.all_tenants.get(pk=first.pk).provider_message_id


def test_the_fake_wechat_channel_writes_the_request_wechat_takes(
    chain: Chain, files: Files
) -> None:
    message = queue(chain, ChannelType.WECHAT, "oAbC-123_xyz")

    outbox_deliver_due(now=timezone.now())

    [request] = files.wechat_sent()
    assert request["touser"] == "oAbC-123_xyz"
    assert request["data"]["doctor_name"] == {"value": "李医生"}
    assert request["data"]["start"] == {"value": "2030年3月12日 09:30"}
    assert request["outbox_id"] == message.pk
    assert OutboxMessage.all_tenants.get(pk=message.pk).status == "sent"


def test_the_console_sms_only_logs(
    chain: Chain, files: Files, caplog: pytest.LogCaptureFixture
) -> None:
    message = queue(chain, ChannelType.SMS, "13912345678")
    caplog.set_level(logging.INFO, logger="chairside.messaging.channels")

    delivery = ConsoleSmsChannel().send(message)

    assert delivery.accepted
    assert "FAKE SMS to 13912345678: 【微笑齿科】张三您好" in caplog.text
    assert files.sms_sent() == []


def test_settings_choose_the_channel(settings: Settings) -> None:
    assert isinstance(channel_for(ChannelType.SMS), FileSmsChannel)
    assert isinstance(channel_for(ChannelType.WECHAT), FakeWeChatChannel)

    settings.CHAIRSIDE_MESSAGING_CHANNELS = {
        **settings.CHAIRSIDE_MESSAGING_CHANNELS,
        "sms": "chairside.messaging.channels.ConsoleSmsChannel",
    }

    assert isinstance(channel_for(ChannelType.SMS), ConsoleSmsChannel)
