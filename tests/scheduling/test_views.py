"""Schedule pages: the calendar by day and week, booking from it (clashes named in the form),
the appointment drawer and its lifecycle buttons, today's work with one-click check-in,
flat query counts, permissions, and isolation between clinics and organizations."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from chairside.core.models import Staff
from chairside.core.services import staff_create
from chairside.core.tenancy import tenant_scope
from chairside.patients.models import Patient
from chairside.patients.services import patient_create
from chairside.scheduling.models import Appointment, AppointmentEvent, AppointmentStatus
from chairside.scheduling.services import (
    appointment_book,
    appointment_cancel,
    appointment_check_in,
    schedule_exception_create,
)
from tests.conftest import PASSWORD, World
from tests.scheduling.conftest import MONDAY, TUESDAY, Clock, Sched, at

pytestmark = pytest.mark.usefixtures("in_clinic1")

SUNDAY = date(2026, 9, 13)  # Dr. Li works Monday to Saturday
NATIONAL_DAY = date(2026, 10, 1)
HTMX = {"HTTP_HX_REQUEST": "true"}

Signer = Callable[[Staff], Client]


@pytest.fixture
def as_staff() -> Signer:
    """A browser of `staff`, asking for English pages."""

    def sign_in(staff: Staff) -> Client:
        client = Client(HTTP_ACCEPT_LANGUAGE="en")
        client.force_login(staff)
        return client

    return sign_in


@pytest.fixture
def desk(world: World, as_staff: Signer) -> Client:
    return as_staff(world.frontdesk)


def book(
    world: World, patient: Patient, begins: datetime, minutes: int = 30, **kw: Any
) -> Appointment:
    values: dict[str, Any] = {
        "clinic": world.clinic1,
        "doctor": world.doctor,
        "actor": world.frontdesk,
    }
    values.update(kw)
    return appointment_book(
        patient=patient, start=begins, end=begins + timedelta(minutes=minutes), **values
    )


def html(response: Any) -> str:
    return str(response.content.decode())


def text(response: Any) -> str:
    """The page's text without tags and with spaces folded, for reading like a person."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html(response)))


def calendar_url(**params: Any) -> str:
    query = "&".join(f"{k}={v}" for k, v in params.items())
    return f"{reverse('scheduling:calendar')}?{query}"


def count_of(response: Any, kind: str, unit: str) -> int:
    """A number of today's board: `kind` arrived | not-arrived, `unit` visits | persons."""
    match = re.search(
        rf'data-count="{kind}".*?<span class="stat" data-{unit}>(\d+)</span>', html(response), re.S
    )
    assert match, f"no {kind} {unit} on the page"
    return int(match.group(1))


# --- the calendar ----------------------------------------------------------------------


def test_anonymous_visitors_are_sent_to_sign_in(client: Client, world: World) -> None:
    response = client.get(reverse("scheduling:calendar"))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("core:login"))


def test_day_view_places_appointments_in_the_doctors_column(
    desk: Client, world: World, sched: Sched
) -> None:
    booked = book(world, sched.zhang, at(MONDAY, "09:30"), 45, appointment_type=sched.cleaning)

    response = desk.get(calendar_url(date=MONDAY))

    assert response.status_code == 200
    grid = response.context["grid"]
    assert [c.title for c in grid.columns] == ["Dr. Li"]
    assert grid.columns[0].detail == "09:00–12:00, 13:30–18:00"
    placed = grid.columns[0].placed[0]
    # From 09:00, in 15-minute rows: 09:30 is two rows down, 45 minutes three rows tall.
    assert (placed.top, placed.span) == (2.0, 3.0)
    page = html(response)
    block = re.search(rf'<a class="appt status-booked[^>]*data-appointment="{booked.pk}"', page)
    assert block, "the appointment is not drawn as a booked block"
    for shown in ("张三", "Cleaning", "09:30"):
        assert shown in page
    # The lunch break is shaded, and the axis runs from the first shift to the last.
    assert any(s.kind == "off" for s in grid.columns[0].shades)
    assert grid.rows[0].strftime("%H:%M") == "09:00"
    assert grid.rows[-1].strftime("%H:%M") == "17:45"


