"""The clinic's reminder settings (S5), through the API (/api/v1/reminder-settings) and the
console page (/schedule/reminders/): the defaults until a clinic changes them, changes kept
per clinic and audited, schedule.manage to change them, and new bookings' reminders queued
at the clinic's new time."""

from __future__ import annotations

from datetime import date, time
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from pytest_django.fixtures import Settings

from chairside.core.middleware import ACTIVE_CLINIC_SESSION_KEY
from chairside.core.models import AuditEntry, Clinic, Staff
from chairside.core.tenancy import tenant_scope
from chairside.messaging.models import OutboxMessage
from chairside.messaging.services import default_templates_install
from chairside.patients.models import Patient
from chairside.patients.services import patient_create
from chairside.scheduling.models import ReminderSettings
from chairside.scheduling.services import appointment_book
from tests.apiclient import ApiClient
from tests.conftest import World
from tests.core.test_api import is_error
from tests.scheduling.conftest import Sched, at

THURSDAY = date(2026, 9, 17)
PATH = "/reminder-settings"

DEFAULTS = {
    "reminder_enabled": True,
    "reminder_time": "18:00",
    "confirmation_enabled": True,
    "change_notices_enabled": True,
    "no_show_follow_up_enabled": True,
}
CHANGED = {
    "reminder_enabled": True,
    "reminder_time": "09:30",
    "confirmation_enabled": False,
    "change_notices_enabled": True,
    "no_show_follow_up_enabled": False,
}


def settings_rows() -> list[ReminderSettings]:
    return list(ReminderSettings.all_tenants.order_by("id"))


def audits(world: World) -> int:
    return int(AuditEntry.all_tenants.filter(organization=world.org).count())


# --- API ------------------------------------------------------------------------------


def test_a_clinic_that_changed_nothing_reads_the_defaults(world: World) -> None:
    response = ApiClient(world.frontdesk).get(PATH)

    assert response.status == 200
    assert response.json == {"clinic_id": world.clinic1.pk, **DEFAULTS}
    assert settings_rows() == []


def test_an_update_is_read_back_and_audited(world: World) -> None:
    api = ApiClient(world.boss, clinic=world.clinic1)
    before = audits(world)

    put = api.put(PATH, CHANGED)
    got = api.get(PATH)

    expected = {"clinic_id": world.clinic1.pk, **CHANGED, "reminder_time": "09:30"}
    assert put.status == 200, put
    assert put.json == expected
    assert got.json == expected
    assert audits(world) == before + 1


def test_the_front_desk_reads_but_cannot_change_them(world: World) -> None:
    desk = ApiClient(world.frontdesk)

    response = desk.put(PATH, CHANGED)

    assert response.status == 403
    assert is_error(response.json, "permission_denied")
    assert settings_rows() == []
    assert desk.get(PATH).json["reminder_time"] == "18:00"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"reminder_time": "25:00"}, "reminder_time"),
        ({"reminder_time": "09:00+08:00"}, "reminder_time"),
        ({"reminder_enabled": "perhaps"}, "reminder_enabled"),
        ({"confirmation_enabled": None}, "confirmation_enabled"),
    ],
)
def test_odd_settings_are_400_naming_the_field(
    world: World, change: dict[str, Any], field: str
) -> None:
    response = ApiClient(world.boss, clinic=world.clinic1).put(PATH, {**CHANGED, **change})

    assert response.status == 400, response
    assert is_error(response.json, "invalid")
    assert any(field in name for name in response.json["fields"]), response.json
    assert settings_rows() == []


def test_a_missing_field_is_400(world: World) -> None:
    body = {k: v for k, v in CHANGED.items() if k != "reminder_time"}

    response = ApiClient(world.boss, clinic=world.clinic1).put(PATH, body)

    assert response.status == 400
    assert is_error(response.json, "invalid")


def test_clinic_1s_settings_stay_in_clinic_1(world: World) -> None:
    boss = world.boss
    ApiClient(boss, clinic=world.clinic1).put(PATH, CHANGED)

    clinic2 = ApiClient(boss, clinic=world.clinic2).get(PATH).json
    other_org = ApiClient(world.boss_b).get(PATH).json

    assert clinic2 == {"clinic_id": world.clinic2.pk, **DEFAULTS}
    assert other_org == {"clinic_id": world.clinic_b.pk, **DEFAULTS}


