"""API of a patient's visit history (records, executed work and bills per visit)."""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Router

from chairside.clinical.schemas.history import HistoryPage, VisitOut
from chairside.clinical.selectors.history import patient_history
from chairside.core.api_auth import LOOKUP_ERRORS, access_of
from chairside.core.schemas import PageParams, PathId
from chairside.patients.selectors import get_patient

router = Router(tags=["clinical"])


@router.get(
    "/patients/{int:patient_id}/history",
    response={200: HistoryPage, **LOOKUP_ERRORS},
    summary="A patient's visit history",
)
def patient_history_get(
    request: HttpRequest, patient_id: PathId, paging: PageParams
) -> HistoryPage:
    """The patient's visits, newest first: each medical record with the work executed and
    the bills of that day at that clinic. Needs clinical.view (the list shows diagnoses)."""
    access = access_of(request)
    access.require("clinical.view")
    patient = get_patient(patient_id=patient_id)
    page = patient_history(patient, page=paging.page, page_size=paging.page_size)
    return HistoryPage.of(page, [VisitOut.of(v) for v in page.items])