def test_leave_is_shaded_with_its_reason(desk: Client, world: World, sched: Sched) -> None:
    schedule_exception_create(
        actor=world.boss,
        clinic=world.clinic1,
        doctor=world.doctor,
        day=MONDAY,
        kind="leave",
        start=time(13, 30),
        end=time(18),
        reason="Training",
    )

    response = desk.get(calendar_url(date=MONDAY))

    column = response.context["grid"].columns[0]
    assert column.detail == "09:00–12:00"
    leave = [s for s in column.shades if s.kind == "leave"]
    assert len(leave) == 1
    assert "Training" in leave[0].label
    assert "shade-leave" in html(response)


def test_columns_per_chair(desk: Client, world: World, sched: Sched) -> None:
    book(world, sched.zhang, at(MONDAY, "09:00"), chair=sched.chair2)
    book(world, sched.li, at(MONDAY, "10:00"))

    response = desk.get(calendar_url(date=MONDAY, by="chair"))

    columns = response.context["grid"].columns
    assert [c.title for c in columns] == ["Chair 1", "Chair 2", "No chair"]
    assert [len(c.placed) for c in columns] == [0, 1, 1]
    # Chairs of another clinic are not columns here.
    assert "chair-" + str(sched.chair_c2.pk) not in html(response)


def test_filter_by_doctor(desk: Client, world: World, sched: Sched) -> None:
    other = staff_create(
        organization=world.org,
        username="dr-wang",
        display_name="Dr. Wang",
        password=PASSWORD,
        roles=[("doctor", world.clinic1)],
    )
    book(world, sched.zhang, at(MONDAY, "09:00"))
    book(world, sched.li, at(MONDAY, "09:00"), doctor=other, allow_outside_hours=True)

    everyone = desk.get(calendar_url(date=MONDAY))
    only_wang = desk.get(calendar_url(date=MONDAY, doctor=other.pk))

    assert [c.title for c in everyone.context["grid"].columns] == ["Dr. Li", "Dr. Wang"]
    assert [c.title for c in only_wang.context["grid"].columns] == ["Dr. Wang"]
    assert "李四" in html(only_wang)
    assert "张三" not in html(only_wang)


def test_cancelled_appointments_are_hidden_unless_asked_for(
    desk: Client, world: World, sched: Sched
) -> None:
    cancelled = book(world, sched.zhang, at(MONDAY, "09:00"))
    appointment_cancel(appointment=cancelled, actor=world.frontdesk, reason="Ill")
    book(world, sched.li, at(MONDAY, "09:00"))

    hidden = desk.get(calendar_url(date=MONDAY))
    shown = desk.get(calendar_url(date=MONDAY, released=1))

    assert "张三" not in html(hidden)
    assert "1 cancelled or no-show not shown" in text(hidden)
    placed = shown.context["grid"].columns[0].placed
    # Side by side: the cancelled visit and the new one in its time.
    assert sorted((p.lane, p.lanes) for p in placed) == [(0, 2), (1, 2)]
    assert "status-cancelled" in html(shown)


def test_empty_state_when_nobody_works(desk: Client, world: World, sched: Sched) -> None:
    sunday = desk.get(calendar_url(date=SUNDAY))
    holiday = desk.get(calendar_url(date=NATIONAL_DAY))

    assert sunday.context["grid"].columns == []
    assert "No doctor works on" in text(sunday)
    assert "National Day: a public holiday" in text(holiday)
    assert "No doctor works on" in text(holiday)


def test_navigation_links_and_htmx_fragment(desk: Client, world: World, sched: Sched) -> None:
    response = desk.get(calendar_url(date=MONDAY))
    fragment = desk.get(calendar_url(date=MONDAY), **HTMX)

    urls = response.context["urls"]
    assert "date=2026-09-13" in urls["prev"]
    assert "date=2026-09-15" in urls["next"]
    assert "date=2026-09-14" in urls["today"]
    assert "view=week" in urls["week"]
    # htmx gets only the calendar, which reloads itself when the drawer changes something.
    assert html(fragment).lstrip().startswith('<section id="schedule"')
    assert 'hx-trigger="schedule-changed from:body' in html(fragment)
    assert "<html" not in html(fragment)
    assert fragment["Vary"].count("HX-Request") == 1


def test_a_bad_date_falls_back_to_today(desk: Client, world: World, sched: Sched) -> None:
    for bad in ("yesterday", "1850-01-01", "2026-13-40"):
        response = desk.get(calendar_url(date=bad))

        assert response.status_code == 200
        assert response.context["state"].day == MONDAY


