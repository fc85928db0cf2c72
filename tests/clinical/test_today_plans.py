"""Today's plans: the accepted plans with work left of the patients expected at the clinic
today, on the doctor's today's work page (a panel scheduling renders without importing
clinical)."""

from __future__ import annotations

from datetime import time, timedelta
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from chairside.clinical.models import PlanItem, TreatmentPlan
from chairside.clinical.selectors.plans import todays_plans
from chairside.clinical.services.execution import plan_execute
from chairside.clinical.services.plans import PlanItemInput, plan_accept, plan_create
from chairside.core.clock import at, clinic_today
from chairside.core.models import Clinic, Staff
from chairside.core.services import staff_create
from chairside.core.tenancy import tenant_scope
from chairside.patients.models import Patient
from chairside.scheduling.models import Appointment
from tests.clinical.conftest import Clin
from tests.conftest import PASSWORD, World


def visit(clinic: Clinic, patient: Patient, doctor: Staff, hour: int, *, days: int = 0) -> None:
    day = clinic_today(clinic) + timedelta(days=days)
    start = at(day, time(hour), clinic)
    Appointment.objects.create(
        clinic=clinic,
        patient=patient,
        doctor=doctor,
        start=start,
        end=start + timedelta(minutes=30),
    )


def accepted(world: World, clin: Clin, patient: Patient, title: str) -> TreatmentPlan:
    plan = plan_create(
        actor=world.doctor,
        clinic=world.clinic1,
        patient=patient,
        title=title,
        items=[
            PlanItemInput(item_id=clin.root_canal.pk, teeth=[36]),
            PlanItemInput(item_id=clin.filling.pk, teeth=[16, 26]),
        ],
    )
    return plan_accept(actor=world.doctor, clinic=world.clinic1, plan=plan)


@pytest.fixture
def today(world: World, clin: Clin) -> dict[str, TreatmentPlan]:
    with tenant_scope(world.org, world.clinic1):
        zhang = accepted(world, clin, clin.zhang, "张三的方案")
        li = accepted(world, clin, clin.li, "李四的方案")
        wang = accepted(world, clin, clin.wang, "王五的方案")
        plan_create(  # a draft: not shown
            actor=world.doctor,
            clinic=world.clinic1,
            patient=clin.zhang,
            title="草稿方案",
            items=[PlanItemInput(item_id=clin.scaling.pk)],
        )
        visit(world.clinic1, clin.zhang, world.doctor, 15)
        visit(world.clinic1, clin.li, clin.doctor2, 9)
        visit(world.clinic1, clin.wang, world.doctor, 10, days=1)  # tomorrow
        # Li's plan has nothing left.
        plan_execute(
            actor=world.frontdesk,
            clinic=world.clinic1,
            executions=[(i, i.quantity) for i in PlanItem.objects.filter(plan=li)],
        )
    return {"zhang": zhang, "li": li, "wang": wang}


def test_todays_plans_are_the_accepted_plans_with_work_left(
    world: World, clin: Clin, today: dict[str, TreatmentPlan]
) -> None:
    with tenant_scope(world.org, world.clinic1):
        day = clinic_today(world.clinic1)
        rows = todays_plans(world.clinic1, None, day)
        mine = todays_plans(world.clinic1, world.doctor, day)
        others = todays_plans(world.clinic1, clin.doctor2, day)
        elsewhere = todays_plans(world.clinic2, None, day)

    assert [r.plan.title for r in rows] == ["张三的方案"]
    assert [i.name for i in rows[0].open_items] == ["根管治疗", "树脂充填"]
    assert rows[0].appointment_doctor == world.doctor
    assert [r.plan.title for r in mine] == ["张三的方案"]
    assert others == []
    assert elsewhere == []


def test_the_doctors_today_page_shows_the_patients_accepted_plan(
    world: World, clin: Clin, today: dict[str, TreatmentPlan]
) -> None:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    assert client.login(username=world.doctor.username, password=PASSWORD)

    response = client.get(reverse("scheduling:today"))

    assert response.status_code == 200
    html = response.content.decode()
    assert "Today&#x27;s plans" in html or "Today's plans" in html
    assert "张三的方案" in html
    assert reverse("clinical:plan_detail", kwargs={"plan_id": today["zhang"].pk}) in html
    assert "1 of 1 left" in html
    assert "2 of 2 left" in html
    assert "李四的方案" not in html
    assert "王五的方案" not in html
    assert "草稿方案" not in html


def test_the_panel_is_left_out_for_staff_who_cannot_see_plans(
    world: World, clin: Clin, today: dict[str, TreatmentPlan]
) -> None:
    with tenant_scope(world.org):
        operator = staff_create(
            organization=world.org,
            username="hq-operator",
            display_name="HQ Operator",
            password=PASSWORD,
            roles=[("hq_operator", None)],
        )
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    assert client.login(username=operator.username, password=PASSWORD)

    response = client.get(reverse("scheduling:today"))

    assert response.status_code == 200
    assert "today-plans" not in response.content.decode()


def test_the_page_renders_only_the_configured_panels(
    world: World, clin: Clin, today: dict[str, TreatmentPlan], settings: Any
) -> None:
    settings.CHAIRSIDE_TODAY_PANELS = []
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    assert client.login(username=world.doctor.username, password=PASSWORD)

    response = client.get(reverse("scheduling:today"))

    assert response.status_code == 200
    assert "张三的方案" not in response.content.decode()
