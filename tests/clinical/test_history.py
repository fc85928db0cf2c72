"""A patient's visit history: each record with that day's executions and bills at that
clinic, newest first, in a number of queries that does not grow with the visits."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from chairside.billing.models import Bill, BillLine
from chairside.clinical.models import (
    ClinicalRecord,
    PlanItem,
    PlanItemExecution,
    TreatmentPlan,
)
from chairside.clinical.selectors.history import patient_history
from chairside.core.clock import clinic_zone
from chairside.core.models import Clinic, Staff
from chairside.core.tenancy import tenant_scope
from chairside.patients.models import Patient
from tests.apiclient import ApiClient
from tests.clinical.conftest import Clin
from tests.conftest import World

FIRST_DAY = date(2024, 1, 1)


def noon(day: date, clinic: Clinic) -> datetime:
    return datetime.combine(day, time(12), tzinfo=clinic_zone(clinic))


def seed_visits(
    world: World, clin: Clin, patient: Patient, visits: int, *, clinic: Clinic | None = None
) -> None:
    """`visits` days, each with a record, an execution with its bill line, and a bill."""
    clinic = clinic or world.clinic1
    doctor: Staff = world.doctor
    days = [FIRST_DAY + timedelta(days=3 * n) for n in range(visits)]
    plan = TreatmentPlan.objects.create(
        clinic=clinic,
        patient=patient,
        doctor=doctor,
        title="长期方案",
        status=TreatmentPlan.Status.ACCEPTED,
        created_by=doctor,
    )
    item = PlanItem.objects.create(
        plan=plan,
        item=clin.scaling,
        name=clin.scaling.name,
        quantity=visits,
        executed_quantity=visits,
        unit_price=Decimal("200.00"),
        status=PlanItem.Status.DONE,
    )
    ClinicalRecord.objects.bulk_create(
        ClinicalRecord(
            organization=world.org,
            clinic=clinic,
            patient=patient,
            doctor=doctor,
            visit_type="follow_up",
            visit_date=day,
            diagnosis_summary=f"复诊 {n}",
            status="signed",
        )
        for n, day in enumerate(days)
    )
    bills = Bill.objects.bulk_create(
        Bill(
            organization=world.org,
            clinic=clinic,
            patient=patient,
            number=f"{clinic.code}-{patient.pk}-{n}",
            status=Bill.Status.CONFIRMED,
            total=Decimal("200.00"),
            paid_total=Decimal("150.00"),
            arrears=Decimal("50.00"),
            created_by=doctor,
            created_at=noon(day, clinic),
        )
        for n, day in enumerate(days)
    )
    lines = BillLine.objects.bulk_create(
        BillLine(
            organization=world.org,
            bill=bill,
            item=clin.scaling,
            name=clin.scaling.name,
            category=clin.scaling.category,
            unit_price=Decimal("200.00"),
            amount=Decimal("200.00"),
            created_by=doctor,
        )
        for bill in bills
    )
    PlanItemExecution.objects.bulk_create(
        PlanItemExecution(
            organization=world.org,
            plan_item=item,
            clinic=clinic,
            quantity=1,
            doctor=doctor,
            bill_line=line,
            confirmed_by=doctor,
            confirmed_at=noon(day, clinic) + timedelta(minutes=5),
        )
        for line, day in zip(lines, days, strict=True)
    )


def queries_for(action: object) -> int:
    with CaptureQueriesContext(connection) as captured:
        action()  # type: ignore[operator]
    return len(captured)


@pytest.mark.usefixtures("in_clinic1")
def test_each_visit_shows_that_days_work_and_bills_at_that_clinic(world: World, clin: Clin) -> None:
    seed_visits(world, clin, clin.zhang, 3)
    # A bill on a day without a record, and a record at clinic 2 the same day as visit 0.
    Bill.objects.create(
        clinic=world.clinic1,
        patient=clin.zhang,
        number="stray",
        created_by=world.doctor,
        created_at=noon(FIRST_DAY + timedelta(days=1), world.clinic1),
    )
    ClinicalRecord.objects.create(
        clinic=world.clinic2,
        patient=clin.zhang,
        doctor=world.doctor,
        visit_type="cleaning",
        visit_date=FIRST_DAY,
    )
    seed_visits(world, clin, clin.li, 2)  # another patient's visits stay out

    page = patient_history(clin.zhang, page=1, page_size=20)

    assert page.total == 4
    visits = page.items
    assert [(v.visit_date, v.clinic.code) for v in visits] == [
        (FIRST_DAY + timedelta(days=6), "c1"),
        (FIRST_DAY + timedelta(days=3), "c1"),
        (FIRST_DAY, "c2"),  # same day, newer record first
        (FIRST_DAY, "c1"),
    ]
    assert [len(v.executions) for v in visits] == [1, 1, 0, 1]
    assert [[b.number for b in v.bills] for v in visits] == [
        [f"c1-{clin.zhang.pk}-2"],
        [f"c1-{clin.zhang.pk}-1"],
        [],
        [f"c1-{clin.zhang.pk}-0"],
    ]
    assert visits[0].record.diagnosis_summary == "复诊 2"


def test_the_api_pages_the_history(world: World, clin: Clin) -> None:
    with tenant_scope(world.org, world.clinic1):
        seed_visits(world, clin, clin.zhang, 7)

    response = ApiClient(world.doctor).get(
        f"/patients/{clin.zhang.pk}/history", page=2, page_size=5
    )

    assert response.status == 200, response
    body = response.json
    assert (body["total"], body["pages"], len(body["items"])) == (7, 2, 2)
    visit = body["items"][0]
    assert visit["visit_date"] == "2024-01-04"
    assert visit["doctor"]["name"] == "Dr. Li"
    assert visit["bills"] == [
        {
            "id": visit["bills"][0]["id"],
            "number": f"c1-{clin.zhang.pk}-1",
            "status": "confirmed",
            "net": "200.00",
            "paid": "150.00",
            "arrears": "50.00",
        }
    ]
    assert visit["executions"][0]["name"] == "全口洁治"
    assert ApiClient(world.frontdesk).get(f"/patients/{clin.zhang.pk}/history").status == 403


def test_the_query_count_stays_flat_from_5_to_200_visits(world: World, clin: Clin) -> None:
    with tenant_scope(world.org, world.clinic1):
        seed_visits(world, clin, clin.zhang, 5)
        seed_visits(world, clin, clin.li, 200)
        assert ClinicalRecord.objects.filter(patient=clin.li).count() == 200

        few = queries_for(lambda: patient_history(clin.zhang, page=1, page_size=5))
        many = queries_for(lambda: patient_history(clin.li, page=1, page_size=5))
        last = queries_for(lambda: patient_history(clin.li, page=40, page_size=5))
        full_page = patient_history(clin.li, page=1, page_size=100)
        full = queries_for(lambda: patient_history(clin.li, page=1, page_size=100))

    assert few == many == last == full == 4  # the page, its count, executions, bills
    assert all(len(v.executions) == 1 and len(v.bills) == 1 for v in full_page.items)

    api = ApiClient(world.doctor)
    path_few = f"/patients/{clin.zhang.pk}/history"
    path_many = f"/patients/{clin.li.pk}/history"
    api.get(path_few)  # warm up: the token's first use writes last_used_at
    api_few = queries_for(lambda: api.get(path_few, page_size=5))
    api_many = queries_for(lambda: api.get(path_many, page_size=5))
    api_full = queries_for(lambda: api.get(path_many, page_size=100))
    assert api_few == api_many == api_full