def test_week_view_lists_each_day_per_doctor(desk: Client, world: World, sched: Sched) -> None:
    book(world, sched.zhang, at(MONDAY, "09:00"), appointment_type=sched.checkup)
    book(world, sched.li, at(TUESDAY, "14:00"))
    schedule_exception_create(
        actor=world.boss,
        clinic=world.clinic1,
        doctor=world.doctor,
        day=date(2026, 9, 17),
        kind="leave",
        start=None,
        end=None,
    )

    response = desk.get(calendar_url(date=TUESDAY, view="week"))

    week = response.context["week"]
    assert (week.first, week.last) == (MONDAY, date(2026, 9, 20))
    monday, tuesday, _wed, thursday = week.days[:4]
    assert [a.patient.name for d in monday.doctors for a in d.appointments] == ["张三"]
    assert [a.patient.name for d in tuesday.doctors for a in d.appointments] == ["李四"]
    assert thursday.doctors[0].on_leave
    assert "On leave" in text(response)
    # Each day's heading opens that day.
    assert 'href="/schedule/?date=2026-09-15"' in html(response)


# --- booking from the calendar ---------------------------------------------------------


def test_clicking_a_slot_opens_the_form_filled_in(desk: Client, world: World, sched: Sched) -> None:
    calendar = html(desk.get(calendar_url(date=MONDAY)))
    column = f"{{&quot;date&quot;: &quot;2026-09-14&quot;, &quot;doctor&quot;: {world.doctor.pk}}}"
    assert f'hx-vals="{column}"' in calendar
    assert 'hx-vals=\'{"time": "09:15"}\'' in calendar

    response = desk.get(
        reverse("scheduling:new"),
        {"date": "2026-09-14", "time": "09:15", "doctor": world.doctor.pk},
        **HTMX,
    )

    assert response.status_code == 200
    form = response.context["form"]
    assert form["date"].value() == MONDAY
    assert form["start"].value() == time(9, 15)
    assert form["doctor_id"].value() == world.doctor.pk
    # The patient search is the patient centre's picker.
    assert reverse("patients:pick") in html(response)


def booking(sched: Sched, world: World, **changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "patient_id": sched.li.pk,
        "doctor_id": world.doctor.pk,
        "chair_id": sched.chair1.pk,
        "appointment_type_id": sched.cleaning.pk,
        "date": "2026-09-14",
        "start": "09:15",
        "minutes": "45",
        "note": "Sensitive upper left",
    }
    data.update(changes)
    return data


def test_booking_from_the_drawer(desk: Client, world: World, sched: Sched) -> None:
    response = desk.post(reverse("scheduling:new"), booking(sched, world), **HTMX)

    assert response.status_code == 200
    appointment = Appointment.objects.get(patient=sched.li)
    assert appointment.start == at(MONDAY, "09:15")
    assert appointment.end == at(MONDAY, "10:00")
    assert (appointment.chair, appointment.appointment_type) == (sched.chair1, sched.cleaning)
    assert appointment.note == "Sensitive upper left"
    assert appointment.booked_by == world.frontdesk
    # The drawer now shows the appointment, and the calendar is told to reload.
    assert response["HX-Trigger"] == "schedule-changed"
    assert response.context["appointment"] == appointment
    assert "李四 is booked for 2026-09-14 09:15–10:00" in text(response)


def test_a_clash_is_named_and_what_was_typed_is_kept(
    desk: Client, world: World, sched: Sched
) -> None:
    book(world, sched.zhang, at(MONDAY, "09:00"), 45)

    response = desk.post(reverse("scheduling:new"), booking(sched, world), **HTMX)

    assert response.status_code == 409
    form = response.context["form"]
    clash = "Dr. Li already has 张三 from 09:00 to 09:45."
    assert form.non_field_errors() == [clash]
    page = html(response)
    assert clash in page
    assert "Sensitive upper left" in page
    assert f"{sched.li.name} · {sched.li.record_no}" in page
    assert 'value="09:15"' in page
    assert Appointment.objects.filter(patient=sched.li).count() == 0


def test_a_chair_clash_is_named(desk: Client, world: World, sched: Sched) -> None:
    other = staff_create(
        organization=world.org,
        username="dr-wang",
        display_name="Dr. Wang",
        password=PASSWORD,
        roles=[("doctor", world.clinic1)],
    )
    book(world, sched.zhang, at(MONDAY, "09:00"), 45, chair=sched.chair1)

    response = desk.post(
        reverse("scheduling:new"),
        booking(sched, world, doctor_id=other.pk, allow_outside_hours="on"),
        **HTMX,
    )

    assert response.status_code == 409
    assert response.context["form"].non_field_errors() == [
        "Chair 1 is already taken by 张三 (Dr. Li) from 09:00 to 09:45."
    ]


