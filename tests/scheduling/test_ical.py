"""Doctors' calendar feeds: the public .ics (parsed back with icalendar), its privacy, revoking
and rotating, and the API (own feeds; managers for others; other organizations 404)."""

from __future__ import annotations

from datetime import UTC, timedelta

import pytest
from django.test import Client
from icalendar import Calendar

from chairside.core.models import AuditEntry
from chairside.core.tenancy import tenant_scope
from chairside.patients.services import patient_update
from chairside.scheduling.models import Appointment, CalendarFeed
from chairside.scheduling.services import (
    appointment_book,
    appointment_cancel,
    appointment_confirm,
    calendar_feed_create,
    calendar_feed_revoke,
)
from tests.apiclient import ApiClient
from tests.conftest import World
from tests.core.test_api import is_error
from tests.scheduling.conftest import MONDAY, TUESDAY, Sched, at

PHONE = "13912345678"


def book(world: World, sched: Sched, patient: object, start: object, **kw: object) -> Appointment:
    return appointment_book(
        clinic=world.clinic1,
        patient=patient,  # type: ignore[arg-type]
        doctor=world.doctor,
        start=start,  # type: ignore[arg-type]
        end=start + timedelta(minutes=45),  # type: ignore[operator]
        appointment_type=sched.cleaning,
        actor=world.frontdesk,
        allow_outside_hours=True,
        **kw,  # type: ignore[arg-type]
    )


@pytest.fixture
def feed(world: World, sched: Sched) -> CalendarFeed:
    with tenant_scope(world.org, world.clinic1):
        patient_update(actor=world.boss, clinic=world.clinic1, patient=sched.zhang, phone=PHONE)
        return calendar_feed_create(actor=world.doctor, doctor=world.doctor)


def fetch(token: str) -> Calendar:
    response = Client().get(f"/schedule/ical/{token}.ics")
    assert response.status_code == 200, response
    assert response["Content-Type"].startswith("text/calendar")
    return Calendar.from_ical(response.content)


def events(calendar: Calendar) -> dict[str, object]:
    return {str(e["uid"]): e for e in calendar.walk("VEVENT")}


def test_the_feed_lists_the_doctors_appointments_without_identifying_patients(
    world: World, sched: Sched, feed: CalendarFeed
) -> None:
    with tenant_scope(world.org, world.clinic1):
        first = book(world, sched, sched.zhang, at(MONDAY, "09:00"))
        appointment_confirm(appointment=first, actor=world.frontdesk)
        tentative = book(world, sched, sched.li, at(TUESDAY, "10:00"))
        cancelled = book(world, sched, sched.li, at(TUESDAY, "14:00"))
        appointment_cancel(appointment=cancelled, actor=world.frontdesk, reason="Ill")
        far = book(world, sched, sched.zhang, at(MONDAY + timedelta(days=100), "09:00"))
        others = appointment_book(
            clinic=world.clinic2,
            patient=sched.wang,
            doctor=world.boss,
            start=at(MONDAY, "09:00"),
            end=at(MONDAY, "09:30"),
            actor=world.boss,
            allow_outside_hours=True,
        )

    response = Client().get(f"/schedule/ical/{feed.token}.ics")
    calendar = Calendar.from_ical(response.content)
    found = events(calendar)

    assert set(found) == {f"appointment-{a.pk}@chairside" for a in (first, tentative, cancelled)}, (
        "only this doctor's, within 90 days"
    )
    assert f"appointment-{far.pk}@chairside" not in found
    assert f"appointment-{others.pk}@chairside" not in found
    event = found[f"appointment-{first.pk}@chairside"]
    assert event["dtstart"].dt == at(MONDAY, "09:00").astimezone(UTC)
    assert event["dtstart"].dt.tzinfo is not None
    assert event["dtstart"].dt.utcoffset() == timedelta(0)
    assert event["dtend"].dt == at(MONDAY, "09:45").astimezone(UTC)
    assert str(event["summary"]) == "Cleaning · 张**"
    assert str(event["location"]) == "Downtown Clinic"
    assert str(event["status"]) == "CONFIRMED"
    assert str(found[f"appointment-{tentative.pk}@chairside"]["status"]) == "TENTATIVE"
    assert str(found[f"appointment-{cancelled.pk}@chairside"]["status"]) == "CANCELLED"
    text = response.content.decode()
    for secret in (PHONE, "张三", "李四", sched.zhang.record_no):
        assert secret not in text


