"""API of the patient centre: patients, tags, families, referrals, segments and timelines.

Each handler checks its permission, looks objects up through the selectors (another
organization's objects are 404, like missing ones) and makes one service call.
"""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Query, Router
from ninja.responses import Status

from chairside.core.access import Access
from chairside.core.api_auth import AUTH_ERRORS, LOOKUP_ERRORS, access_of
from chairside.core.schemas import PageParams, PathId
from chairside.patients import selectors, services
from chairside.patients.models import Patient
from chairside.patients.schemas import (
    FamilyLinkIn,
    FamilyMemberOut,
    FamilyOut,
    PatientBrief,
    PatientCreateIn,
    PatientOut,
    PatientPage,
    PatientQuery,
    PatientUpdateIn,
    ReferredPage,
    ReferrerOut,
    ReferrerPage,
    SegmentIn,
    SegmentOut,
    TagCountOut,
    TagIn,
    TagOut,
    TimelineEventOut,
)

router = Router(tags=["patients"])


def _patient_page(access: Access, page: selectors.Page) -> PatientPage:
    return PatientPage.of(
        page,
        [PatientOut.of(p, access) for p in page.items],
    )


def _with_tags(patient: Patient, access: Access) -> PatientOut:
    return PatientOut.of(patient, access, tags=selectors.patient_tags(patient=patient))


# --- patients -------------------------------------------------------------------------


@router.get("/patients", response={200: PatientPage, **LOOKUP_ERRORS}, summary="Find patients")
def patient_list(request: HttpRequest, filters: Query[PatientQuery]) -> PatientPage:
    """Search by name, pinyin or initials, phone (or its last four digits) or record number;
    filter by tag or segment. Archived patients are left out. Unknown segment: 404."""
    access = access_of(request)
    access.require("patients.view")
    segment = selectors.get_segment(segment_id=filters.segment) if filters.segment else None
    patients = selectors.patient_list(query=filters.q, tag_id=filters.tag, segment=segment)
    page = selectors.paginate(patients, page=filters.page, page_size=filters.page_size)
    return _patient_page(access, page)


@router.post("/patients", response={201: PatientOut, **AUTH_ERRORS}, summary="Register a patient")
def patient_create(request: HttpRequest, payload: PatientCreateIn) -> Status[PatientOut]:
    """Register a patient at the acting clinic. Birth date and gender come from the ID
    number when it is given; the record number is assigned when left empty."""
    access = access_of(request)
    access.require("patients.create")
    patient = services.patient_create(actor=access.staff, clinic=access.clinic, **payload.values())
    return Status(201, PatientOut.of(patient, access, tags=[]))


@router.get(
    "/patients/{int:patient_id}",
    response={200: PatientOut, **LOOKUP_ERRORS},
    summary="Get a patient",
)
def patient_detail(request: HttpRequest, patient_id: PathId) -> PatientOut:
    access = access_of(request)
    access.require("patients.view")
    return _with_tags(selectors.get_patient(patient_id=patient_id), access)


@router.patch(
    "/patients/{int:patient_id}",
    response={200: PatientOut, **LOOKUP_ERRORS},
    summary="Edit a patient",
)
def patient_update(
    request: HttpRequest, patient_id: PathId, payload: PatientUpdateIn
) -> PatientOut:
    access = access_of(request)
    access.require("patients.update")
    patient = selectors.get_patient(patient_id=patient_id)
    services.patient_update(
        actor=access.staff, clinic=access.clinic, patient=patient, **payload.changes()
    )
    return _with_tags(selectors.get_patient(patient_id=patient_id), access)


@router.post(
    "/patients/{int:patient_id}/archive",
    response={200: PatientOut, **LOOKUP_ERRORS},
    summary="Archive a patient",
)
def patient_archive(request: HttpRequest, patient_id: PathId) -> PatientOut:
    """Patients are never deleted; an archived patient is left out of searches."""
    access = access_of(request)
    access.require("patients.archive")
    patient = selectors.get_patient(patient_id=patient_id)
    services.patient_archive(actor=access.staff, clinic=access.clinic, patient=patient)
    return _with_tags(patient, access)