def test_outside_working_hours_needs_the_box_ticked(
    desk: Client, world: World, sched: Sched
) -> None:
    late = booking(sched, world, start="18:30", minutes="30")

    refused = desk.post(reverse("scheduling:new"), late, **HTMX)
    allowed = desk.post(reverse("scheduling:new"), {**late, "allow_outside_hours": "on"}, **HTMX)

    assert refused.status_code == 400
    assert "does not work at Downtown Clinic from 18:30 to 19:00" in str(
        refused.context["form"].non_field_errors()
    )
    assert allowed.status_code == 200
    assert Appointment.objects.get(patient=sched.li).start == at(MONDAY, "18:30")


def test_booking_needs_a_patient_and_a_doctor(desk: Client, world: World, sched: Sched) -> None:
    response = desk.post(
        reverse("scheduling:new"), booking(sched, world, patient_id="", doctor_id=""), **HTMX
    )

    assert response.status_code == 400
    errors = response.context["form"].errors
    assert errors["patient_id"] == ["Choose a patient."]
    assert errors["doctor_id"] == ["Choose a doctor."]


def test_a_patient_of_another_organization_cannot_be_booked(
    desk: Client, world: World, sched: Sched
) -> None:
    response = desk.post(
        reverse("scheduling:new"), booking(sched, world, patient_id=sched.patient_b.pk), **HTMX
    )

    assert response.status_code == 400
    assert response.context["form"].errors["patient_id"] == ["Patient not found."]
    assert not Appointment.objects.exists()


def test_booking_without_htmx_goes_back_to_the_calendar(
    desk: Client, world: World, sched: Sched
) -> None:
    form_page = desk.get(reverse("scheduling:new"))
    response = desk.post(reverse("scheduling:new"), booking(sched, world))

    assert form_page.status_code == 200
    assert "<html" in html(form_page)
    assert response.status_code == 302
    assert response["Location"] == calendar_url(date="2026-09-14")


def test_walk_in_is_arrived_now(desk: Client, world: World, sched: Sched, clock: Clock) -> None:
    clock.set(at(MONDAY, "10:07"))

    response = desk.post(
        reverse("scheduling:walk_in"),
        {"patient_id": sched.wang.pk, "doctor_id": world.doctor.pk, "appointment_type_id": ""},
        **HTMX,
    )

    assert response.status_code == 200
    walk_in = Appointment.objects.get(patient=sched.wang)
    assert walk_in.status == AppointmentStatus.ARRIVED
    assert walk_in.source == "walk_in"
    assert (walk_in.start, walk_in.end) == (at(MONDAY, "10:07"), at(MONDAY, "10:37"))
    assert "王五 is checked in with Dr. Li." in text(response)


# --- the drawer and the lifecycle ------------------------------------------------------


def test_drawer_shows_patient_appointment_and_history(
    desk: Client, world: World, sched: Sched
) -> None:
    earlier = book(world, sched.zhang, at(date(2026, 9, 12), "10:00"), allow_outside_hours=True)
    Appointment.objects.filter(pk=earlier.pk).update(status=AppointmentStatus.COMPLETED)
    appointment = book(world, sched.zhang, at(MONDAY, "09:00"), 45, appointment_type=sched.cleaning)

    response = desk.get(reverse("scheduling:detail", args=[appointment.pk]), **HTMX)

    assert response.status_code == 200
    page = text(response)
    for shown in (
        "张三",
        sched.zhang.record_no,
        "2026-09-14 09:00–09:45",
        "Dr. Li",
        "Cleaning",
        "Last visit 2026-09-12",
        "Booked",
        "Front Desk",
    ):
        assert shown in page, shown
    assert reverse("patients:detail", args=[sched.zhang.pk]) in html(response)
    actions = response.context["actions"]
    assert all(actions[step] for step in ("confirm", "check_in", "cancel", "move"))
    assert not actions["no_show"]  # it has not started yet
    assert not actions["start"]  # front desks do not treat