def test_revoked_rotated_and_unknown_feeds_are_404(
    world: World, sched: Sched, feed: CalendarFeed
) -> None:
    fetch(feed.token)
    with tenant_scope(world.org, world.clinic1):
        rotated = calendar_feed_create(actor=world.boss, doctor=world.doctor)

    assert Client().get(f"/schedule/ical/{feed.token}.ics").status_code == 404
    fetch(rotated.token)
    with tenant_scope(world.org, world.clinic1):
        calendar_feed_revoke(actor=world.doctor, feed=rotated)
    assert Client().get(f"/schedule/ical/{rotated.token}.ics").status_code == 404
    assert Client().get("/schedule/ical/not-a-token.ics").status_code == 404
    assert Client().post(f"/schedule/ical/{rotated.token}.ics").status_code in (404, 405)


def test_tokens_are_long_random_and_kept_out_of_the_audit_log(
    world: World, feed: CalendarFeed
) -> None:
    assert len(feed.token) >= 40
    with tenant_scope(world.org):
        entries = AuditEntry.objects.filter(entity_type="scheduling.calendarfeed")
        assert entries.exists()
        assert all(feed.token not in str(e.after) for e in entries)


# --- API ------------------------------------------------------------------------------


def test_a_doctor_creates_lists_and_revokes_their_own_feed(world: World, sched: Sched) -> None:
    api = ApiClient(world.doctor)

    created = api.post("/calendar-feeds", {})
    assert created.status == 201, created
    url = created.json["url"]
    assert url.startswith("http://testserver/schedule/ical/")
    assert url.endswith(".ics")
    token = url.rsplit("/", 1)[1].removesuffix(".ics")
    fetch(token)
    assert [f["id"] for f in api.get("/calendar-feeds").json] == [created.json["id"]]

    rotated = api.post("/calendar-feeds", {"doctor_id": world.doctor.pk})
    assert rotated.status == 201
    assert [f["id"] for f in api.get("/calendar-feeds").json] == [rotated.json["id"]]

    assert api.delete(f"/calendar-feeds/{rotated.json['id']}").status == 204
    assert api.get("/calendar-feeds").json == []


def test_only_schedule_managers_make_feeds_for_others(world: World, sched: Sched) -> None:
    for_boss = ApiClient(world.doctor).post("/calendar-feeds", {"doctor_id": world.boss.pk})
    assert for_boss.status == 403

    made = ApiClient(world.boss).post("/calendar-feeds", {"doctor_id": world.doctor.pk})
    assert made.status == 201
    assert made.json["doctor"]["id"] == world.doctor.pk
    # Not the doctor's to see in "mine" for the boss; the doctor sees it.
    assert ApiClient(world.boss).get("/calendar-feeds").json == []
    assert len(ApiClient(world.doctor).get("/calendar-feeds").json) == 1
    # A doctor cannot revoke someone else's feed: it is 404 to them.
    boss_feed = ApiClient(world.boss).post("/calendar-feeds", {}).json
    assert ApiClient(world.doctor).delete(f"/calendar-feeds/{boss_feed['id']}").status == 404


def test_another_organization_cannot_reach_a_feed_or_a_doctor(
    world: World, feed: CalendarFeed
) -> None:
    api = ApiClient(world.boss_b)

    revoked = api.delete(f"/calendar-feeds/{feed.pk}")
    made = api.post("/calendar-feeds", {"doctor_id": world.doctor.pk})
    missing = api.delete("/calendar-feeds/987654")

    assert revoked.status == 404
    assert is_error(revoked.json, "not_found")
    assert revoked.json == missing.json
    assert made.status == 404
    assert CalendarFeed.all_tenants.get(pk=feed.pk).revoked_at is None
    assert CalendarFeed.all_tenants.filter(organization=world.org).count() == 1
    assert api.get("/calendar-feeds").json == []


def test_front_desk_acting_in_another_clinic_is_refused(world: World, feed: CalendarFeed) -> None:
    api = ApiClient(world.frontdesk, clinic=world.clinic2)

    assert api.get("/calendar-feeds").status == 403
    assert api.post("/calendar-feeds", {}).status == 403
    assert api.delete(f"/calendar-feeds/{feed.pk}").status == 403
