"""Appointment notices (S5): the confirmation, the day-before reminder at the clinic's time,
change and cancellation notices, and the sweep that queues reminders the booking did not."""

from __future__ import annotations

from datetime import date, time
from pathlib import Path

import pytest
from pytest_django.fixtures import Settings

from chairside.core.errors import Conflict
from chairside.core.tenancy import tenant_scope
from chairside.messaging.models import OutboxMessage
from chairside.messaging.services import default_templates_install, outbox_deliver_due
from chairside.patients.models import Patient
from chairside.patients.services import patient_create
from chairside.scheduling.models import Appointment
from chairside.scheduling.notices import reminder_key
from chairside.scheduling.services import (
    appointment_book,
    appointment_cancel,
    appointment_reschedule,
    appointment_walk_in,
)
from chairside.scheduling.services.follow_ups import reminder_settings_update
from chairside.scheduling.tasks import queue_reminders
from tests.conftest import World
from tests.messaging.conftest import Files
from tests.scheduling.conftest import MONDAY, NOW, TUESDAY, Clock, Sched, at

THURSDAY = date(2026, 9, 17)


@pytest.fixture(autouse=True)
def files(settings: Settings, tmp_path: Path) -> Files:
    settings.CHAIRSIDE_SMS_FILE = tmp_path / "sms.jsonl"
    settings.CHAIRSIDE_WECHAT_FILE = tmp_path / "wechat.jsonl"
    return Files(sms=settings.CHAIRSIDE_SMS_FILE, wechat=settings.CHAIRSIDE_WECHAT_FILE)


@pytest.fixture
def templates(world: World) -> None:
    default_templates_install(organization=world.org, sms_sign="微笑齿科")
    default_templates_install(organization=world.org_b, sms_sign="别家口腔")


@pytest.fixture
def mobile_patient(world: World, sched: Sched, templates: None) -> Patient:
    with tenant_scope(world.org, world.clinic1):
        return patient_create(
            actor=world.frontdesk, clinic=world.clinic1, name="赵敏", phone="13912345678"
        )


def book(world: World, patient: Patient, start: str, day: date = TUESDAY) -> Appointment:
    with tenant_scope(world.org, world.clinic1):
        return appointment_book(
            clinic=world.clinic1,
            patient=patient,
            doctor=world.doctor,
            start=at(day, start),
            end=at(day, start) + (at(day, "09:30") - at(day, "09:00")),
            actor=world.frontdesk,
        )


def outbox(template_code: str | None = None) -> list[OutboxMessage]:
    messages = OutboxMessage.all_tenants.order_by("id")
    if template_code:
        messages = messages.filter(template_code=template_code)
    return list(messages)


def test_booking_for_tomorrow_queues_the_reminder_for_18_00_today_and_it_goes_out_then(
    world: World, mobile_patient: Patient, files: Files
) -> None:
    appointment = book(world, mobile_patient, "10:00")

    [reminder] = outbox("appointment.reminder")
    assert reminder.status == "queued"
    assert reminder.next_attempt_at == at(MONDAY, "18:00")
    assert reminder.dedupe_key == reminder_key(appointment)
    assert reminder.recipient == "13912345678"
    assert reminder.patient_id == mobile_patient.pk

    early = outbox_deliver_due(now=at(MONDAY, "17:59"))
    assert early.sent == 1  # only the confirmation
    assert [m["text"] for m in files.sms_sent()] == [outbox("appointment.confirmation")[0].text]

    due = outbox_deliver_due(now=at(MONDAY, "18:00"))

    assert due.sent == 1
    reminder.refresh_from_db()
    assert reminder.status == "sent"
    sent = files.sms_sent()
    assert len(sent) == 2
    assert "温馨提醒" in sent[1]["text"]
    assert "赵敏" in sent[1]["text"]
    assert sent[1]["phone"] == "13912345678"