def test_without_htmx_the_drawer_is_a_page(desk: Client, world: World, sched: Sched) -> None:
    appointment = book(world, sched.zhang, at(MONDAY, "09:00"))

    response = desk.get(reverse("scheduling:detail", args=[appointment.pk]))

    assert response.status_code == 200
    assert "<html" in html(response)
    assert 'id="drawer" class="drawer-static"' in html(response)


def post_step(client: Client, name: str, appointment: Appointment, **data: Any) -> Any:
    return client.post(reverse(f"scheduling:{name}", args=[appointment.pk]), data, **HTMX)


def test_the_whole_visit_through_the_drawer(
    as_staff: Signer, desk: Client, world: World, sched: Sched, clock: Clock
) -> None:
    appointment = book(world, sched.zhang, at(MONDAY, "09:00"))
    doctor = as_staff(world.doctor)

    confirmed = post_step(desk, "confirm", appointment)
    checked_in = post_step(desk, "check_in", appointment)
    started = post_step(doctor, "start", appointment)
    completed = post_step(doctor, "complete", appointment)

    for response in (confirmed, checked_in, started, completed):
        assert response.status_code == 200
        assert response["HX-Trigger"] == "schedule-changed"
    assert "张三 is confirmed." in text(confirmed)
    assert "张三 is checked in." in text(checked_in)
    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.COMPLETED
    titles = [line.title for line in completed.context["history"]]
    assert titles == ["Booked", "Confirmed", "Arrived", "In treatment", "Completed"]


def test_a_step_the_status_does_not_allow_is_shown_in_the_drawer(
    desk: Client, world: World, sched: Sched
) -> None:
    appointment = book(world, sched.zhang, at(MONDAY, "09:00"))

    response = post_step(desk, "no_show", appointment)

    assert response.status_code == 409
    assert "it cannot be a no-show before then" in text(response)
    assert "HX-Trigger" not in response
    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.BOOKED


def test_checking_in_a_visit_of_another_day_is_refused(
    desk: Client, world: World, sched: Sched
) -> None:
    appointment = book(world, sched.zhang, at(TUESDAY, "09:00"))

    response = post_step(desk, "check_in", appointment)

    assert response.status_code == 409
    assert "patients are checked in on the day" in text(response)
    assert not response.context["actions"]["check_in"]


def test_cancel_needs_a_reason(desk: Client, world: World, sched: Sched) -> None:
    appointment = book(world, sched.zhang, at(MONDAY, "09:00"))

    refused = post_step(desk, "cancel", appointment, reason="  ")
    done = post_step(desk, "cancel", appointment, reason="Feeling unwell")

    assert refused.status_code == 400
    assert refused.context["cancel_form"].errors["reason"] == [
        "Say why the appointment is cancelled."
    ]
    assert refused.context["open_form"] == "cancel"
    assert done.status_code == 200
    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.CANCELLED
    assert appointment.cancel_reason == "Feeling unwell"
    assert "Feeling unwell" in text(done)


def test_moving_keeps_the_old_time_in_the_history(desk: Client, world: World, sched: Sched) -> None:
    appointment = book(world, sched.zhang, at(MONDAY, "09:00"), 45, chair=sched.chair1)
    move = {
        "date": "2026-09-15",
        "start": "14:00",
        "minutes": "45",
        "doctor_id": world.doctor.pk,
        "chair_id": sched.chair2.pk,
        "reason": "Patient asked",
    }

    response = post_step(desk, "move", appointment, **move)

    assert response.status_code == 200
    appointment.refresh_from_db()
    assert (appointment.start, appointment.chair) == (at(TUESDAY, "14:00"), sched.chair2)
    moved = response.context["history"][-1]
    assert moved.title == "Moved"
    assert moved.detail == (
        "from 2026-09-14 09:00–09:45 · Dr. Li · Chair 1 "
        "to 2026-09-15 14:00–14:45 · Dr. Li · Chair 2 · Patient asked"
    )


def test_moving_onto_a_booked_time_names_the_clash(
    desk: Client, world: World, sched: Sched
) -> None:
    book(world, sched.li, at(TUESDAY, "14:00"))
    appointment = book(world, sched.zhang, at(MONDAY, "09:00"))

    response = post_step(
        desk,
        "move",
        appointment,
        date="2026-09-15",
        start="14:15",
        minutes="30",
        doctor_id=world.doctor.pk,
        chair_id="",
    )

    assert response.status_code == 409
    assert response.context["open_form"] == "move"
    assert response.context["move_form"].non_field_errors() == [
        "Dr. Li already has 李四 from 14:00 to 14:30."
    ]
    appointment.refresh_from_db()
    assert appointment.start == at(MONDAY, "09:00")


