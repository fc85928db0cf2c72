"""The whole S-journey in one test, through the pages: a patient books on the phone, the
front desk sees the booking in the calendar, the reminder waits in the outbox until the
evening before and is then sent, and the check-in on today's work changes the counts."""

from __future__ import annotations

from django.test import Client
from django.urls import reverse

from chairside.core.tenancy import tenant_scope
from chairside.messaging.models import OutboxMessage
from chairside.messaging.services import outbox_deliver_due
from chairside.scheduling.models import Appointment, AppointmentStatus
from tests.portal.conftest import (
    MONDAY,
    TUESDAY,
    ZHANG_MOBILE,
    Portal,
    at,
    english,
    portal_url,
    sign_in,
)
from tests.scheduling.conftest import Clock


def test_booked_on_the_phone_reminded_the_evening_before_checked_in_at_the_desk(
    client: Client, portal: Portal, clock: Clock
) -> None:
    world = portal.world
    phone = sign_in(english(client), portal.org, ZHANG_MOBILE)
    choice = {"clinic": world.clinic1.pk, "type": portal.cleaning.pk, "doctor": world.doctor.pk}

    booked = phone.post(
        portal_url(portal.org, "book_confirm"),
        {**choice, "start": "2026-09-15T10:00", "patient": portal.zhang.pk, "note": ""},
    )

    assert booked.status_code == 302
    with tenant_scope(world.org):
        appointment = Appointment.objects.get()
        reminder = OutboxMessage.objects.get(template_code="appointment.reminder")
    assert appointment.start == at(TUESDAY, "10:00")
    assert reminder.next_attempt_at == at(MONDAY, "18:00")
    assert reminder.recipient == ZHANG_MOBILE

    desk = Client()
    desk.force_login(world.frontdesk)
    day = desk.get(
        reverse("scheduling:calendar"), {"date": "2026-09-15"}, HTTP_ACCEPT_LANGUAGE="en"
    )
    assert day.status_code == 200
    assert "张三" in day.content.decode()

    clock.set(at(MONDAY, "17:59"))
    with tenant_scope(world.org):
        outbox_deliver_due()
        reminder.refresh_from_db()
    assert reminder.status == OutboxMessage.Status.QUEUED
    clock.set(at(MONDAY, "18:00"))
    with tenant_scope(world.org):
        outbox_deliver_due()
        reminder.refresh_from_db()
    assert reminder.status == OutboxMessage.Status.SENT

    clock.set(at(TUESDAY, "09:55"))
    desk.force_login(world.frontdesk)  # the evening's session has expired: a new day
    before = desk.get(reverse("scheduling:today")).context["board"].clinic
    assert (before.not_arrived.visits, before.arrived.visits) == (1, 0)

    desk.post(reverse("scheduling:check_in", args=[appointment.pk]))

    after = desk.get(reverse("scheduling:today")).context["board"].clinic
    assert (after.not_arrived.visits, after.not_arrived.persons) == (0, 0)
    assert (after.arrived.visits, after.arrived.persons) == (1, 1)
    with tenant_scope(world.org):
        appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.ARRIVED
