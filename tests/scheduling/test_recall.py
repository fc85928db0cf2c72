"""Recall (S7): generation from completed visits (idempotent), the front desk's work, the
portal link, the daily task, the API (isolation) and the recalls page (flat queries)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from chairside.core.errors import Conflict, ValidationFailed
from chairside.core.models import AuditEntry
from chairside.core.tenancy import tenant_scope
from chairside.patients.models import Patient
from chairside.patients.services import patient_create
from chairside.scheduling import tasks
from chairside.scheduling.models import Appointment, AppointmentStatus, Recall, RecallRule
from chairside.scheduling.selectors import recall_for_token, recall_list, recall_portal_url
from chairside.scheduling.services import (
    appointment_book,
    recall_dismiss,
    recall_link_booking,
    recall_mark_contacted,
    recall_rule_create,
    recall_rule_delete,
    recalls_generate,
)
from tests.apiclient import ApiClient, Endpoint
from tests.conftest import World
from tests.core.test_api import is_error
from tests.scheduling.conftest import MONDAY, TUESDAY, Sched, at

TODAY = MONDAY


def visit(
    world: World,
    patient: Patient,
    day: date,
    hhmm: str,
    *,
    sched: Sched,
    done: bool = True,
    clinic: object = None,
) -> Appointment:
    """A cleaning of `patient` on `day`, completed then (or just booked)."""
    clinic = clinic or world.clinic1
    appointment = appointment_book(
        clinic=clinic,  # type: ignore[arg-type]
        patient=patient,
        doctor=world.doctor if clinic == world.clinic1 else world.boss,
        start=at(day, hhmm),
        end=at(day, hhmm) + timedelta(minutes=45),
        appointment_type=sched.cleaning,
        actor=world.boss,
        allow_outside_hours=True,
    )
    if done:
        Appointment.objects.filter(pk=appointment.pk).update(
            status=AppointmentStatus.COMPLETED, completed_at=at(day, hhmm) + timedelta(minutes=40)
        )
        appointment.refresh_from_db()
    return appointment


@pytest.fixture
def rule(world: World, sched: Sched, in_clinic1: None) -> RecallRule:
    return recall_rule_create(
        actor=world.boss,
        name="6-month cleaning",
        recall_type=sched.cleaning,
        service_codes=["scaling"],
        interval=6,
    )


def generate(world: World, today: date = TODAY) -> tuple[int, int, int, int]:
    run = recalls_generate(organization=world.org, today=today)
    return run.created, run.moved, run.done, run.reopened


# --- generating -----------------------------------------------------------------------


def test_a_completed_visit_makes_one_recall_whatever_the_runs(
    world: World, sched: Sched, rule: RecallRule, clock: object
) -> None:
    source = visit(world, sched.zhang, MONDAY - timedelta(days=7), "09:00", sched=sched)
    visit(world, sched.li, MONDAY, "10:00", sched=sched, done=False)  # not completed

    assert generate(world) == (1, 0, 0, 0)
    assert generate(world) == (0, 0, 0, 0)

    recall = Recall.objects.get()
    assert recall.patient == sched.zhang
    assert recall.source_appointment == source
    assert recall.due_date == date(2027, 3, 7)
    assert recall.status == "due"
    assert recall.clinic == world.clinic1
    assert len(recall.token) >= 32
    audit = AuditEntry.objects.filter(entity_type="scheduling.recall").get()
    assert recall.token not in str(audit.after)


def test_a_trigger_type_works_like_a_service_code(
    world: World, sched: Sched, in_clinic1: None
) -> None:
    recall_rule_create(
        actor=world.boss,
        name="Check-up in 30 days",
        recall_type=sched.checkup,
        trigger_types=[sched.cleaning],
        interval=30,
        interval_unit="days",
    )
    visit(world, sched.zhang, MONDAY - timedelta(days=1), "09:00", sched=sched)

    generate(world)

    assert Recall.objects.get().due_date == MONDAY - timedelta(days=1) + timedelta(days=30)


def test_a_newer_visit_moves_the_open_recall(world: World, sched: Sched, rule: RecallRule) -> None:
    visit(world, sched.zhang, MONDAY - timedelta(days=14), "09:00", sched=sched)
    generate(world)
    recall_mark_contacted(actor=world.frontdesk, recall=Recall.objects.get())
    newer = visit(world, sched.zhang, MONDAY - timedelta(days=7), "09:00", sched=sched)

    assert generate(world) == (0, 1, 0, 0)

    recall = Recall.objects.get()
    assert recall.source_appointment == newer
    assert recall.due_date == date(2027, 3, 7)
    assert recall.status == "due"


def test_a_dismissed_recall_stays_dismissed_until_the_next_visit(
    world: World, sched: Sched, rule: RecallRule
) -> None:
    visit(world, sched.zhang, MONDAY - timedelta(days=14), "09:00", sched=sched)
    generate(world)
    recall_dismiss(actor=world.frontdesk, recall=Recall.objects.get(), note="moved away")

    assert generate(world) == (0, 0, 0, 0)
    visit(world, sched.zhang, MONDAY - timedelta(days=7), "09:00", sched=sched)
    assert generate(world) == (1, 0, 0, 0)
    assert sorted(Recall.objects.values_list("status", flat=True)) == ["dismissed", "due"]


def test_a_booked_recall_is_done_when_its_visit_takes_place_and_a_new_cycle_starts(
    world: World, sched: Sched, rule: RecallRule
) -> None:
    visit(world, sched.zhang, MONDAY - timedelta(days=14), "09:00", sched=sched)
    generate(world)
    recall = Recall.objects.get()
    booking = visit(world, sched.zhang, TUESDAY, "09:00", sched=sched, done=False)
    recall_link_booking(recall=recall, appointment=booking)
    assert Recall.objects.get().status == "booked"
    Appointment.objects.filter(pk=booking.pk).update(
        status=AppointmentStatus.COMPLETED, completed_at=at(TUESDAY, "09:40")
    )

    assert generate(world, TUESDAY) == (1, 0, 1, 0)

    done, new = Recall.objects.order_by("id")
    assert done.status == "done"
    assert new.status == "due"
    assert new.source_appointment_id == booking.pk


def test_a_booked_recall_whose_visit_is_cancelled_is_due_again(
    world: World, sched: Sched, rule: RecallRule
) -> None:
    visit(world, sched.zhang, MONDAY - timedelta(days=14), "09:00", sched=sched)
    generate(world)
    booking = visit(world, sched.zhang, TUESDAY, "09:00", sched=sched, done=False)
    recall_link_booking(recall=Recall.objects.get(), appointment=booking, actor=world.frontdesk)
    Appointment.objects.filter(pk=booking.pk).update(status=AppointmentStatus.CANCELLED)

    assert generate(world) == (0, 0, 0, 1)
    recall = Recall.objects.get()
    assert recall.status == "due"
    assert recall.booked_appointment is None


def test_the_daily_task_runs_every_organization(
    world: World, sched: Sched, rule: RecallRule
) -> None:
    visit(world, sched.zhang, MONDAY - timedelta(days=7), "09:00", sched=sched)

    assert tasks.generate_recalls() == 1
    assert tasks.generate_recalls() == 0


# --- the front desk's work ------------------------------------------------------------


@pytest.fixture
def recall(world: World, sched: Sched, rule: RecallRule) -> Recall:
    visit(world, sched.zhang, MONDAY - timedelta(days=7), "09:00", sched=sched)
    generate(world)
    return Recall.objects.get()


def test_contact_dismiss_and_booking_follow_the_status(
    world: World, sched: Sched, recall: Recall, clock: object
) -> None:
    contacted = recall_mark_contacted(actor=world.frontdesk, recall=recall, note="回电")
    assert contacted.status == "contacted"
    assert contacted.contacted_by == world.frontdesk
    assert contacted.note == "回电"

    others = visit(world, sched.li, TUESDAY, "10:00", sched=sched, done=False)
    with pytest.raises(ValidationFailed):
        recall_link_booking(recall=recall, appointment=others)
    booking = visit(world, sched.zhang, TUESDAY, "09:00", sched=sched, done=False)
    booked = recall_link_booking(recall=recall, appointment=booking)
    assert recall_link_booking(recall=recall, appointment=booking) == booked  # twice: no-op

    with pytest.raises(Conflict):
        recall_dismiss(actor=world.frontdesk, recall=recall)
    with pytest.raises(Conflict):
        recall_mark_contacted(actor=world.frontdesk, recall=recall)


def test_a_rule_with_recalls_is_switched_off_not_removed(
    world: World, recall: Recall, rule: RecallRule
) -> None:
    with pytest.raises(Conflict):
        recall_rule_delete(actor=world.boss, rule=rule)


def test_the_portal_link_carries_token_type_and_clinic(
    world: World, sched: Sched, recall: Recall
) -> None:
    url = urlsplit(recall_portal_url(recall))

    assert url.path == "/p/smile/book/"
    assert parse_qs(url.query) == {
        "recall": [recall.token],
        "type": [str(sched.cleaning.pk)],
        "clinic": [str(world.clinic1.pk)],
    }
    assert recall_for_token(token=recall.token) == recall
    assert recall_for_token(token="nope") is None
    with tenant_scope(world.org_b):
        assert recall_for_token(token=recall.token) is None


def test_recall_list_is_one_query_whatever_its_length(
    world: World, sched: Sched, rule: RecallRule
) -> None:
    for i in range(6):
        patient = patient_create(actor=world.boss, clinic=world.clinic1, name=f"病人{i}")
        visit(world, patient, MONDAY - timedelta(days=7 + i), "09:00", sched=sched)
    generate(world)

    with CaptureQueriesContext(connection) as queries:
        recalls = list(recall_list(clinic=world.clinic1, status=["due", "contacted"]))
        for r in recalls:
            _ = (r.patient.phone, r.rule.recall_type.name, r.source_appointment.completed_at)
            _ = recall_portal_url(r)

    assert len(recalls) == 6
    assert len(queries) == 1
    assert recall_list(clinic=world.clinic2).count() == 0
    assert recall_list(clinic=world.clinic1, due_before=date(2027, 3, 4)).count() == 2


# --- API ------------------------------------------------------------------------------


@dataclass
class Data:
    recall: Recall
    recall_c2: Recall
    rule: RecallRule
    booking: Appointment

    def ids(self) -> dict[str, int]:
        return {
            "recall": self.recall.pk,
            "recall_c2": self.recall_c2.pk,
            "rule": self.rule.pk,
            "appointment": self.booking.pk,
        }


@pytest.fixture
def data(world: World, sched: Sched, recall: Recall, rule: RecallRule) -> Data:
    visit(world, sched.wang, MONDAY - timedelta(days=7), "09:00", sched=sched, clinic=world.clinic2)
    generate(world)
    recall_c2 = Recall.objects.get(clinic=world.clinic2)
    booking = visit(world, sched.zhang, TUESDAY, "09:00", sched=sched, done=False)
    return Data(recall, recall_c2, rule, booking)


ENDPOINTS = [
    Endpoint("GET", "/recall-rules"),
    Endpoint(
        "POST",
        "/recall-rules",
        {"name": "Ortho", "recall_type_id": "{type}", "service_codes": ["ortho"], "interval": 1},
    ),
    Endpoint("PATCH", "/recall-rules/{rule}", {"interval": 12}),
    Endpoint("DELETE", "/recall-rules/{rule}"),
    Endpoint("GET", "/recalls"),
    Endpoint("GET", "/recalls/{recall}"),
    Endpoint("POST", "/recalls/{recall}/contacted", {"note": "called"}),
    Endpoint("POST", "/recalls/{recall}/dismiss", {}),
    Endpoint("POST", "/recalls/{recall}/book", {"appointment_id": "{appointment}"}),
]


def _ids(data: Data, sched: Sched) -> dict[str, int]:
    return {**data.ids(), "type": sched.cleaning.pk}


@pytest.mark.parametrize("endpoint", [e for e in ENDPOINTS if "{" in e.path], ids=str)
def test_another_organizations_recalls_and_rules_are_404(
    world: World, sched: Sched, data: Data, endpoint: Endpoint
) -> None:
    audit_before = AuditEntry.all_tenants.count()

    response = endpoint.call(ApiClient(world.boss_b), _ids(data, sched))

    assert response.status == 404, response
    assert is_error(response.json, "not_found")
    assert AuditEntry.all_tenants.count() == audit_before
    assert Recall.all_tenants.get(pk=data.recall.pk).status == "due"


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=str)
def test_front_desk_of_clinic_1_cannot_act_in_clinic_2(
    world: World, sched: Sched, data: Data, endpoint: Endpoint
) -> None:
    ids = {**_ids(data, sched), "recall": data.recall_c2.pk}

    response = endpoint.call(ApiClient(world.frontdesk, clinic=world.clinic2), ids)

    assert response.status == 403
    assert Recall.all_tenants.get(pk=data.recall_c2.pk).status == "due"


@pytest.mark.parametrize("endpoint", [e for e in ENDPOINTS if "{recall}" in e.path], ids=str)
def test_another_clinics_recall_is_404_in_the_acting_clinic(
    world: World, sched: Sched, data: Data, endpoint: Endpoint
) -> None:
    ids = {**_ids(data, sched), "recall": data.recall_c2.pk}

    response = endpoint.call(ApiClient(world.frontdesk, clinic=world.clinic1), ids)

    assert response.status == 404
    assert Recall.all_tenants.get(pk=data.recall_c2.pk).status == "due"


def test_the_front_desk_works_through_recalls_by_api(
    world: World, sched: Sched, data: Data
) -> None:
    api = ApiClient(world.frontdesk)

    listed = api.get("/recalls")
    assert listed.status == 200
    assert [r["id"] for r in listed.json["items"]] == [data.recall.pk]
    item = listed.json["items"][0]
    assert item["due_date"] == "2027-03-07"
    assert item["last_visit"] == "2026-09-07"
    assert item["portal_url"].startswith("/p/smile/book/?recall=")

    assert api.post(f"/recalls/{data.recall.pk}/contacted", {"note": "留言"}).json["status"] == (
        "contacted"
    )
    booked = api.post(f"/recalls/{data.recall.pk}/book", {"appointment_id": data.booking.pk})
    assert booked.status == 200
    assert booked.json["status"] == "booked"
    again = api.post(f"/recalls/{data.recall.pk}/dismiss", {})
    assert again.status == 409
    assert api.get("/recalls", status="booked").json["total"] == 1
    assert api.get("/recalls").json["total"] == 0


def test_recall_rules_by_api(world: World, sched: Sched, data: Data) -> None:
    api = ApiClient(world.boss)
    created = api.post(
        "/recall-rules",
        {
            "name": "Ortho",
            "recall_type_id": sched.checkup.pk,
            "trigger_type_ids": [sched.checkup.pk],
            "interval": 45,
            "interval_unit": "days",
        },
    )
    assert created.status == 201, created
    assert created.json["trigger_types"][0]["id"] == sched.checkup.pk
    changed = api.patch(f"/recall-rules/{created.json['id']}", {"is_active": False})
    assert changed.json["is_active"] is False
    assert api.delete(f"/recall-rules/{created.json['id']}").status == 204
    assert api.delete(f"/recall-rules/{data.rule.pk}").status == 409
    assert ApiClient(world.frontdesk).post("/recall-rules", {}).status in (400, 403)


# --- the recalls page -----------------------------------------------------------------


def desk(world: World) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(world.frontdesk)
    return client


def test_the_recalls_page_lists_due_patients_with_their_buttons(
    world: World, sched: Sched, data: Data
) -> None:
    response = desk(world).get("/schedule/recalls/")

    page = response.content.decode()
    assert response.status_code == 200
    assert "张三" in page
    assert "2027-03-07" in page
    assert "6-month cleaning" in page
    assert "王五" not in page  # clinic 2's
    assert f"/schedule/?patient={sched.zhang.pk}" in page
    assert 'value="contacted"' in page
    assert 'value="dismiss"' in page
    assert desk(world).get("/schedule/recalls/?month=2027-04").content.decode().count("张三") == 0
    assert desk(world).get("/schedule/recalls/?status=bogus&page=x&month=99").status_code == 200


def test_the_recalls_page_marks_contacted_and_dismisses(
    world: World, sched: Sched, data: Data
) -> None:
    client = desk(world)

    response = client.post("/schedule/recalls/", {"recall": data.recall.pk, "action": "contacted"})
    assert response.status_code == 302
    assert Recall.objects.get(pk=data.recall.pk).status == "contacted"
    client.post("/schedule/recalls/", {"recall": data.recall.pk, "action": "dismiss"})
    assert Recall.objects.get(pk=data.recall.pk).status == "dismissed"

    foreign = client.post("/schedule/recalls/", {"recall": data.recall_c2.pk, "action": "dismiss"})
    assert foreign.status_code == 404
    assert Recall.objects.get(pk=data.recall_c2.pk).status == "due"


def test_the_recalls_page_keeps_its_queries_flat(
    world: World, sched: Sched, data: Data, rule: RecallRule
) -> None:
    client = desk(world)
    client.get("/schedule/recalls/")  # warm the session and caches
    with CaptureQueriesContext(connection) as few:
        client.get("/schedule/recalls/")
    for i in range(5):
        patient = patient_create(actor=world.boss, clinic=world.clinic1, name=f"病人{i}")
        visit(world, patient, MONDAY - timedelta(days=8 + i), "09:00", sched=sched)
    generate(world)
    with CaptureQueriesContext(connection) as many:
        response = client.get("/schedule/recalls/")

    assert response.content.decode().count("病人") == 5
    assert len(many) == len(few)


def test_the_recalls_page_needs_schedule_view(world: World, data: Data) -> None:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(world.doctor)

    assert client.get("/schedule/recalls/").status_code == 403
