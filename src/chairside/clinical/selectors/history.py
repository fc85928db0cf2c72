"""A patient's visit history: each medical record with the work executed and the bills of
that day at that clinic.

Built in a fixed number of queries per page whatever the number of visits: the page of
records, its count when needed, one query for the executions and one for the bills of the
page's span of days, matched to the visits in Python by clinic and the clinic's local date.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from chairside.billing.models import Bill
from chairside.clinical.models import ClinicalRecord, PlanItemExecution
from chairside.core.clock import day_bounds, local
from chairside.core.models import Clinic
from chairside.core.pagination import Page, paginate
from chairside.patients.models import Patient


@dataclass
class Visit:
    record: ClinicalRecord
    executions: list[PlanItemExecution] = field(default_factory=list)
    bills: list[Bill] = field(default_factory=list)

    @property
    def visit_date(self) -> date:
        return self.record.visit_date

    @property
    def clinic(self) -> Clinic:
        return self.record.clinic


def patient_history(patient: Patient, page: int = 1, page_size: int = 20) -> Page:
    """One page of the patient's visits, newest first; `Page.items` are `Visit`s."""
    records = (
        ClinicalRecord.objects.filter(patient=patient)
        .select_related("clinic", "doctor", "plan")
        .order_by("-visit_date", "-id")
    )
    result = paginate(records, page=page, page_size=page_size)
    visits = [Visit(record) for record in result.items]
    if visits:
        _attach(patient, visits)
    return Page(items=visits, total=result.total, page=result.page, page_size=result.page_size)


def _attach(patient: Patient, visits: list[Visit]) -> None:
    by_day: dict[tuple[int, date], Visit] = {}
    for visit in visits:
        # Two records of one day at one clinic share that day's work and bills: the first
        # (newest) shows them.
        by_day.setdefault((visit.clinic.pk, visit.visit_date), visit)
    clinics = {v.clinic.pk: v.clinic for v in visits}
    # One span from the page's first day to its last, on each clinic's clock, then matched
    # to the visits exactly below: a patient has few bills that are not on a visit day, and
    # one range compiles much faster than an OR of one range per visit.
    bounds = [day_bounds(day, day, clinics[clinic_id]) for clinic_id, day in by_day]
    start = min(b[0] for b in bounds)
    end = max(b[1] for b in bounds)

    executions = (
        PlanItemExecution.objects.filter(
            plan_item__plan__patient=patient,
            clinic_id__in=clinics,
            confirmed_at__gte=start,
            confirmed_at__lt=end,
        )
        .select_related("plan_item", "doctor", "bill_line")
        .order_by("confirmed_at", "id")
    )
    for execution in executions:
        clinic = clinics[execution.clinic_id]
        found = by_day.get((clinic.pk, local(execution.confirmed_at, clinic).date()))
        if found is not None:
            found.executions.append(execution)

    bills = (
        Bill.objects.filter(
            patient=patient, clinic_id__in=clinics, created_at__gte=start, created_at__lt=end
        )
        .exclude(status=Bill.Status.VOID)
        .order_by("created_at", "id")
    )
    for bill in bills:
        clinic = clinics[bill.clinic_id]
        found = by_day.get((clinic.pk, local(bill.created_at, clinic).date()))
        if found is not None:
            found.bills.append(bill)
