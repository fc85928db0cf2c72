"""Portal fixtures: a stopped clock, two families of organization A (one sharing its mobile
with a child and with a patient of organization B), two doctors at clinic 1, SMS templates,
and helpers to sign in through the pages.

The clock stands at Monday 2026-09-14 08:00 in Shanghai; both doctors work Monday to
Saturday 09:00-12:00 and 13:30-18:00 at clinic 1.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from django.conf import settings
from django.core.cache import cache
from django.test import Client
from django.urls import reverse
from pytest_django.fixtures import Settings

from chairside.core.models import Organization, Staff
from chairside.core.services import staff_create
from chairside.core.tenancy import tenant_scope
from chairside.messaging.models import OutboxMessage
from chairside.messaging.services import default_templates_install
from chairside.patients.models import FamilyRelation, Patient
from chairside.patients.services import family_link, patient_create
from chairside.scheduling.models import Appointment, AppointmentType
from chairside.scheduling.services import appointment_book, appointment_type_create
from tests.clock import SHANGHAI, Clock, stop_clock
from tests.conftest import PASSWORD, World
from tests.scheduling.conftest import NOW, week_of_shifts

__all__ = ["NOW", "SHANGHAI"]

MONDAY = date(2026, 9, 14)
TUESDAY = date(2026, 9, 15)
ZHANG_MOBILE = "13900000001"  # 张三 and his child 张小宝; also 赵六 of organization B
LI_MOBILE = "13900000002"  # 李四, 张三's spouse
WANG_MOBILE = "13900000003"  # 王五, another family
UNKNOWN_MOBILE = "13900000009"


def at(day: date, hhmm: str) -> datetime:
    hour, minute = (int(part) for part in hhmm.split(":"))
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=SHANGHAI)


@pytest.fixture(autouse=True)
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    return stop_clock(monkeypatch, NOW)


@pytest.fixture(autouse=True)
def _fresh_rate_limits() -> Iterator[None]:
    cache.clear()
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def sms_file(settings: Settings, tmp_path: Path) -> Path:
    """The fake SMS channel writes into the test's directory."""
    settings.CHAIRSIDE_SMS_FILE = tmp_path / "sms.jsonl"
    settings.CHAIRSIDE_WECHAT_FILE = tmp_path / "wechat.jsonl"
    return Path(settings.CHAIRSIDE_SMS_FILE)


@dataclass
class Portal:
    world: World
    zhang: Patient  # head of family, ZHANG_MOBILE
    baby: Patient  # registered with ZHANG_MOBILE, not linked to the family
    li: Patient  # 张三's spouse with her own mobile
    wang: Patient  # another family
    zhao_b: Patient  # organization B, ZHANG_MOBILE
    cleaning: AppointmentType  # 45 minutes
    checkup: AppointmentType  # 30 minutes
    doctor2: Staff  # a second doctor of clinic 1

    @property
    def org(self) -> Organization:
        return self.world.org


@pytest.fixture
def portal(world: World) -> Portal:
    default_templates_install(organization=world.org, sms_sign="微笑齿科")
    default_templates_install(organization=world.org_b, sms_sign="别家口腔")
    doctor2 = staff_create(
        organization=world.org,
        username="doctor2",
        display_name="Dr. Wu",
        password=PASSWORD,
        roles=[("doctor", world.clinic1)],
    )
    with tenant_scope(world.org, world.clinic1):
        desk = {"actor": world.frontdesk, "clinic": world.clinic1}
        zhang = patient_create(**desk, name="张三", phone=ZHANG_MOBILE)
        baby = patient_create(**desk, name="张小宝", phone=ZHANG_MOBILE)
        li = patient_create(**desk, name="李四", phone=LI_MOBILE)
        family_link(**desk, patient=zhang, relative=li, relation=FamilyRelation.SPOUSE)
        wang = patient_create(**desk, name="王五", phone=WANG_MOBILE)
        cleaning = appointment_type_create(
            actor=world.boss, code="cleaning", name="Cleaning", duration_minutes=45
        )
        checkup = appointment_type_create(
            actor=world.boss, code="checkup", name="Check-up", duration_minutes=30
        )
        week_of_shifts(world, world.doctor)
        week_of_shifts(world, doctor2)
        zhang.refresh_from_db()
    with tenant_scope(world.org_b, world.clinic_b):
        zhao_b = patient_create(
            actor=world.boss_b, clinic=world.clinic_b, name="赵六", phone=ZHANG_MOBILE
        )
    return Portal(world, zhang, baby, li, wang, zhao_b, cleaning, checkup, doctor2)


# --- helpers ---------------------------------------------------------------------------


def portal_url(org: Organization, name: str, *args: Any, **query: Any) -> str:
    url = reverse(f"portal:{name}", args=[org.slug, *args])
    return f"{url}?{urlencode(query)}" if query else url


def english(client: Client) -> Client:
    """Messages are asserted in their English source text (the portal defaults to Chinese)."""
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


def last_code(org: Organization, phone: str) -> str:
    """The code in the newest sign-in SMS queued for `phone` by `org` (as the outbox has it)."""
    message = (
        OutboxMessage.all_tenants.filter(
            organization=org, recipient=phone, template_code="portal.login_code"
        )
        .order_by("-id")
        .first()
    )
    assert message is not None, f"no sign-in SMS for {phone}"
    return str(message.params["code"])


def sent_codes(org: Organization, phone: str) -> int:
    return OutboxMessage.all_tenants.filter(
        organization=org, recipient=phone, template_code="portal.login_code"
    ).count()


def sign_in(client: Client, org: Organization, phone: str) -> Client:
    response = client.post(portal_url(org, "login"), {"phone": phone})
    assert response.status_code == 302, response.content.decode()[:500]
    response = client.post(
        portal_url(org, "login_code"), {"action": "verify", "code": last_code(org, phone)}
    )
    assert response.status_code == 302
    assert response["Location"] == portal_url(org, "home")
    return client


def book_at(portal: Portal, patient: Patient, start: datetime, **values: Any) -> Appointment:
    """An appointment made by the front desk (45-minute cleaning with Dr. Li by default)."""
    world = portal.world
    with tenant_scope(world.org, world.clinic1):
        return appointment_book(
            **{
                "clinic": world.clinic1,
                "patient": patient,
                "doctor": world.doctor,
                "start": start,
                "appointment_type": portal.cleaning,
                "actor": world.frontdesk,
                **values,
            }
        )
