"""Booking analytics (S5): no-show and cancellation rates, lead time, utilisation by day; the
API and the page show only the acting clinic's figures, and the queries stay flat."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from chairside.core.errors import ValidationFailed
from chairside.core.tenancy import tenant_scope
from chairside.scheduling.analytics import booking_analytics, percentile
from chairside.scheduling.models import Appointment
from chairside.scheduling.services import (
    appointment_book,
    appointment_cancel,
    appointment_check_in,
    appointment_complete,
    appointment_mark_no_show,
    appointment_start,
)
from tests.apiclient import ApiClient
from tests.conftest import World
from tests.scheduling.conftest import MONDAY, TUESDAY, Clock, Sched, at

WORKING_MINUTES = 3 * 60 + 270  # Dr. Li: 09:00-12:00 and 13:30-18:00


@dataclass
class Week:
    completed: Appointment  # Monday 09:00-09:30, chair 1, booked 1 h ahead
    no_show: Appointment  # Monday 10:00-10:30, booked 2 h ahead
    cancelled: Appointment  # Monday 14:00-14:30, booked 6 h ahead
    tomorrow: Appointment  # Tuesday 09:00-10:00, chair 2, booked 25 h ahead, phone


def _book(world: World, sched: Sched, start: str, minutes: int, **kw: object) -> Appointment:
    day = kw.pop("day", MONDAY)
    assert isinstance(day, date)
    return appointment_book(
        clinic=world.clinic1,
        patient=sched.zhang,
        doctor=world.doctor,
        start=at(day, start),
        end=at(day, start) + timedelta(minutes=minutes),
        actor=world.frontdesk,
        **kw,  # type: ignore[arg-type]
    )


@pytest.fixture
def week(world: World, sched: Sched, clock: Clock) -> Week:
    with tenant_scope(world.org, world.clinic1):
        clock.set(at(MONDAY, "08:00"))
        completed = _book(world, sched, "09:00", 30, chair=sched.chair1)
        no_show = _book(world, sched, "10:00", 30)
        cancelled = _book(world, sched, "14:00", 30)
        tomorrow = _book(world, sched, "09:00", 60, day=TUESDAY, chair=sched.chair2, source="phone")
        clock.set(at(MONDAY, "12:00"))
        appointment_check_in(appointment=completed, actor=world.frontdesk)
        appointment_start(appointment=completed, actor=world.doctor)
        appointment_complete(appointment=completed, actor=world.doctor)
        appointment_mark_no_show(appointment=no_show, actor=world.frontdesk)
        appointment_cancel(appointment=cancelled, actor=world.frontdesk, reason="Ill")
    # The model's created_at default is bound to the real clock, not the test's stopped one.
    Appointment.all_tenants.filter(organization=world.org).update(created_at=at(MONDAY, "08:00"))
    return Week(completed, no_show, cancelled, tomorrow)


def test_rates_lead_time_and_utilisation(world: World, week: Week) -> None:
    with tenant_scope(world.org, world.clinic1):
        figures = booking_analytics(clinic=world.clinic1, date_from=MONDAY, date_to=TUESDAY)

    assert figures.total == 4
    assert figures.by_status["completed"] == 1
    assert figures.by_source == {
        "front_desk": 3,
        "portal": 0,
        "walk_in": 0,
        "recall": 0,
        "phone": 1,
    }
    # No-shows of the visits that were due (the completed one and the no-show).
    assert (figures.no_show.count, figures.no_show.out_of, figures.no_show.rate) == (1, 2, 0.5)
    assert (figures.cancellation.count, figures.cancellation.out_of) == (1, 4)
    # Booked 1, 2, 6 and 25 hours ahead.
    assert figures.lead_time.count == 4
    assert figures.lead_time.median_hours == pytest.approx(4.0)
    assert figures.lead_time.p90_hours == pytest.approx(6 + 0.7 * 19)
    by_source = {lead.source: lead for lead in figures.lead_time_by_source}
    assert by_source["phone"].median_hours == pytest.approx(25.0)
    assert by_source["front_desk"].median_hours == pytest.approx(2.0)
    monday, tuesday = figures.days
    # Monday: the completed half hour is booked time; the no-show and the cancelled are not.
    assert (monday.day, monday.doctor_working_minutes, monday.doctor_booked_minutes) == (
        MONDAY,
        WORKING_MINUTES,
        30,
    )
    assert monday.doctor_rate == pytest.approx(30 / WORKING_MINUTES)
    # Two chairs, open while Dr. Li works.
    assert (monday.chair_open_minutes, monday.chair_booked_minutes) == (2 * WORKING_MINUTES, 30)
    assert (tuesday.doctor_booked_minutes, tuesday.chair_booked_minutes) == (60, 60)


def test_days_without_work_have_no_rate(world: World, sched: Sched) -> None:
    sunday = MONDAY - timedelta(days=1)
    with tenant_scope(world.org, world.clinic1):
        figures = booking_analytics(clinic=world.clinic1, date_from=sunday, date_to=sunday)

    assert figures.total == 0
    assert figures.no_show.rate is None
    assert figures.lead_time.median_hours is None
    [day] = figures.days
    assert (day.doctor_rate, day.chair_rate) == (None, None)


def test_ranges_longer_than_92_days_are_refused(world: World, sched: Sched) -> None:
    with tenant_scope(world.org, world.clinic1), pytest.raises(ValidationFailed):
        booking_analytics(
            clinic=world.clinic1, date_from=MONDAY, date_to=MONDAY + timedelta(days=92)
        )
    with tenant_scope(world.org, world.clinic1):
        figures = booking_analytics(
            clinic=world.clinic1, date_from=MONDAY, date_to=MONDAY + timedelta(days=91)
        )
    assert len(figures.days) == 92


def test_percentile_interpolates_like_percentile_cont() -> None:
    assert percentile([], 0.5) is None
    assert percentile([3.0], 0.9) == 3.0
    assert percentile([1.0, 2.0, 3.0, 4.0], 0.5) == 2.5
    assert percentile([0.0, 10.0], 0.9) == pytest.approx(9.0)


def test_the_number_of_queries_does_not_grow_with_the_data(
    world: World, sched: Sched, week: Week, clock: Clock
) -> None:
    def queries(last: date) -> int:
        with tenant_scope(world.org, world.clinic1), CaptureQueriesContext(connection) as ctx:
            booking_analytics(clinic=world.clinic1, date_from=MONDAY, date_to=last)
        return len(ctx)

    few = queries(TUESDAY)
    with tenant_scope(world.org, world.clinic1):
        clock.set(at(MONDAY, "08:00"))
        for offset in range(2, 12):
            day = MONDAY + timedelta(days=offset)
            if day.weekday() < 6:
                _book(
                    world, sched, "15:00", 45, day=day, chair=sched.chair1, allow_outside_hours=True
                )
    many = queries(MONDAY + timedelta(days=60))

    assert few == many
    assert many <= 8


# --- API and page ---------------------------------------------------------------------


def test_the_api_gives_the_acting_clinics_figures(world: World, week: Week) -> None:
    api = ApiClient(world.boss, clinic=world.clinic1)

    response = api.get("/schedule-analytics", date_from="2026-09-14", date_to="2026-09-15")

    assert response.status == 200, response
    body = response.json
    assert body["total"] == 4
    assert body["no_show"] == {"count": 1, "out_of": 2, "rate": 0.5}
    assert [d["date"] for d in body["days"]] == ["2026-09-14", "2026-09-15"]
    assert body["days"][0]["doctor_booked_minutes"] == 30
    assert {lead["source"] for lead in body["lead_time_by_source"]} == {"front_desk", "phone"}


def test_the_api_defaults_to_the_last_30_days(world: World, week: Week) -> None:
    response = ApiClient(world.boss, clinic=world.clinic1).get("/schedule-analytics")

    assert response.status == 200
    assert response.json["date_to"] == "2026-09-14"
    assert response.json["date_from"] == "2026-08-16"
    assert response.json["total"] == 3  # Monday's; Tuesday's is after the range


def test_the_api_refuses_long_or_backward_ranges(world: World, sched: Sched) -> None:
    api = ApiClient(world.boss, clinic=world.clinic1)

    too_long = api.get("/schedule-analytics", date_from="2026-01-01", date_to="2026-09-14")
    backward = api.get("/schedule-analytics", date_from="2026-09-14", date_to="2026-09-01")

    assert (too_long.status, backward.status) == (400, 400)


def test_other_organizations_and_clinics_see_none_of_it(world: World, week: Week) -> None:
    params = {"date_from": "2026-09-14", "date_to": "2026-09-15"}

    org_b = ApiClient(world.boss_b, clinic=world.clinic_b).get("/schedule-analytics", **params)
    clinic2 = ApiClient(world.boss, clinic=world.clinic2).get("/schedule-analytics", **params)
    foreign_clinic = ApiClient(world.boss_b, clinic=world.clinic1).get(
        "/schedule-analytics", **params
    )

    assert org_b.status == 200
    assert org_b.json["total"] == 0
    assert org_b.json["clinic_id"] == world.clinic_b.pk
    assert clinic2.json["total"] == 0
    assert foreign_clinic.status in (400, 403, 404)


def test_front_desk_and_doctors_may_not_read_analytics(world: World, week: Week) -> None:
    desk = ApiClient(world.frontdesk, clinic=world.clinic1).get("/schedule-analytics")
    desk_in_c2 = ApiClient(world.frontdesk, clinic=world.clinic2).get("/schedule-analytics")
    doctor = ApiClient(world.doctor, clinic=world.clinic1).get("/schedule-analytics")

    assert (desk.status, desk_in_c2.status, doctor.status) == (403, 403, 403)


def _browser(world: World, staff: object) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(staff)  # type: ignore[arg-type]
    return client


def test_the_page_draws_the_charts_with_echarts(world: World, week: Week) -> None:
    response = _browser(world, world.boss).get(
        "/schedule/analytics/", {"date_from": "2026-09-14", "date_to": "2026-09-15"}
    )

    assert response.status_code == 200
    page = response.content.decode()
    assert "vendor/echarts/echarts.min.js" in page
    assert 'id="chart-utilisation"' in page
    assert 'id="analytics-data"' in page
    assert "50.0%" in page  # the no-show rate


def test_the_page_refuses_the_front_desk_and_long_ranges(world: World, week: Week) -> None:
    desk = _browser(world, world.frontdesk).get("/schedule/analytics/")
    too_long = _browser(world, world.boss).get(
        "/schedule/analytics/", {"date_from": "2026-01-01", "date_to": "2026-09-14"}
    )

    assert desk.status_code == 403
    assert too_long.status_code == 400
    assert "at most 92 days" in too_long.content.decode()


def test_echarts_is_served_from_node_modules() -> None:
    from django.contrib.staticfiles import finders

    assert finders.find("vendor/echarts/echarts.min.js")