def test_lifecycle_steps_without_htmx_redirect_with_a_message(
    desk: Client, world: World, sched: Sched
) -> None:
    appointment = book(world, sched.zhang, at(MONDAY, "09:00"))

    response = desk.post(reverse("scheduling:confirm", args=[appointment.pk]))

    assert response.status_code == 302
    assert response["Location"] == reverse("scheduling:detail", args=[appointment.pk])


def test_actions_are_post_only(desk: Client, world: World, sched: Sched) -> None:
    appointment = book(world, sched.zhang, at(MONDAY, "09:00"))

    response = desk.get(reverse("scheduling:check_in", args=[appointment.pk]))

    assert response.status_code == 405
    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.BOOKED


# --- today's work ----------------------------------------------------------------------


def test_today_counts_visits_and_persons(desk: Client, world: World, sched: Sched) -> None:
    first = book(world, sched.zhang, at(MONDAY, "09:00"))
    book(world, sched.zhang, at(MONDAY, "14:00"))  # the same patient comes twice
    book(world, sched.li, at(MONDAY, "10:00"))
    appointment_check_in(appointment=first, actor=world.frontdesk)
    book(world, sched.wang, at(TUESDAY, "09:00"))  # tomorrow: not today's work

    response = desk.get(reverse("scheduling:today"))

    assert response.status_code == 200
    assert count_of(response, "arrived", "visits") == 1
    assert count_of(response, "arrived", "persons") == 1
    assert count_of(response, "not-arrived", "visits") == 2
    assert count_of(response, "not-arrived", "persons") == 2
    assert [r.appointment.patient.name for r in response.context["not_arrived"]] == ["李四", "张三"]
    assert "王五" not in html(response)
    # It reloads itself every 30 seconds, keeping the filter.
    assert 'hx-trigger="every 30s, schedule-changed from:body"' in html(response)


def test_check_in_from_today_moves_the_row_and_updates_the_counts(
    desk: Client, world: World, sched: Sched
) -> None:
    zhang = book(world, sched.zhang, at(MONDAY, "09:00"))
    book(world, sched.li, at(MONDAY, "10:00"))
    before = desk.get(reverse("scheduling:today"))
    assert count_of(before, "not-arrived", "visits") == 2
    assert f'hx-post="{reverse("scheduling:check_in", args=[zhang.pk])}"' in html(before)

    response = desk.post(
        reverse("scheduling:check_in", args=[zhang.pk]), {"back": "today", "doctor": ""}, **HTMX
    )

    assert response.status_code == 200
    assert html(response).lstrip().startswith('<div id="today-board"')
    assert count_of(response, "arrived", "visits") == 1
    assert count_of(response, "not-arrived", "visits") == 1
    assert [r.appointment.pk for r in response.context["waiting"]] == [zhang.pk]
    assert zhang.pk not in [r.appointment.pk for r in response.context["not_arrived"]]
    assert "张三 is checked in." in text(response)


def test_a_second_check_in_from_today_shows_why_it_failed(
    desk: Client, world: World, sched: Sched
) -> None:
    zhang = book(world, sched.zhang, at(MONDAY, "09:00"))
    appointment_check_in(appointment=zhang, actor=world.boss)

    response = desk.post(reverse("scheduling:check_in", args=[zhang.pk]), {"back": "today"}, **HTMX)

    assert response.status_code == 409
    assert "Only a booked or confirmed appointment can be checked in" in text(response)
    assert count_of(response, "arrived", "visits") == 1


def test_a_doctor_sees_their_own_column_first_and_can_filter_mine(
    as_staff: Signer, world: World, sched: Sched
) -> None:
    other = staff_create(
        organization=world.org,
        username="dr-zhu",
        display_name="Dr. Zhu",  # sorts after Dr. Li
        password=PASSWORD,
        roles=[("doctor", world.clinic1), ("nurse", world.clinic1)],
    )
    book(world, sched.zhang, at(MONDAY, "09:00"))
    book(world, sched.li, at(MONDAY, "09:00"), doctor=other, allow_outside_hours=True)
    # A doctor who is also a nurse sees the whole clinic.
    client = as_staff(other)

    everything = client.get(reverse("scheduling:today"))
    mine = client.get(reverse("scheduling:today"), {"doctor": "mine"})

    assert [c.doctor for c in everything.context["columns"]] == [other, world.doctor]
    assert len(everything.context["not_arrived"]) == 2
    assert [r.appointment.patient.name for r in mine.context["not_arrived"]] == ["李四"]
    assert mine.context["filter"] == "mine"
    # The counts of the clinic stay whole.
    assert count_of(mine, "not-arrived", "visits") == 2