# --- new bookings use the new time ----------------------------------------------------


@pytest.fixture
def mobile_patient(world: World, sched: Sched, settings: Settings, tmp_path: Path) -> Patient:
    settings.CHAIRSIDE_SMS_FILE = tmp_path / "sms.jsonl"
    settings.CHAIRSIDE_WECHAT_FILE = tmp_path / "wechat.jsonl"
    default_templates_install(organization=world.org, sms_sign="微笑齿科")
    with tenant_scope(world.org, world.clinic1):
        return patient_create(
            actor=world.frontdesk, clinic=world.clinic1, name="赵敏", phone="13912345678"
        )


def test_a_new_booking_is_reminded_at_the_new_time(world: World, mobile_patient: Patient) -> None:
    assert ApiClient(world.boss, clinic=world.clinic1).put(PATH, CHANGED).status == 200

    with tenant_scope(world.org, world.clinic1):
        appointment_book(
            clinic=world.clinic1,
            patient=mobile_patient,
            doctor=world.doctor,
            start=at(THURSDAY, "10:00"),
            end=at(THURSDAY, "10:30"),
            actor=world.frontdesk,
        )

    [reminder] = OutboxMessage.all_tenants.filter(template_code="appointment.reminder")
    assert reminder.next_attempt_at == at(date(2026, 9, 16), "09:30")
    # confirmations were switched off
    assert not OutboxMessage.all_tenants.filter(template_code="appointment.confirmation")


# --- the page -------------------------------------------------------------------------

FORM = {
    "reminder_enabled": "on",
    "reminder_time": "08:15",
    "change_notices_enabled": "on",
}


def browser(staff: Staff, clinic: Clinic | None = None) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(staff)
    if clinic is not None:
        session = client.session
        session[ACTIVE_CLINIC_SESSION_KEY] = clinic.pk
        session.save()
    return client


URL = "/schedule/reminders/"


def test_the_page_is_at_its_url() -> None:
    assert reverse("scheduling:reminders") == URL


def test_the_page_shows_the_defaults(world: World) -> None:
    response = browser(world.frontdesk).get(URL)

    assert response.status_code == 200
    html = response.content.decode()
    assert 'value="18:00"' in html
    assert "Send a reminder the day before" in html
    # the front desk sees the settings but has no Save button
    assert 'type="submit"' not in html


def test_saving_the_form_changes_the_settings(world: World) -> None:
    client = browser(world.boss, world.clinic1)
    before = audits(world)

    response = client.post(URL, FORM, follow=True)

    assert response.status_code == 200
    assert "Reminder settings saved." in response.content.decode()
    assert 'value="08:15"' in response.content.decode()
    [row] = settings_rows()
    assert row.clinic_id == world.clinic1.pk
    assert row.reminder_time == time(8, 15)
    assert (row.reminder_enabled, row.confirmation_enabled) == (True, False)
    assert (row.change_notices_enabled, row.no_show_follow_up_enabled) == (True, False)
    assert audits(world) == before + 1


def test_a_bad_time_is_shown_at_the_field(world: World) -> None:
    response = browser(world.boss, world.clinic1).post(URL, {**FORM, "reminder_time": "26:00"})

    assert response.status_code == 400
    assert "field-error" in response.content.decode()
    assert settings_rows() == []


def test_the_front_desk_cannot_save(world: World) -> None:
    response = browser(world.frontdesk).post(URL, FORM)

    assert response.status_code == 403
    assert settings_rows() == []


def test_another_organization_neither_sees_nor_changes_a(world: World) -> None:
    browser(world.boss, world.clinic1).post(URL, FORM)
    other = browser(world.boss_b)

    page = other.get(URL).content.decode()
    other.post(URL, {**FORM, "reminder_time": "21:00"})
    # a clinic of A as the acting clinic is refused, not used
    forced = browser(world.boss_b, world.clinic1).get(URL)

    assert 'value="18:00"' in page
    assert "08:15" not in page
    assert "Downtown Clinic" not in page
    with tenant_scope(world.org, world.clinic1):
        assert ReminderSettings.objects.get(clinic=world.clinic1).reminder_time == time(8, 15)
    assert {r.clinic_id for r in settings_rows()} == {world.clinic1.pk, world.clinic_b.pk}
    assert "08:15" not in forced.content.decode()
    assert forced.status_code in (200, 403, 404)
