"""No-show follow-up (S5): marking a no-show opens a task to call the patient; the front desk
lists and closes the clinic's tasks, and nobody reaches another clinic's or organization's."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from chairside.core.errors import Conflict
from chairside.core.models import AuditEntry
from chairside.core.tenancy import tenant_scope
from chairside.patients.models import Patient
from chairside.patients.services import patient_create
from chairside.scheduling import selectors
from chairside.scheduling.models import Appointment, FollowUpTask
from chairside.scheduling.services import appointment_book, appointment_mark_no_show
from chairside.scheduling.services.follow_ups import (
    follow_up_cancel,
    follow_up_done,
    reminder_settings_update,
)
from tests.apiclient import ApiClient
from tests.conftest import World
from tests.scheduling.conftest import MONDAY, Clock, Sched, at


def no_show(world: World, patient: Patient, clock: Clock, start: str = "09:00") -> Appointment:
    """`patient` booked at `start` on Monday by the front desk, marked a no-show after it."""
    clock.set(at(MONDAY, "08:00"))
    with tenant_scope(world.org, world.clinic1):
        appointment = appointment_book(
            clinic=world.clinic1,
            patient=patient,
            doctor=world.doctor,
            start=at(MONDAY, start),
            end=at(MONDAY, start) + timedelta(minutes=30),
            actor=world.frontdesk,
        )
        clock.set(at(MONDAY, "17:00"))
        return appointment_mark_no_show(appointment=appointment, actor=world.frontdesk)


@pytest.fixture
def task(world: World, sched: Sched, clock: Clock) -> FollowUpTask:
    appointment = no_show(world, sched.zhang, clock)
    return FollowUpTask.all_tenants.get(appointment=appointment)


def test_a_no_show_opens_a_call_back_task_for_whoever_booked_it(
    world: World, sched: Sched, clock: Clock
) -> None:
    appointment = no_show(world, sched.zhang, clock)

    task = FollowUpTask.all_tenants.get(appointment=appointment)
    assert task.kind == "no_show"
    assert task.status == "open"
    assert task.patient_id == sched.zhang.pk
    assert task.clinic_id == world.clinic1.pk
    assert task.organization_id == world.org.pk
    assert task.assigned_to_id == world.frontdesk.pk
    assert task.due_at == at(MONDAY, "17:00") + timedelta(days=1)
    assert AuditEntry.all_tenants.filter(entity_id=str(task.pk), action="create").exists()


def test_clinics_can_turn_no_show_follow_up_off(world: World, sched: Sched, clock: Clock) -> None:
    with tenant_scope(world.org, world.clinic1):
        reminder_settings_update(
            clinic=world.clinic1, actor=world.boss, no_show_follow_up_enabled=False
        )

    appointment = no_show(world, sched.zhang, clock)

    assert appointment.status == "no_show"
    assert not FollowUpTask.all_tenants.exists()


def test_closing_a_task_records_who_and_when_and_only_once(
    world: World, task: FollowUpTask, clock: Clock
) -> None:
    clock.set(at(MONDAY, "17:30"))
    with tenant_scope(world.org, world.clinic1):
        done = follow_up_done(task=task, actor=world.frontdesk, note="Rebooked for Friday")

        assert done.status == "done"
        assert done.done_by_id == world.frontdesk.pk
        assert done.done_at == at(MONDAY, "17:30")
        assert done.note == "Rebooked for Friday"
        with pytest.raises(Conflict):
            follow_up_cancel(task=task, actor=world.frontdesk)
    assert FollowUpTask.all_tenants.get(pk=task.pk).status == "done"


def test_the_list_filters_by_status_and_stays_flat(
    world: World, sched: Sched, clock: Clock
) -> None:
    no_show(world, sched.zhang, clock, "09:00")
    with tenant_scope(world.org, world.clinic1):

        def listed(status: str | None) -> tuple[int, int]:
            with CaptureQueriesContext(connection) as queries:
                tasks = list(selectors.follow_up_list(clinic=world.clinic1, status=status))
                for t in tasks:
                    _ = (t.patient.name, t.appointment.start, t.assigned_to, t.clinic.name)
            return len(tasks), len(queries)

        one, queries_for_one = listed("open")
        for n, start in enumerate(("10:00", "11:00", "14:00")):
            patient = patient_create(actor=world.boss, clinic=world.clinic1, name=f"P{n}")
            no_show(world, patient, clock, start)
        many, queries_for_many = listed("open")
        assert listed("done")[0] == 0

    assert (one, many) == (1, 4)
    assert queries_for_many == queries_for_one


# --- API ------------------------------------------------------------------------------


def test_the_front_desk_lists_and_closes_its_clinics_tasks(
    world: World, task: FollowUpTask
) -> None:
    api = ApiClient(world.frontdesk, clinic=world.clinic1)

    listed = api.get("/follow-ups", status="open")
    closed = api.post(f"/follow-ups/{task.pk}/done", {"note": "Called"})
    again = api.post(f"/follow-ups/{task.pk}/cancel", {})

    assert listed.status == 200
    assert [t["id"] for t in listed.json] == [task.pk]
    assert listed.json[0]["patient_name"] == "张三"
    assert closed.status == 200
    assert closed.json["status"] == "done"
    assert closed.json["note"] == "Called"
    assert again.status == 409


def test_another_organization_gets_404_and_sees_nothing(world: World, task: FollowUpTask) -> None:
    api = ApiClient(world.boss_b, clinic=world.clinic_b)

    listed = api.get("/follow-ups")
    closed = api.post(f"/follow-ups/{task.pk}/done", {})
    cancelled = api.post(f"/follow-ups/{task.pk}/cancel", {})

    assert listed.status == 200
    assert listed.json == []
    assert (closed.status, cancelled.status) == (404, 404)
    assert FollowUpTask.all_tenants.get(pk=task.pk).status == "open"


def test_another_clinics_tasks_are_out_of_reach(world: World, task: FollowUpTask) -> None:
    # The boss acting in clinic 2 does not see clinic 1's tasks; the front desk of clinic 1
    # cannot act in clinic 2 at all.
    boss_in_c2 = ApiClient(world.boss, clinic=world.clinic2)
    desk_in_c2 = ApiClient(world.frontdesk, clinic=world.clinic2)

    assert boss_in_c2.get("/follow-ups").json == []
    assert boss_in_c2.post(f"/follow-ups/{task.pk}/done", {}).status == 404
    assert desk_in_c2.get("/follow-ups").status == 403
    assert desk_in_c2.post(f"/follow-ups/{task.pk}/done", {}).status == 403


def test_doctors_may_not_close_tasks(world: World, task: FollowUpTask) -> None:
    api = ApiClient(world.doctor, clinic=world.clinic1)

    assert api.get("/follow-ups").status == 403
    assert api.post(f"/follow-ups/{task.pk}/done", {}).status == 403