@router.get(
    "/patients/{int:patient_id}/timeline",
    response={200: list[TimelineEventOut], **LOOKUP_ERRORS},
    summary="A patient's timeline",
)
def patient_timeline(request: HttpRequest, patient_id: PathId) -> list[TimelineEventOut]:
    """What happened to the patient, newest first."""
    access_of(request).require("patients.view")
    patient = selectors.get_patient(patient_id=patient_id)
    return [
        TimelineEventOut.model_validate(e, from_attributes=True)
        for e in selectors.patient_timeline(patient=patient)
    ]


# --- tags -----------------------------------------------------------------------------


@router.get("/tags", response={200: list[TagCountOut], **AUTH_ERRORS}, summary="List tags")
def tag_list(request: HttpRequest) -> list[TagCountOut]:
    access_of(request).require("patients.view")
    return [TagCountOut.model_validate(t, from_attributes=True) for t in selectors.tag_list()]


@router.post("/tags", response={201: TagOut, **AUTH_ERRORS}, summary="Create a tag")
def tag_create(request: HttpRequest, payload: TagIn) -> Status[TagOut]:
    access = access_of(request)
    access.require("tags.manage")
    tag = services.tag_create(actor=access.staff, **payload.model_dump())
    return Status(201, TagOut.model_validate(tag, from_attributes=True))


@router.put(
    "/patients/{int:patient_id}/tags/{int:tag_id}",
    response={200: list[TagOut], **LOOKUP_ERRORS},
    summary="Tag a patient",
)
def patient_tag_add(request: HttpRequest, patient_id: PathId, tag_id: PathId) -> list[TagOut]:
    """Put the tag on the patient (no change if it is there). Returns the patient's tags."""
    access = access_of(request)
    access.require("patients.tag")
    patient = selectors.get_patient(patient_id=patient_id)
    tag = selectors.get_tag(tag_id=tag_id)
    services.patient_tag_add(actor=access.staff, clinic=access.clinic, patient=patient, tag=tag)
    return [
        TagOut.model_validate(t, from_attributes=True)
        for t in selectors.patient_tags(patient=patient)
    ]


@router.delete(
    "/patients/{int:patient_id}/tags/{int:tag_id}",
    response={204: None, **LOOKUP_ERRORS},
    summary="Untag a patient",
)
def patient_tag_remove(request: HttpRequest, patient_id: PathId, tag_id: PathId) -> Status[None]:
    access = access_of(request)
    access.require("patients.tag")
    patient = selectors.get_patient(patient_id=patient_id)
    tag = selectors.get_tag(tag_id=tag_id)
    services.patient_tag_remove(actor=access.staff, clinic=access.clinic, patient=patient, tag=tag)
    return Status(204, None)


# --- family ---------------------------------------------------------------------------


def _family(patient: Patient) -> FamilyOut:
    members = selectors.family_members(patient=patient)
    return FamilyOut(
        family_id=patient.family_id,
        family_name=patient.family.name if patient.family else "",
        relation=patient.family_relation,
        members=[
            FamilyMemberOut(patient=PatientBrief.of(m), relation=m.family_relation) for m in members
        ],
    )


@router.get(
    "/patients/{int:patient_id}/family",
    response={200: FamilyOut, **LOOKUP_ERRORS},
    summary="A patient's family",
)
def family_detail(request: HttpRequest, patient_id: PathId) -> FamilyOut:
    access_of(request).require("patients.view")
    return _family(selectors.get_patient(patient_id=patient_id))


