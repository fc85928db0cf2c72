"""Channels and guards that tests configure through settings."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import ClassVar

from chairside.messaging.channels import Delivery
from chairside.messaging.guards import Hold
from chairside.messaging.models import OutboxMessage


class ScriptedChannel:
    """Answers with `answers` in turn (an exception is raised), then accepts everything."""

    answers: ClassVar[list[Delivery | Exception]] = []
    calls: ClassVar[list[int]] = []

    def send(self, message: OutboxMessage) -> Delivery:
        ScriptedChannel.calls.append(message.pk)
        answer = ScriptedChannel.answers.pop(0) if ScriptedChannel.answers else None
        if isinstance(answer, Exception):
            raise answer
        return answer or Delivery.sent(f"scripted-{message.pk}")


def no_quota_left(message: OutboxMessage, now: datetime) -> Hold | None:
    return Hold(reason="no SMS left") if message.channel == "sms" else None


def daily_limit_reached(message: OutboxMessage, now: datetime) -> Hold | None:
    return Hold(reason="daily limit", until=now + timedelta(hours=12))
