"""The Celery set-up: the deliverer task, its beat schedule, and the broker chosen by settings."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.utils import timezone

from chairside.celery import app
from chairside.core.tenancy import tenant_scope
from chairside.messaging.models import ChannelType, MessageKind, OutboxMessage
from chairside.messaging.services import message_send
from chairside.messaging.tasks import deliver_due
from tests.messaging.conftest import Chain, Files


def test_the_deliverer_task_sends_due_messages(chain: Chain, files: Files) -> None:
    world = chain.world
    with tenant_scope(world.org):
        message = message_send(
            organization=world.org,
            channel=ChannelType.SMS,
            recipient="13912345678",
            template_code="portal.login_code",
            kind=MessageKind.VERIFICATION,
            context={"code": "246810", "minutes": 10},
            send_after=timezone.now(),
        )

    result = deliver_due.apply().get()

    assert result == {"sent": 1, "retrying": 0, "dead": 0, "held": 0}
    assert OutboxMessage.all_tenants.get(pk=message.pk).status == "sent"
    assert "246810" in files.sms_sent()[0]["text"]


def test_beat_runs_the_deliverer_every_30_seconds() -> None:
    schedule = app.conf.beat_schedule

    assert schedule["messaging.deliver_due"] == {"task": "messaging.deliver_due", "schedule": 30.0}
    assert "messaging.deliver_due" in app.tasks


def celery_conf(tmp_path: Path, setting: str, **env: str) -> str:
    """A Celery setting as a fresh process configures it from these environment variables."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("CHAIRSIDE_")}
    clean.update(env, CHAIRSIDE_VAR_DIR=str(tmp_path), DJANGO_SETTINGS_MODULE="chairside.settings")
    code = f"from chairside.celery import app; print(app.conf.{setting})"
    done = subprocess.run(  # noqa: S603 - our own interpreter and code
        [sys.executable, "-c", code], env=clean, capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, "filesystem://localhost/"),
        ({"CHAIRSIDE_REDIS_URL": "redis://cache:6379/0"}, "redis://cache:6379/0"),
        (
            {
                "CHAIRSIDE_REDIS_URL": "redis://cache:6379/0",
                "CHAIRSIDE_CELERY_BROKER_URL": "amqp://rabbit//",
            },
            "amqp://rabbit//",
        ),
    ],
)
def test_the_broker_is_the_configured_one_else_redis_else_local_files(
    tmp_path: Path, env: dict[str, str], expected: str
) -> None:
    assert celery_conf(tmp_path, "broker_url", **env) == expected


def test_the_local_file_broker_keeps_its_queue_under_the_var_directory(tmp_path: Path) -> None:
    options = celery_conf(tmp_path, "broker_transport_options")

    assert str(tmp_path / "celery" / "queue") in options
    assert (tmp_path / "celery" / "queue").is_dir()