def test_a_doctor_who_sees_only_their_own_gets_only_their_own(
    as_staff: Signer, world: World, sched: Sched
) -> None:
    other = staff_create(
        organization=world.org,
        username="dr-an",
        display_name="Dr. An",
        password=PASSWORD,
        roles=[("doctor", world.clinic1)],
    )
    theirs = book(world, sched.li, at(MONDAY, "09:00"), doctor=other, allow_outside_hours=True)
    mine = book(world, sched.zhang, at(MONDAY, "09:00"))
    client = as_staff(world.doctor)

    today = client.get(reverse("scheduling:today"))
    calendar = client.get(calendar_url(date=MONDAY))

    assert [r.appointment for r in today.context["not_arrived"]] == [mine]
    assert [c.title for c in calendar.context["grid"].columns] == ["Dr. Li"]
    assert client.get(reverse("scheduling:detail", args=[theirs.pk])).status_code == 404
    assert post_step(client, "start", theirs).status_code == 404
    # Doctors treat; they do not book or check in.
    assert post_step(client, "check_in", mine).status_code == 403
    assert client.get(reverse("scheduling:new")).status_code == 403


# --- query counts ----------------------------------------------------------------------


def many_patients(world: World, n: int) -> list[Patient]:
    return [
        patient_create(actor=world.boss, clinic=world.clinic1, name=f"Patient {i}")
        for i in range(n)
    ]


def fill_monday(world: World, sched: Sched, patients: list[Patient]) -> None:
    """29 more 15-minute visits beside the first at 09:00: Dr. Li's day is full."""
    starts = [at(MONDAY, "09:15") + timedelta(minutes=15 * i) for i in range(11)]
    starts += [at(MONDAY, "13:30") + timedelta(minutes=15 * i) for i in range(18)]
    for i, begins in enumerate(starts):
        book(
            world,
            patients[i % len(patients)],
            begins,
            15,
            chair=(sched.chair1, sched.chair2, None)[i % 3],
            appointment_type=(sched.cleaning, sched.checkup, None)[i % 3],
        )


def queries_of(client: Client, url: str, **headers: Any) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url, **headers).status_code == 200
    return len(queries)


PAGES = [
    pytest.param(lambda: calendar_url(date=MONDAY), id="day"),
    pytest.param(lambda: calendar_url(date=MONDAY, by="chair"), id="chairs"),
    pytest.param(lambda: calendar_url(date=MONDAY, view="week"), id="week"),
    pytest.param(lambda: reverse("scheduling:today"), id="today"),
]


@pytest.mark.parametrize("url", PAGES)
def test_pages_have_flat_query_counts(
    desk: Client,
    world: World,
    sched: Sched,
    url: Callable[[], str],
    django_assert_max_num_queries: Any,
) -> None:
    book(world, sched.zhang, at(MONDAY, "09:00"), 15)
    desk.get(url())  # warm up: the session and Django's own caches
    with_one = queries_of(desk, url())
    assert with_one <= 16
    fill_monday(world, sched, many_patients(world, 10))

    with django_assert_max_num_queries(with_one):
        response = desk.get(url())

    assert html(response).count("data-appointment=") >= 30


def test_the_drawer_has_a_flat_query_count(
    desk: Client, world: World, sched: Sched, django_assert_max_num_queries: Any
) -> None:
    appointment = book(world, sched.zhang, at(MONDAY, "09:00"))
    url = reverse("scheduling:detail", args=[appointment.pk])
    desk.get(url, **HTMX)
    with_one_event = queries_of(desk, url, **HTMX)
    for step in ("confirm", "check_in"):
        post_step(desk, step, appointment)

    with django_assert_max_num_queries(with_one_event):
        desk.get(url, **HTMX)


# --- permissions and isolation ---------------------------------------------------------


