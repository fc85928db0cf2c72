"""The scheduling API: every operation refuses other organizations (404, as if missing) and
clinics the caller does not work in (403); clashes are 409 with the clash in words; doctors
see their own day; odd input is 400, never 500; list queries stay flat."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, time, timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from chairside.api import api as chairside_api
from chairside.core.models import AuditEntry
from chairside.core.services import staff_create
from chairside.core.tenancy import tenant_scope
from chairside.patients.services import patient_create
from chairside.scheduling.models import (
    Appointment,
    AppointmentEvent,
    Chair,
    DoctorShift,
    FollowUpTask,
    ScheduleException,
)
from chairside.scheduling.services import (
    appointment_book,
    schedule_exception_create,
    shift_create,
)
from tests.apiclient import ApiClient, Endpoint, documented_operations
from tests.conftest import PASSWORD, World
from tests.core.test_api import is_error
from tests.scheduling.conftest import MONDAY, TUESDAY, Clock, Sched, at

WEDNESDAY = date(2026, 9, 16)


@dataclass
class Data:
    sched: Sched
    appointment: Appointment  # Monday 09:00-09:30, Zhang with Dr. Li in chair 1
    shift: DoctorShift
    exception: ScheduleException
    appointment_c2: Appointment  # clinic 2, with the boss
    appointment_b: Appointment
    shift_b: DoctorShift
    exception_b: ScheduleException
    follow_up: FollowUpTask | None = None  # clinic 1, for the appointment

    def ids(self, world: World) -> dict[str, int]:
        """Organization A's ids, and B's (suffix _b) for requests mixing the two."""
        s = self.sched
        return {
            "appointment": self.appointment.pk,
            "chair": s.chair1.pk,
            "type": s.cleaning.pk,
            "shift": self.shift.pk,
            "exception": self.exception.pk,
            "follow_up": self.follow_up.pk if self.follow_up else 0,
            "patient": s.zhang.pk,
            "doctor": world.doctor.pk,
            "appointment_b": self.appointment_b.pk,
            "chair_b": s.chair_b.pk,
            "type_b": s.type_b.pk,
            "shift_b": self.shift_b.pk,
            "exception_b": self.exception_b.pk,
            "patient_b": s.patient_b.pk,
            "doctor_b": world.boss_b.pk,
        }


@pytest.fixture
def data(world: World, sched: Sched) -> Data:
    with tenant_scope(world.org, world.clinic1):
        appointment = appointment_book(
            clinic=world.clinic1,
            patient=sched.zhang,
            doctor=world.doctor,
            chair=sched.chair1,
            start=at(MONDAY, "09:00"),
            end=at(MONDAY, "09:30"),
            actor=world.frontdesk,
        )
        shift = DoctorShift.objects.filter(doctor=world.doctor, weekday=0).order_by("start")[0]
        exception = schedule_exception_create(
            actor=world.boss,
            clinic=world.clinic1,
            doctor=world.doctor,
            day=WEDNESDAY,
            kind="leave",
            start=time(16),
            end=time(18),
        )
        appointment_c2 = appointment_book(
            clinic=world.clinic2,
            patient=sched.wang,
            doctor=world.boss,
            start=at(MONDAY, "09:00"),
            end=at(MONDAY, "09:30"),
            actor=world.boss,
            allow_outside_hours=True,
        )
    with tenant_scope(world.org_b, world.clinic_b):
        shift_b = shift_create(
            actor=world.boss_b,
            clinic=world.clinic_b,
            doctor=world.boss_b,
            weekday=0,
            start=time(9),
            end=time(12),
        )
        exception_b = schedule_exception_create(
            actor=world.boss_b,
            clinic=world.clinic_b,
            doctor=world.boss_b,
            day=TUESDAY,
            kind="leave",
        )
        appointment_b = appointment_book(
            clinic=world.clinic_b,
            patient=sched.patient_b,
            doctor=world.boss_b,
            chair=sched.chair_b,
            start=at(MONDAY, "10:00"),
            end=at(MONDAY, "10:30"),
            actor=world.boss_b,
        )
    with tenant_scope(world.org, world.clinic1):
        follow_up = FollowUpTask.objects.create(
            clinic=world.clinic1,
            appointment=appointment,
            patient=sched.zhang,
            kind=FollowUpTask.Kind.NO_SHOW,
            due_at=at(TUESDAY, "09:00"),
        )
    return Data(
        sched,
        appointment,
        shift,
        exception,
        appointment_c2,
        appointment_b,
        shift_b,
        exception_b,
        follow_up,
    )


def count(model: type[Any], world: World) -> int:
    return int(model.all_tenants.filter(organization=world.org).count())


TUESDAY_9 = "2026-09-15T09:00:00+08:00"
ZHANG_LI = {"patient_id": "{patient}", "doctor_id": "{doctor}"}

# Every scheduling operation; test_every_scheduling_operation_is_covered fails until a new
# one is added here.
SCHEDULING_ENDPOINTS = [
    Endpoint("GET", "/chairs"),
    Endpoint("POST", "/chairs", {"name": "Chair 9"}),
    Endpoint("PATCH", "/chairs/{chair}", {"room": "R9"}),
    Endpoint("GET", "/appointment-types"),
    Endpoint("POST", "/appointment-types", {"code": "fresh", "name": "Fresh"}),
    Endpoint("PATCH", "/appointment-types/{type}", {"name": "Renamed"}),
    Endpoint("GET", "/shifts"),
    Endpoint(
        "POST", "/shifts", {"doctor_id": "{doctor}", "weekday": 6, "start": "09:00", "end": "10:00"}
    ),
    Endpoint("DELETE", "/shifts/{shift}"),
    Endpoint("GET", "/schedule-exceptions"),
    Endpoint(
        "POST",
        "/schedule-exceptions",
        {"doctor_id": "{doctor}", "date": "2026-09-17", "kind": "leave"},
    ),
    Endpoint("DELETE", "/schedule-exceptions/{exception}"),
    Endpoint("GET", "/appointments"),
    Endpoint(
        "POST",
        "/appointments",
        {"patient_id": "{patient}", "doctor_id": "{doctor}", "start": TUESDAY_9, "end": None},
    ),
    Endpoint("POST", "/appointments/walk-in", {"patient_id": "{patient}", "doctor_id": "{doctor}"}),
    Endpoint("GET", "/appointments/{appointment}"),
    Endpoint("POST", "/appointments/{appointment}/confirm"),
    Endpoint("POST", "/appointments/{appointment}/check-in"),
    Endpoint("POST", "/appointments/{appointment}/start"),
    Endpoint("POST", "/appointments/{appointment}/complete"),
    Endpoint("POST", "/appointments/{appointment}/cancel", {"reason": "Ill"}),
    Endpoint("POST", "/appointments/{appointment}/no-show"),
    Endpoint("POST", "/appointments/{appointment}/reschedule", {"start": TUESDAY_9}),
    Endpoint("GET", "/free-slots"),
    Endpoint("GET", "/today-board"),
    Endpoint("GET", "/follow-ups"),
    Endpoint("POST", "/follow-ups/{follow_up}/done", {"note": "Called"}),
    Endpoint("POST", "/follow-ups/{follow_up}/cancel", {}),
    Endpoint("GET", "/schedule-analytics"),
    Endpoint("GET", "/reminder-settings"),
    Endpoint(
        "PUT",
        "/reminder-settings",
        {
            "reminder_enabled": True,
            "reminder_time": "19:00",
            "confirmation_enabled": True,
            "change_notices_enabled": True,
            "no_show_follow_up_enabled": True,
        },
    ),
]

# What organization B's boss sends to reach A's objects, by path, query or body: each must be
# 404 exactly as if the object did not exist, and write nothing.
FOREIGN_LOOKUPS = [
    *[e for e in SCHEDULING_ENDPOINTS if "{" in e.path],
    Endpoint("GET", "/shifts?doctor={doctor}"),
    Endpoint("GET", "/schedule-exceptions?doctor={doctor}"),
    Endpoint("GET", "/appointments?doctor={doctor}"),
    Endpoint("GET", "/appointments?chair={chair}"),
    Endpoint("GET", "/free-slots?appointment_type={type}"),
    Endpoint("GET", "/free-slots?minutes=30&doctor={doctor}"),
    Endpoint("GET", "/free-slots?minutes=30&patient={patient}"),
    Endpoint(
        "POST", "/shifts", {"doctor_id": "{doctor}", "weekday": 6, "start": "09:00", "end": "10:00"}
    ),
    Endpoint(
        "POST",
        "/schedule-exceptions",
        {"doctor_id": "{doctor}", "date": "2026-09-17", "kind": "leave"},
    ),
    *[
        Endpoint("POST", "/appointments", {"start": TUESDAY_9, "end": None, **body})
        for body in (
            {"patient_id": "{patient}", "doctor_id": "{doctor_b}"},
            {"patient_id": "{patient_b}", "doctor_id": "{doctor}"},
            {"patient_id": "{patient_b}", "doctor_id": "{doctor_b}", "chair_id": "{chair}"},
            {
                "patient_id": "{patient_b}",
                "doctor_id": "{doctor_b}",
                "appointment_type_id": "{type}",
            },
        )
    ],
    Endpoint(
        "POST", "/appointments/walk-in", {"patient_id": "{patient}", "doctor_id": "{doctor_b}"}
    ),
    Endpoint(
        "POST", "/appointments/walk-in", {"patient_id": "{patient_b}", "doctor_id": "{doctor}"}
    ),
    Endpoint(
        "POST",
        "/appointments/{appointment_b}/reschedule",
        {"start": TUESDAY_9, "doctor_id": "{doctor}"},
    ),
    Endpoint(
        "POST",
        "/appointments/{appointment_b}/reschedule",
        {"start": TUESDAY_9, "chair_id": "{chair}"},
    ),
]

MISSING = 987654


def missing_ids(ids: dict[str, int]) -> dict[str, int]:
    """A's ids replaced by ids that exist nowhere; B's own kept."""
    return {k: (v if k.endswith("_b") else MISSING) for k, v in ids.items()}


def test_every_scheduling_operation_is_covered(db: None) -> None:
    assert documented_operations(tags={"scheduling"}) == {e.shape for e in SCHEDULING_ENDPOINTS}


def test_every_scheduling_operation_documents_its_errors(db: None) -> None:
    schema = chairside_api.get_openapi_schema(path_prefix="")
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            if "scheduling" in operation.get("tags", []):
                statuses = {str(status) for status in operation["responses"]}
                assert {"400", "401", "403"} <= statuses, (method, path)
                if "{" in path:
                    assert "404" in statuses, (method, path)
                if path.startswith("/appointments") and method == "post":
                    assert "409" in statuses, (method, path)


@pytest.mark.parametrize("endpoint", FOREIGN_LOOKUPS, ids=str)
def test_another_organizations_objects_are_404_like_missing_ones(
    world: World, data: Data, endpoint: Endpoint
) -> None:
    api = ApiClient(world.boss_b)
    ids = data.ids(world)
    before = {m: count(m, world) for m in (Appointment, AppointmentEvent, DoctorShift, Chair)}
    audit_before = count(AuditEntry, world)

    foreign = endpoint.call(api, ids)
    missing = endpoint.call(api, missing_ids(ids))

    assert foreign.status == 404, foreign
    assert is_error(foreign.json, "not_found")
    assert foreign.json == missing.json
    assert {m: count(m, world) for m in before} == before
    assert count(AuditEntry, world) == audit_before


@pytest.mark.parametrize("endpoint", SCHEDULING_ENDPOINTS, ids=str)
def test_front_desk_acting_in_another_clinic_is_refused_everywhere(
    world: World, data: Data, endpoint: Endpoint
) -> None:
    audit_before = count(AuditEntry, world)

    response = endpoint.call(ApiClient(world.frontdesk, clinic=world.clinic2), data.ids(world))

    assert response.status == 403
    assert is_error(response.json, "permission_denied")
    assert count(AuditEntry, world) == audit_before


# Appointment types are shared by the clinics of an organization; everything else belongs
# to one clinic.
CLINIC_OBJECTS = [e for e in SCHEDULING_ENDPOINTS if "{" in e.path and "types" not in e.path]


@pytest.mark.parametrize("endpoint", CLINIC_OBJECTS, ids=str)
def test_another_clinics_objects_are_404_in_the_acting_clinic(
    world: World, data: Data, endpoint: Endpoint
) -> None:
    api = ApiClient(world.boss, clinic=world.clinic2)

    response = endpoint.call(api, data.ids(world))

    assert response.status == 404, response
    assert Appointment.all_tenants.get(pk=data.appointment.pk).status == "booked"


@pytest.mark.parametrize(
    "path",
    [
        "/chairs",
        "/appointment-types",
        "/shifts",
        "/schedule-exceptions?date_to=2026-09-20",
        "/appointments",
        "/today-board",
        "/free-slots?minutes=30",
    ],
)
def test_lists_of_another_organization_show_nothing_of_a(
    world: World, data: Data, path: str
) -> None:
    response = ApiClient(world.boss_b).call("GET", path)

    assert response.status == 200
    text = str(response.json)
    for name in ("Chair 1", "Cleaning", "Dr. Li", "张三"):
        assert name not in text


# Permissions per role


def test_a_doctor_sees_only_their_own_appointments(world: World, data: Data) -> None:
    with tenant_scope(world.org, world.clinic1):
        boss_visit = appointment_book(
            clinic=world.clinic1,
            patient=data.sched.li,
            doctor=world.boss,
            start=at(MONDAY, "10:00"),
            end=at(MONDAY, "10:30"),
            actor=world.frontdesk,
            allow_outside_hours=True,
        )
    doctor = ApiClient(world.doctor)

    listed = doctor.get("/appointments", doctor=world.boss.pk).json["items"]
    board = doctor.get("/today-board").json
    other = doctor.get(f"/appointments/{boss_visit.pk}")
    desk = ApiClient(world.frontdesk).get("/appointments").json["items"]

    assert [a["id"] for a in listed] == [data.appointment.pk]
    assert [c["doctor"]["id"] for c in board["doctors"]] == [world.doctor.pk]
    assert other.status == 404
    assert {a["id"] for a in desk} == {data.appointment.pk, boss_visit.pk}


def test_a_doctor_treats_but_does_not_book(world: World, data: Data, clock: Clock) -> None:
    doctor = ApiClient(world.doctor)
    desk = ApiClient(world.frontdesk)
    path = f"/appointments/{data.appointment.pk}"

    refused = doctor.post(f"{path}/check-in")
    assert desk.post(f"{path}/check-in").status == 200
    started = doctor.post(f"{path}/start")
    desk_complete = desk.post(f"{path}/complete")
    completed = doctor.post(f"{path}/complete")

    assert refused.status == 403
    assert started.json["status"] == "in_treatment"
    assert desk_complete.status == 403
    assert completed.json["status"] == "completed"


def test_a_nurse_sees_the_schedule_but_changes_nothing(world: World, data: Data) -> None:
    nurse = staff_create(
        organization=world.org,
        username="nurse",
        display_name="Nurse Chen",
        password=PASSWORD,
        roles=[("nurse", world.clinic1)],
    )
    api = ApiClient(nurse)

    assert api.get("/appointments").status == 200
    assert api.post(f"/appointments/{data.appointment.pk}/confirm").status == 403
    assert api.post("/chairs", {"name": "Nurse's chair"}).status == 403


def test_staff_without_schedule_access_are_refused(world: World, data: Data) -> None:
    clerk = staff_create(
        organization=world.org,
        username="clerk",
        display_name="Clerk",
        password=PASSWORD,
        roles=[("inventory_clerk", world.clinic1)],
    )

    response = ApiClient(clerk).get("/appointments")

    assert response.status == 403
    assert is_error(response.json, "permission_denied")


# Appointments


def test_booking_answers_201_on_the_clinics_clock(world: World, data: Data) -> None:
    response = ApiClient(world.frontdesk).post(
        "/appointments",
        {
            "patient_id": data.sched.li.pk,
            "doctor_id": world.doctor.pk,
            "start": "2026-09-15T01:00:00Z",
            "appointment_type_id": data.sched.cleaning.pk,
            "chair_id": data.sched.chair2.pk,
            "source": "phone",
            "note": "Sensitive teeth",
        },
    )

    assert response.status == 201
    body = response.json
    assert (body["start"], body["end"]) == (
        "2026-09-15T09:00:00+08:00",
        "2026-09-15T09:45:00+08:00",
    )
    assert body["patient"] == {"id": data.sched.li.pk, "name": "李四", "record_no": "00000002"}
    assert body["doctor"] == {"id": world.doctor.pk, "name": "Dr. Li"}
    assert body["chair"] == {"id": data.sched.chair2.pk, "name": "Chair 2"}
    assert body["appointment_type"]["code"] == "cleaning"
    assert (body["status"], body["source"], body["booked_by"]["id"]) == (
        "booked",
        "phone",
        world.frontdesk.pk,
    )


def test_a_double_booking_is_409_naming_the_clash(world: World, data: Data) -> None:
    before = count(Appointment, world)

    response = ApiClient(world.frontdesk).post(
        "/appointments",
        {
            "patient_id": data.sched.li.pk,
            "doctor_id": world.doctor.pk,
            "start": "2026-09-14T09:15:00+08:00",
            "end": "2026-09-14T09:45:00+08:00",
        },
    )

    assert response.status == 409
    assert response.json == {
        "code": "double_booked",
        "message": "Dr. Li already has 张三 from 09:00 to 09:30.",
        "fields": {"doctor_id": ["Dr. Li already has 张三 from 09:00 to 09:30."]},
    }
    assert count(Appointment, world) == before


def test_a_taken_chair_is_409_naming_the_clash(world: World, data: Data) -> None:
    dr_wang = staff_create(
        organization=world.org,
        username="dr-wang",
        display_name="Dr. Wang",
        password=PASSWORD,
        roles=[("doctor", world.clinic1)],
    )

    response = ApiClient(world.boss).post(
        "/appointments",
        {
            "patient_id": data.sched.li.pk,
            "doctor_id": dr_wang.pk,
            "chair_id": data.sched.chair1.pk,
            "start": "2026-09-14T09:00:00+08:00",
            "end": "2026-09-14T09:30:00+08:00",
            "allow_outside_hours": True,
        },
    )

    assert response.status == 409
    assert (
        response.json["message"] == "Chair 1 is already taken by 张三 (Dr. Li) from 09:00 to 09:30."
    )


def test_clash_messages_follow_the_request_language(world: World, data: Data) -> None:
    api = ApiClient(world.frontdesk, language="zh-hans")

    response = api.post(
        "/appointments",
        {
            "patient_id": data.sched.li.pk,
            "doctor_id": world.doctor.pk,
            "start": "2026-09-14T09:15:00+08:00",
            "end": "2026-09-14T09:45:00+08:00",
        },
    )

    assert response.status == 409
    assert "张三" in response.json["message"]
    assert "09:00" in response.json["message"]


def test_the_detail_shows_the_history(world: World, data: Data) -> None:
    api = ApiClient(world.frontdesk)
    path = f"/appointments/{data.appointment.pk}"
    api.post(f"{path}/confirm")
    api.post(
        f"{path}/reschedule",
        {"start": "2026-09-14T10:00:00", "chair_id": None, "reason": "Traffic"},
    )

    body = api.get(path).json

    assert (body["start"], body["chair"], body["status"]) == (
        "2026-09-14T10:00:00+08:00",
        None,
        "confirmed",
    )
    assert [(h["kind"], h["to_status"]) for h in body["history"]] == [
        ("created", "booked"),
        ("status_changed", "confirmed"),
        ("rescheduled", ""),
    ]
    moved = body["history"][2]
    assert moved["old_start"] == "2026-09-14T09:00:00+08:00"
    assert moved["old_chair"] == {"id": data.sched.chair1.pk, "name": "Chair 1"}
    assert (moved["new_chair"], moved["note"]) == (None, "Traffic")
    assert moved["actor"] == {"id": world.frontdesk.pk, "name": "Front Desk"}


def test_rescheduling_without_a_chair_field_keeps_the_chair(world: World, data: Data) -> None:
    response = ApiClient(world.frontdesk).post(
        f"/appointments/{data.appointment.pk}/reschedule", {"start": TUESDAY_9}
    )

    assert response.status == 200
    assert response.json["chair"]["id"] == data.sched.chair1.pk
    assert response.json["end"] == "2026-09-15T09:30:00+08:00"


def test_cancel_and_no_show_through_the_api(world: World, data: Data, clock: Clock) -> None:
    api = ApiClient(world.frontdesk)
    path = f"/appointments/{data.appointment.pk}"

    early = api.post(f"{path}/no-show")
    no_reason = api.post(f"{path}/cancel", {"reason": ""})
    clock.set(at(MONDAY, "09:40"))
    missed = api.post(f"{path}/no-show")
    again = api.post(f"{path}/cancel", {"reason": "Too late"})

    assert early.status == 409
    assert is_error(early.json, "invalid_transition")
    assert no_reason.status == 400
    assert list(no_reason.json["fields"]) == ["reason"]
    assert missed.json["status"] == "no_show"
    assert again.status == 409
    assert again.json["message"] == (
        "Only a booked or confirmed appointment can be cancelled; this one is No-show."
    )


def test_a_walk_in_arrives_at_once(world: World, data: Data, clock: Clock) -> None:
    clock.set(at(MONDAY, "10:05"))

    response = ApiClient(world.frontdesk).post(
        "/appointments/walk-in",
        {"patient_id": data.sched.li.pk, "doctor_id": world.doctor.pk, "minutes": 20},
    )

    assert response.status == 201
    body = response.json
    assert (body["start"], body["end"], body["status"], body["source"]) == (
        "2026-09-14T10:05:00+08:00",
        "2026-09-14T10:25:00+08:00",
        "arrived",
        "walk_in",
    )


def test_the_list_is_paged_by_day(world: World, data: Data) -> None:
    api = ApiClient(world.frontdesk)

    monday = api.get("/appointments").json
    tuesday = api.get("/appointments", date_from="2026-09-15").json
    week = api.get("/appointments", date_from="2026-09-14", date_to="2026-09-20", page_size=1).json

    assert [a["id"] for a in monday["items"]] == [data.appointment.pk]
    assert tuesday["items"] == []
    assert (week["total"], week["pages"]) == (1, 1)


def test_free_slots_and_the_board(world: World, data: Data) -> None:
    api = ApiClient(world.frontdesk)

    slots = api.get("/free-slots", minutes=60, step=60, doctor=world.doctor.pk).json
    by_type = api.get("/free-slots", appointment_type=data.sched.cleaning.pk).json
    board = api.get("/today-board").json

    # Zhang has 09:00-09:30; on an hourly grid the next start is 10:00.
    assert [s["start"][11:16] for s in slots][:3] == ["10:00", "11:00", "14:00"]
    assert slots[0]["doctor"] == {"id": world.doctor.pk, "name": "Dr. Li"}
    assert all(s["end"] > s["start"] for s in by_type)
    assert board["date"] == "2026-09-14"
    assert board["clinic"]["not_arrived"] == {"visits": 1, "persons": 1}
    assert board["clinic"]["arrived"] == {"visits": 0, "persons": 0}
    assert [a["id"] for a in board["doctors"][0]["appointments"]] == [data.appointment.pk]


# Set-up


def test_chairs_types_shifts_and_leave_through_the_api(world: World, data: Data) -> None:
    api = ApiClient(world.boss)

    chair = api.post("/chairs", {"name": "Chair 3", "room": "R2"})
    duplicate = api.post("/chairs", {"name": "Chair 3"})
    retired = api.patch(f"/chairs/{chair.json['id']}", {"is_active": False})
    chairs = api.get("/chairs").json
    all_chairs = api.get("/chairs", include_inactive=True).json
    kind = api.post(
        "/appointment-types",
        {
            "code": "implant",
            "name": "Implant consult",
            "duration_minutes": 30,
            "department": "Implants",
            "service_codes": ["IMP-01"],
        },
    )
    shift = api.post(
        "/shifts", {"doctor_id": world.doctor.pk, "weekday": 6, "start": "09:00", "end": "12:00"}
    )
    overlap = api.post(
        "/shifts", {"doctor_id": world.doctor.pk, "weekday": 6, "start": "11:00", "end": "13:00"}
    )
    leave = api.post(
        "/schedule-exceptions",
        {"doctor_id": world.doctor.pk, "date": "2026-09-14", "kind": "leave"},
    )
    exceptions = api.get("/schedule-exceptions", date_from="2026-09-14", date_to="2026-09-30").json

    assert chair.status == 201
    assert duplicate.status == 400
    assert retired.json["is_active"] is False
    assert "Chair 3" not in [c["name"] for c in chairs]
    assert "Chair 3" in [c["name"] for c in all_chairs]
    assert (kind.status, kind.json["service_codes"]) == (201, ["IMP-01"])
    assert (shift.status, shift.json["weekday"], shift.json["start"]) == (201, 6, "09:00:00")
    assert overlap.status == 409
    assert is_error(overlap.json, "shift_overlap")
    assert leave.status == 409  # Zhang is booked that morning
    assert "张三" in leave.json["message"]
    assert [e["id"] for e in exceptions] == [data.exception.pk]
    assert api.delete(f"/shifts/{shift.json['id']}").status == 204
    assert api.delete(f"/schedule-exceptions/{data.exception.pk}").status == 204


def test_the_front_desk_cannot_change_the_set_up(world: World, data: Data) -> None:
    api = ApiClient(world.frontdesk)

    assert api.post("/chairs", {"name": "Mine"}).status == 403
    assert api.delete(f"/shifts/{data.shift.pk}").status == 403
    assert api.get("/shifts").status == 200


# Odd input is 400, never 500


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/appointments?date_from=1999-12-31", None),
        ("GET", "/appointments?date_from=2026-09-01&date_to=2026-12-31", None),
        ("GET", "/appointments?date_from=2026-09-10&date_to=2026-09-01", None),
        ("GET", "/appointments?doctor=99999999999999999999999", None),
        ("GET", "/appointments?date_from=", None),
        ("GET", "/free-slots", None),
        ("GET", "/free-slots?minutes=30&date_to=2026-11-30", None),
        ("GET", "/free-slots?minutes=30&step=0", None),
        ("GET", "/today-board?date=2101-01-01", None),
        ("GET", "/schedule-exceptions?date_from=2026-01-01&date_to=2026-12-31", None),
        ("POST", "/appointments", {**ZHANG_LI, "start": ""}),
        ("POST", "/appointments", {**ZHANG_LI, "start": "9999-12-31T23:59:59+08:00"}),
        ("POST", "/appointments", {**ZHANG_LI, "start": "0001-01-01T00:00:00-12:00"}),
        ("POST", "/appointments", {**ZHANG_LI, "start": TUESDAY_9}),  # no end, no type
        ("POST", "/appointments", {**ZHANG_LI, "patient_id": 0, "start": TUESDAY_9}),
        ("POST", "/appointments", {**ZHANG_LI, "start": TUESDAY_9, "end": "2026-09-16T09:00"}),
        ("POST", "/appointments", {**ZHANG_LI, "start": TUESDAY_9, "source": "portal"}),
        (
            "POST",
            "/shifts",
            {"doctor_id": "{doctor}", "weekday": 6, "start": "09:00+08:00", "end": "10:00"},
        ),
        (
            "POST",
            "/shifts",
            {"doctor_id": "{doctor}", "weekday": 6, "start": "25:00", "end": "26:00"},
        ),
        (
            "POST",
            "/schedule-exceptions",
            {"doctor_id": "{doctor}", "date": "1900-01-01", "kind": "leave"},
        ),
        ("POST", "/appointment-types", {"code": "", "name": ""}),
        ("POST", "/appointments/{appointment}/reschedule", {"start": "2150-01-01T09:00:00"}),
    ],
)
def test_odd_input_is_400(
    world: World, data: Data, method: str, path: str, body: dict[str, Any] | None
) -> None:
    endpoint = Endpoint(method, path, body)

    response = endpoint.call(ApiClient(world.boss), data.ids(world))

    assert response.status == 400, response
    assert is_error(response.json, "invalid")


# Query counts


def _more_appointments(world: World, sched: Sched, count: int) -> None:
    with tenant_scope(world.org, world.clinic1):
        for i in range(count):
            patient = patient_create(actor=world.boss, clinic=world.clinic1, name=f"患者{i}")
            begins = at(MONDAY, "13:30") + timedelta(minutes=15 * i)
            appointment_book(
                clinic=world.clinic1,
                patient=patient,
                doctor=world.doctor if i % 2 else world.boss,
                chair=sched.chair2 if i % 2 else None,
                appointment_type=sched.checkup if i % 3 else None,
                start=begins,
                end=begins + timedelta(minutes=15),
                actor=world.frontdesk,
                allow_outside_hours=True,
            )


@pytest.mark.parametrize(
    "path",
    [
        "/appointments?page_size=100",
        "/today-board",
        "/free-slots?minutes=15&date_to=2026-09-20",
        "/shifts",
        "/chairs",
        "/appointment-types",
        "/schedule-exceptions?date_to=2026-09-30",
    ],
)
def test_list_endpoints_take_as_many_queries_for_twenty_as_for_one(
    world: World, data: Data, path: str
) -> None:
    api = ApiClient(world.frontdesk)
    api.get(path)  # warm up (token, roles)

    with CaptureQueriesContext(connection) as one:
        first = api.get(path)
    _more_appointments(world, data.sched, 19)
    with CaptureQueriesContext(connection) as twenty:
        second = api.get(path)

    assert (first.status, second.status) == (200, 200)
    assert len(twenty) == len(one)