def test_booking_queues_a_confirmation_due_at_once(world: World, mobile_patient: Patient) -> None:
    appointment = book(world, mobile_patient, "10:00")

    [confirmation] = outbox("appointment.confirmation")
    assert confirmation.next_attempt_at == NOW
    assert confirmation.dedupe_key == f"appointment:{appointment.pk}:confirmation"
    assert confirmation.expires_at == appointment.start
    assert "赵敏" in confirmation.text


def test_a_booking_for_later_today_gets_its_reminder_at_once(
    world: World, mobile_patient: Patient
) -> None:
    # Yesterday 18:00 has passed, but the visit at 15:00 is still ahead.
    book(world, mobile_patient, "15:00", day=MONDAY)

    [reminder] = outbox("appointment.reminder")
    assert reminder.next_attempt_at == NOW


def test_the_clinics_reminder_time_is_used(world: World, mobile_patient: Patient) -> None:
    with tenant_scope(world.org, world.clinic1):
        reminder_settings_update(clinic=world.clinic1, actor=world.boss, reminder_time=time(9, 30))

    book(world, mobile_patient, "10:00", day=THURSDAY)

    [reminder] = outbox("appointment.reminder")
    assert reminder.next_attempt_at == at(date(2026, 9, 16), "09:30")


def test_clinics_can_turn_confirmations_and_reminders_off(
    world: World, mobile_patient: Patient
) -> None:
    with tenant_scope(world.org, world.clinic1):
        reminder_settings_update(
            clinic=world.clinic1,
            actor=world.boss,
            reminder_enabled=False,
            confirmation_enabled=False,
        )

    book(world, mobile_patient, "10:00")

    assert outbox() == []


def test_patients_without_a_mobile_get_nothing_and_the_booking_stands(
    world: World, sched: Sched, templates: None
) -> None:
    appointment = book(world, sched.zhang, "10:00")

    assert Appointment.all_tenants.filter(pk=appointment.pk).exists()
    assert outbox() == []


def test_an_organization_without_templates_still_books(world: World, sched: Sched) -> None:
    with tenant_scope(world.org, world.clinic1):
        patient = patient_create(
            actor=world.frontdesk, clinic=world.clinic1, name="赵敏", phone="13912345678"
        )

    appointment = book(world, patient, "10:00")

    assert appointment.pk is not None
    assert outbox() == []


def test_a_refused_booking_sends_nothing(world: World, mobile_patient: Patient) -> None:
    book(world, mobile_patient, "10:00")
    before = len(outbox())

    with pytest.raises(Conflict):
        book(world, mobile_patient, "10:00")

    assert len(outbox()) == before


def test_walk_ins_are_not_sent_notices(world: World, mobile_patient: Patient, clock: Clock) -> None:
    clock.set(at(MONDAY, "10:00"))
    with tenant_scope(world.org, world.clinic1):
        appointment_walk_in(
            clinic=world.clinic1, patient=mobile_patient, doctor=world.doctor, actor=world.frontdesk
        )

    assert outbox() == []


def test_moving_an_appointment_withdraws_the_old_reminder_and_tells_the_patient(
    world: World, mobile_patient: Patient
) -> None:
    appointment = book(world, mobile_patient, "10:00")
    [old_reminder] = outbox("appointment.reminder")

    with tenant_scope(world.org, world.clinic1):
        moved = appointment_reschedule(
            appointment=appointment, start=at(THURSDAY, "14:00"), actor=world.frontdesk
        )

    old_reminder.refresh_from_db()
    assert old_reminder.status == "cancelled"
    new_reminder = OutboxMessage.all_tenants.get(dedupe_key=reminder_key(moved))
    assert new_reminder.status == "queued"
    assert new_reminder.next_attempt_at == at(date(2026, 9, 16), "18:00")
    [changed] = outbox("appointment.changed")
    assert changed.next_attempt_at == NOW
    assert "09-15" in changed.text or "9月15日" in changed.text
    assert changed.params["previous_start"] != changed.params["start"]


