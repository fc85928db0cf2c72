"""A real Celery worker (another process) takes the deliverer task from Redis and sends a
queued message: the set-up `make run` and production rely on, end to end.

Needs PostgreSQL (the worker shares the test database from its own process) and Redis as
the broker (CHAIRSIDE_REDIS_URL); skipped when Redis cannot be reached.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from django.db import connection

from chairside.celery import app
from chairside.core.tenancy import tenant_scope
from chairside.messaging.models import ChannelType, MessageKind, OutboxMessage
from chairside.messaging.services import message_send
from chairside.messaging.tasks import deliver_due
from tests.messaging.conftest import Chain, shanghai

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def redis_broker() -> str:
    url = str(app.conf.broker_url)
    if not url.startswith("redis://"):
        pytest.skip("a real worker needs Redis as the broker: set CHAIRSIDE_REDIS_URL")
    try:
        redis.Redis.from_url(url, socket_connect_timeout=2).ping()
    except redis.RedisError:
        pytest.skip(f"Redis at {url} cannot be reached")
    return url


def shared_database_url() -> str:
    db = connection.settings_dict
    auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


@pytest.fixture
def worker(redis_broker: str, tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A worker process on a queue of its own (no other worker can take the test's task)."""
    queue = f"chairside-test-{uuid.uuid4().hex[:12]}"
    var_dir = tmp_path / "worker"
    env = {
        **os.environ,
        "CHAIRSIDE_DATABASE_URL": shared_database_url(),
        "CHAIRSIDE_CELERY_BROKER_URL": redis_broker,
        "CHAIRSIDE_VAR_DIR": str(var_dir),
    }
    log = (tmp_path / "worker.log").open("w")
    process = subprocess.Popen(  # noqa: S603 - our own interpreter and Celery
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "chairside",
            "worker",
            "--pool=solo",
            f"--queues={queue}",
            f"--hostname={queue}@localhost",
            "--without-mingle",
            "--without-gossip",
            "--loglevel=INFO",
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        yield queue, var_dir
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def test_a_worker_delivers_a_queued_message(chain: Chain, worker: tuple[str, Path]) -> None:
    queue, var_dir = worker
    world = chain.world
    start = shanghai(2030, 3, 12, 9, 30)
    with tenant_scope(world.org, world.clinic1):
        message = message_send(
            organization=world.org,
            clinic=world.clinic1,
            channel=ChannelType.SMS,
            recipient="13912345678",
            template_code="appointment.reminder",
            kind=MessageKind.NOTIFICATION,
            context={"start": start, "end": start, "doctor_name": "李医生"},
            patient=chain.patient,
        )

    deliver_due.apply_async(queue=queue)

    deadline = time.monotonic() + 60
    status = "queued"
    while status != "sent" and time.monotonic() < deadline:
        time.sleep(0.2)
        status = OutboxMessage.all_tenants.get(pk=message.pk).status
    assert status == "sent", (var_dir.parent / "worker.log").read_text()
    [line] = [json.loads(x) for x in (var_dir / "sms.jsonl").read_text().splitlines()]
    assert line["outbox_id"] == message.pk
    assert line["text"].startswith("【微笑齿科】张三您好")
