"""A patient's visit history with 200 visits: the selector and the API call, and their queries.

    CHAIRSIDE_DATABASE_URL=postgres://postgres@127.0.0.1:5432/chairside_bench \
        .venv/bin/python bench/patient_history.py [--visits 200] [--rounds 50]

On a migrated PostgreSQL database (the demo chain is loaded when missing) it adds, once, a
patient "压测病人" at the demo chain's first clinic with `--visits` visits: each a signed
medical record, a plan item execution with its bill line, and a confirmed bill with arrears
(inserted in bulk; set-up only). A second patient with 5 visits is the baseline. It prints:

1. `patient_history` (the selector, first page of 20 and the last page), p50/p95;
2. GET /api/v1/patients/{id}/history through Django's whole stack in process (token
   authentication, the selector, the JSON schemas; no network), p50/p95;
3. the queries of each, for 5 visits and for `--visits` visits: the figure must not grow.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from datetime import date, datetime, timedelta
from datetime import time as clock
from decimal import Decimal

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chairside.settings")
django.setup()

from create_patients import percentile  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from chairside.billing.models import Bill, BillLine, CatalogueItem, Category, Unit  # noqa: E402
from chairside.clinical.models import (  # noqa: E402
    ClinicalRecord,
    PlanItem,
    PlanItemExecution,
    TreatmentPlan,
)
from chairside.clinical.selectors.history import patient_history  # noqa: E402
from chairside.core.clock import clinic_zone  # noqa: E402
from chairside.core.models import Clinic, Organization, Staff  # noqa: E402
from chairside.core.services import api_token_issue  # noqa: E402
from chairside.core.tenancy import tenant_scope  # noqa: E402
from chairside.demo.seeding import demo_exists, seed_demo  # noqa: E402
from chairside.patients.models import Patient  # noqa: E402
from chairside.patients.services import patient_create  # noqa: E402

FIRST_DAY = date(2020, 1, 6)


def timed(action: Callable[[], object], rounds: int) -> list[float]:
    action()
    samples = []
    for _ in range(rounds):
        started = time.perf_counter()
        action()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def queries(action: Callable[[], object]) -> int:
    with CaptureQueriesContext(connection) as captured:
        action()
    return len(captured)


def bench_patient(
    demo: Organization, clinic: Clinic, doctor: Staff, name: str, visits: int
) -> Patient:
    """The patient called `name` with `visits` visits, built once per database."""
    patient = Patient.objects.filter(name=name).first()
    if patient is not None:
        return patient
    patient = patient_create(actor=doctor, clinic=clinic, name=name)
    item, _ = CatalogueItem.objects.get_or_create(
        code="bench-scaling",
        defaults={
            "name": "压测洁治",
            "category": Category.PERIODONTAL,
            "unit": Unit.PER_VISIT,
            "price": Decimal("200.00"),
        },
    )
    zone = clinic_zone(clinic)
    days = [FIRST_DAY + timedelta(days=7 * n) for n in range(visits)]
    plan = TreatmentPlan.objects.create(
        clinic=clinic,
        patient=patient,
        doctor=doctor,
        title="压测方案",
        status=TreatmentPlan.Status.ACCEPTED,
        created_by=doctor,
    )
    plan_item = PlanItem.objects.create(
        plan=plan,
        item=item,
        name=item.name,
        quantity=visits,
        executed_quantity=visits,
        unit_price=item.price,
        status=PlanItem.Status.DONE,
    )
    ClinicalRecord.objects.bulk_create(
        ClinicalRecord(
            organization=demo,
            clinic=clinic,
            patient=patient,
            doctor=doctor,
            visit_type="follow_up",
            visit_date=day,
            diagnosis_summary=f"慢性牙周炎 复诊{n + 1}",
            status="signed",
        )
        for n, day in enumerate(days)
    )
    bills = Bill.objects.bulk_create(
        Bill(
            organization=demo,
            clinic=clinic,
            patient=patient,
            number=f"BENCH-{patient.pk}-{n:04d}",
            status=Bill.Status.CONFIRMED,
            total=Decimal("200.00"),
            paid_total=Decimal("150.00"),
            arrears=Decimal("50.00"),
            created_by=doctor,
            created_at=datetime.combine(day, clock(10), tzinfo=zone),
        )
        for n, day in enumerate(days)
    )
    lines = BillLine.objects.bulk_create(
        BillLine(
            organization=demo,
            bill=bill,
            item=item,
            name=item.name,
            category=item.category,
            unit_price=item.price,
            amount=item.price,
            doctor=doctor,
            created_by=doctor,
        )
        for bill in bills
    )
    PlanItemExecution.objects.bulk_create(
        PlanItemExecution(
            organization=demo,
            plan_item=plan_item,
            clinic=clinic,
            quantity=1,
            doctor=doctor,
            bill_line=line,
            confirmed_by=doctor,
            confirmed_at=datetime.combine(day, clock(9, 50), tzinfo=zone),
        )
        for line, day in zip(lines, days, strict=True)
    )
    return patient


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--visits", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=50)
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        sys.exit("Run this against PostgreSQL: set CHAIRSIDE_DATABASE_URL=postgres://...")
    if not demo_exists():
        seed_demo(patients=2_000, progress=lambda _: None)
    demo = Organization.objects.get(slug="demo")
    with tenant_scope(demo):
        clinic = Clinic.objects.filter(kind=Clinic.Kind.CLINIC).order_by("id").first()
        assert clinic is not None
        boss = Staff.objects.get(username="boss")
        many = bench_patient(demo, clinic, boss, "压测病人", args.visits)
        few = bench_patient(demo, clinic, boss, "压测病人五次", 5)
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
        key, _token = api_token_issue(staff=boss)
    total = ClinicalRecord.all_tenants.filter(patient=many).count()
    pages = -(-total // 20)
    client = Client(
        HTTP_HOST="localhost",
        HTTP_AUTHORIZATION=f"Bearer {key}",
        HTTP_X_CLINIC_ID=str(clinic.pk),
    )

    def api(patient: Patient, page: int = 1) -> None:
        response = client.get(f"/api/v1/patients/{patient.pk}/history", {"page": page})
        assert response.status_code == 200, response.content[:200]

    with tenant_scope(demo, clinic):
        selector_first = timed(lambda: patient_history(many, page=1, page_size=20), args.rounds)
        selector_last = timed(lambda: patient_history(many, page=pages, page_size=20), args.rounds)
        counts = {
            "selector, 5 visits": queries(lambda: patient_history(few, page=1, page_size=20)),
            f"selector, {total} visits, page 1": queries(
                lambda: patient_history(many, page=1, page_size=20)
            ),
            f"selector, {total} visits, page {pages}": queries(
                lambda: patient_history(many, page=pages, page_size=20)
            ),
        }
    api_first = timed(lambda: api(many), args.rounds)
    api(few)
    counts["API, 5 visits"] = queries(lambda: api(few))
    counts[f"API, {total} visits"] = queries(lambda: api(many))

    print(f"patient history, {total} visits, pages of 20, {args.rounds} rounds")
    for label, samples in (
        ("selector, first page", selector_first),
        (f"selector, page {pages}", selector_last),
        ("API GET, first page", api_first),
    ):
        print(
            f"  {label:<22} p50 {percentile(samples, 0.5):.1f} ms, "
            f"p95 {percentile(samples, 0.95):.1f} ms"
        )
    print("queries")
    for label, count in counts.items():
        print(f"  {label:<32} {count}")


if __name__ == "__main__":
    main()