def test_a_change_that_keeps_the_start_sends_nothing(world: World, mobile_patient: Patient) -> None:
    appointment = book(world, mobile_patient, "10:00")
    before = len(outbox())

    with tenant_scope(world.org, world.clinic1):
        appointment_reschedule(
            appointment=appointment,
            start=appointment.start,
            end=at(TUESDAY, "10:45"),
            actor=world.frontdesk,
        )

    assert len(outbox()) == before


def test_cancelling_withdraws_the_reminder_and_tells_the_patient(
    world: World, mobile_patient: Patient
) -> None:
    appointment = book(world, mobile_patient, "10:00")

    with tenant_scope(world.org, world.clinic1):
        appointment_cancel(appointment=appointment, actor=world.frontdesk, reason="Ill")

    [reminder] = outbox("appointment.reminder")
    assert reminder.status == "cancelled"
    [cancelled] = outbox("appointment.cancelled")
    assert cancelled.status == "queued"
    assert "已取消" in cancelled.text
    run = outbox_deliver_due(now=at(MONDAY, "18:00"))
    assert run.sent == 2  # the confirmation and the cancellation, never the reminder


# --- the sweep ------------------------------------------------------------------------


def test_the_sweep_queues_reminders_the_booking_did_not(
    world: World, mobile_patient: Patient
) -> None:
    with tenant_scope(world.org, world.clinic1):
        reminder_settings_update(clinic=world.clinic1, actor=world.boss, reminder_enabled=False)
    tomorrow = book(world, mobile_patient, "10:00")
    later = book(world, mobile_patient, "10:00", day=THURSDAY)  # beyond two days
    assert outbox("appointment.reminder") == []
    with tenant_scope(world.org, world.clinic1):
        reminder_settings_update(
            clinic=world.clinic1, actor=world.boss, reminder_enabled=True, reminder_time=time(19)
        )

    queue_reminders()
    queue_reminders()

    [reminder] = outbox("appointment.reminder")
    assert reminder.dedupe_key == reminder_key(tomorrow)
    assert reminder.next_attempt_at == at(MONDAY, "19:00")
    assert not OutboxMessage.all_tenants.filter(dedupe_key=reminder_key(later)).exists()


def test_the_sweep_covers_every_organization_in_its_own_scope(
    world: World, sched: Sched, mobile_patient: Patient
) -> None:
    book(world, mobile_patient, "10:00")
    with tenant_scope(world.org_b, world.clinic_b):
        sched.patient_b.phone = "13700000000"
        sched.patient_b.save()
        appointment_b = appointment_book(
            clinic=world.clinic_b,
            patient=sched.patient_b,
            doctor=world.boss_b,
            start=at(TUESDAY, "10:00"),
            end=at(TUESDAY, "10:30"),
            actor=world.boss_b,
            allow_outside_hours=True,
        )
    # As if imported without notices: the queued reminders are gone.
    OutboxMessage.all_tenants.filter(template_code="appointment.reminder").delete()

    queue_reminders()

    reminders = outbox("appointment.reminder")
    assert {m.organization_id for m in reminders} == {world.org.pk, world.org_b.pk}
    [reminder_b] = [m for m in reminders if m.organization_id == world.org_b.pk]
    assert reminder_b.dedupe_key == reminder_key(appointment_b)
    assert reminder_b.recipient == "13700000000"


def test_the_sweep_skips_cancelled_appointments(world: World, mobile_patient: Patient) -> None:
    appointment = book(world, mobile_patient, "10:00")
    with tenant_scope(world.org, world.clinic1):
        appointment_cancel(appointment=appointment, actor=world.frontdesk, reason="Ill")

    queue_reminders()

    [reminder] = outbox("appointment.reminder")
    assert reminder.status == "cancelled"
