"""Fixtures of the message centre: default templates in both organizations, a patient, and
fake SMS / WeChat files in the test's own directory."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from pytest_django.fixtures import Settings

from chairside.core.tenancy import tenant_scope
from chairside.messaging.services import default_templates_install
from chairside.patients.models import Patient
from chairside.patients.services import patient_create
from tests.conftest import World

SHANGHAI = ZoneInfo("Asia/Shanghai")


def shanghai(*args: int) -> datetime:
    """A moment given as Shanghai wall-clock time: datetime(2026, 11, 25, 9, 0)."""
    return datetime(*args, tzinfo=SHANGHAI)  # type: ignore[misc]


@dataclass
class Files:
    sms: Path
    wechat: Path

    def sms_sent(self) -> list[dict[str, Any]]:
        return _lines(self.sms)

    def wechat_sent(self) -> list[dict[str, Any]]:
        return _lines(self.wechat)


def _lines(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


@pytest.fixture(autouse=True)
def files(settings: Settings, tmp_path: Path) -> Files:
    """Fake channels write into the test's directory, never into the developer's var/."""
    settings.CHAIRSIDE_SMS_FILE = tmp_path / "sms.jsonl"
    settings.CHAIRSIDE_WECHAT_FILE = tmp_path / "wechat.jsonl"
    return Files(sms=settings.CHAIRSIDE_SMS_FILE, wechat=settings.CHAIRSIDE_WECHAT_FILE)


@dataclass
class Chain:
    """Organization A with default templates and a patient; organization B likewise."""

    world: World
    patient: Patient  # A, clinic 1
    patient_b: Patient


@pytest.fixture
def chain(world: World) -> Chain:
    world.clinic1.phone = "021-64000000"
    world.clinic1.save(update_fields=["phone"])
    default_templates_install(organization=world.org, sms_sign="微笑齿科")
    default_templates_install(organization=world.org_b, sms_sign="别家口腔")
    with tenant_scope(world.org, world.clinic1):
        patient = patient_create(
            actor=world.frontdesk, clinic=world.clinic1, name="张三", phone="13912345678"
        )
    with tenant_scope(world.org_b, world.clinic_b):
        patient_b = patient_create(
            actor=world.boss_b, clinic=world.clinic_b, name="王五", phone="13700000000"
        )
    return Chain(world=world, patient=patient, patient_b=patient_b)