@router.post(
    "/patients/{int:patient_id}/family",
    response={200: FamilyOut, **LOOKUP_ERRORS},
    summary="Add a relative to the family",
)
def family_link(request: HttpRequest, patient_id: PathId, payload: FamilyLinkIn) -> FamilyOut:
    """Put the relative in this patient's family, creating the family (with this patient
    as its head) if there is none yet."""
    access = access_of(request)
    access.require("patients.family")
    patient = selectors.get_patient(patient_id=patient_id)
    relative = selectors.get_patient(patient_id=payload.relative_id)
    services.family_link(
        actor=access.staff,
        clinic=access.clinic,
        patient=patient,
        relative=relative,
        relation=payload.relation,
    )
    return _family(selectors.get_patient(patient_id=patient_id))


@router.delete(
    "/patients/{int:patient_id}/family",
    response={204: None, **LOOKUP_ERRORS},
    summary="Remove the patient from their family",
)
def family_unlink(request: HttpRequest, patient_id: PathId) -> Status[None]:
    """A family left with one member is dissolved."""
    access = access_of(request)
    access.require("patients.family")
    patient = selectors.get_patient(patient_id=patient_id)
    services.family_unlink(actor=access.staff, clinic=access.clinic, patient=patient)
    return Status(204, None)


# --- referrals ------------------------------------------------------------------------


@router.get(
    "/referrals", response={200: ReferrerPage, **AUTH_ERRORS}, summary="Referral leaderboard"
)
def referral_leaderboard(request: HttpRequest, paging: PageParams) -> ReferrerPage:
    """Patients who referred others, most referrals first, counted over the whole chain."""
    access_of(request).require("patients.referrals")
    page = selectors.paginate(
        selectors.referral_leaderboard(), page=paging.page, page_size=paging.page_size
    )
    return ReferrerPage.of(
        page,
        [
            ReferrerOut(patient=PatientBrief.of(p), referral_count=p.referral_count)  # type: ignore[attr-defined]
            for p in page.items
        ],
    )


@router.get(
    "/patients/{int:patient_id}/referrals",
    response={200: ReferredPage, **LOOKUP_ERRORS},
    summary="Patients a patient referred",
)
def referral_detail(request: HttpRequest, patient_id: PathId, paging: PageParams) -> ReferredPage:
    access_of(request).require("patients.referrals")
    referrer = selectors.get_patient(patient_id=patient_id)
    page = selectors.paginate(
        selectors.referral_detail(referrer=referrer), page=paging.page, page_size=paging.page_size
    )
    return ReferredPage.of(
        page,
        [PatientBrief.of(p) for p in page.items],
    )


# --- segments -------------------------------------------------------------------------


@router.get("/segments", response={200: list[SegmentOut], **AUTH_ERRORS}, summary="List segments")
def segment_list(request: HttpRequest) -> list[SegmentOut]:
    access_of(request).require("patients.view")
    return [SegmentOut.model_validate(s, from_attributes=True) for s in selectors.segment_list()]


@router.post("/segments", response={201: SegmentOut, **AUTH_ERRORS}, summary="Create a segment")
def segment_create(request: HttpRequest, payload: SegmentIn) -> Status[SegmentOut]:
    access = access_of(request)
    access.require("segments.manage")
    segment = services.segment_save(
        actor=access.staff,
        name=payload.name,
        description=payload.description,
        rules=payload.rules.model_dump(mode="json", exclude_defaults=True),
    )
    return Status(201, SegmentOut.model_validate(segment, from_attributes=True))


@router.get(
    "/segments/{int:segment_id}/patients",
    response={200: PatientPage, **LOOKUP_ERRORS},
    summary="Patients in a segment",
)
def segment_patients(request: HttpRequest, segment_id: PathId, paging: PageParams) -> PatientPage:
    access = access_of(request)
    access.require("patients.view")
    segment = selectors.get_segment(segment_id=segment_id)
    page = selectors.paginate(
        selectors.patient_list(segment=segment), page=paging.page, page_size=paging.page_size
    )
    return _patient_page(access, page)