def test_the_sidebar_links_the_schedule_pages(desk: Client, world: World, sched: Sched) -> None:
    response = desk.get(reverse("scheduling:today"))

    navigation = {str(item["label"]): item for item in response.context["navigation"]}
    assert navigation["Today's work"]["active"]
    assert not navigation["Schedule"]["active"]


def test_staff_without_the_schedule_cannot_open_it(
    as_staff: Signer, world: World, sched: Sched
) -> None:
    clerk = staff_create(
        organization=world.org,
        username="clerk",
        display_name="Clerk",
        password=PASSWORD,
        roles=[("inventory_clerk", world.clinic1)],
    )
    client = as_staff(clerk)

    for url in (reverse("scheduling:calendar"), reverse("scheduling:today")):
        assert client.get(url).status_code == 403
    labels = [str(i["label"]) for i in client.get("/").context["navigation"]]
    assert "Schedule" not in labels


def test_a_nurse_sees_but_cannot_book(as_staff: Signer, world: World, sched: Sched) -> None:
    nurse = staff_create(
        organization=world.org,
        username="nurse",
        display_name="Nurse",
        password=PASSWORD,
        roles=[("nurse", world.clinic1)],
    )
    appointment = book(world, sched.zhang, at(MONDAY, "09:00"))
    client = as_staff(nurse)

    calendar = client.get(calendar_url(date=MONDAY))
    drawer = client.get(reverse("scheduling:detail", args=[appointment.pk]), **HTMX)

    assert calendar.status_code == 200
    assert 'class="slot' in html(calendar)
    assert '<button type="button" class="slot' not in html(calendar)
    assert not drawer.context["any_action"]
    assert post_step(client, "confirm", appointment).status_code == 403
    assert client.post(reverse("scheduling:new"), booking(sched, world)).status_code == 403


@pytest.fixture
def clinic2_appointment(world: World, sched: Sched) -> Appointment:
    with tenant_scope(world.org, world.clinic2):
        return appointment_book(
            clinic=world.clinic2,
            patient=sched.wang,
            doctor=world.boss,
            start=at(MONDAY, "09:00"),
            end=at(MONDAY, "09:30"),
            actor=world.boss,
            allow_outside_hours=True,
        )


ACTIONS = ["confirm", "check_in", "start", "complete", "no_show", "cancel", "move"]


def test_front_desk_of_clinic_1_never_reaches_clinic_2(
    desk: Client, world: World, sched: Sched, clinic2_appointment: Appointment
) -> None:
    detail = reverse("scheduling:detail", args=[clinic2_appointment.pk])

    assert desk.get(detail, **HTMX).status_code == 404
    for step in ("confirm", "check_in", "no_show", "cancel", "move"):
        assert post_step(desk, step, clinic2_appointment).status_code == 404, step
    assert "王五" not in html(desk.get(calendar_url(date=MONDAY)))
    assert "王五" not in html(desk.get(calendar_url(date=MONDAY, view="week")))
    assert "王五" not in html(desk.get(reverse("scheduling:today")))
    clinic2_appointment.refresh_from_db()
    assert clinic2_appointment.status == AppointmentStatus.BOOKED


def test_another_organization_gets_404_on_every_appointment_url(
    as_staff: Signer, world: World, sched: Sched
) -> None:
    appointment = book(world, sched.zhang, at(MONDAY, "09:00"))
    outsider = as_staff(world.boss_b)

    assert outsider.get(reverse("scheduling:detail", args=[appointment.pk])).status_code == 404
    for step in ACTIONS:
        assert post_step(outsider, step, appointment).status_code == 404, step
    for url in (calendar_url(date=MONDAY), reverse("scheduling:today")):
        response = outsider.get(url)
        assert response.status_code == 200
        assert "张三" not in html(response)
    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.BOOKED
    assert AppointmentEvent.objects.filter(appointment=appointment).count() == 1


def test_another_organization_cannot_book_our_patient_or_doctor(
    as_staff: Signer, world: World, sched: Sched
) -> None:
    outsider = as_staff(world.boss_b)

    response = outsider.post(
        reverse("scheduling:new"),
        {
            "patient_id": sched.zhang.pk,
            "doctor_id": world.doctor.pk,
            "date": "2026-09-14",
            "start": "09:00",
            "minutes": "30",
        },
        **HTMX,
    )

    assert response.status_code == 400
    assert "doctor_id" in response.context["form"].errors
    assert not Appointment.all_tenants.filter(patient=sched.zhang).exists()
