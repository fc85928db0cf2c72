"""Reads of patient data, already scoped to the current organization and free of N+1."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, Prefetch, Q, QuerySet
from django.utils.translation import gettext_lazy as _

from chairside.core.errors import NotFound
from chairside.core.models import AuditEntry, Clinic
from chairside.core.pagination import Page as Page  # re-exported for the patient pages and API
from chairside.core.pagination import paginate as paginate
from chairside.patients.models import Patient, PatientTag, Segment, Tag
from chairside.patients.segments import SegmentRules

_LETTERS = re.compile(r"^[a-z]+$")


def search_condition(query: str) -> Q:
    """What a clerk typed, turned into indexed prefix lookups.

    Digits: phone or record number prefix, or the phone's last four digits. Latin letters:
    pinyin initials ("zs") or full pinyin ("zhangs"). Anything else: name prefix.
    """
    text = re.sub(r"\s+", "", query)
    if not text:
        return Q()
    if text.isdigit():
        condition = Q(phone__startswith=text) | Q(record_no__startswith=text)
        if len(text) == 4:
            condition |= Q(phone_last4=text)
        return condition
    lowered = text.lower()
    if _LETTERS.match(lowered):
        return (
            Q(name_initials__startswith=lowered)
            | Q(name_pinyin__startswith=lowered)
            | Q(record_no__startswith=text.upper())
        )
    return Q(name__startswith=text) | Q(record_no__startswith=text.upper())


def patient_list(
    *,
    query: str = "",
    tag_id: int | None = None,
    segment: Segment | None = None,
    include_archived: bool = False,
) -> QuerySet[Patient]:
    patients = Patient.objects.filter(search_condition(query))
    if not include_archived:
        patients = patients.filter(is_archived=False)
    if tag_id is not None:
        patients = patients.filter(tag_links__tag_id=tag_id)
    if segment is not None:
        patients = patients.filter(SegmentRules.model_validate(segment.rules).to_q())
        if segment.rules.get("tags_any"):
            patients = patients.distinct()
    return (
        patients.select_related("first_clinic", "family")
        .prefetch_related(Prefetch("tag_links", queryset=PatientTag.objects.select_related("tag")))
        .order_by("-id")
    )


def get_patient(*, patient_id: int, include_archived: bool = True) -> Patient:
    """The patient of the current organization, or the same 404 whether missing or foreign."""
    patients = Patient.objects.select_related("first_clinic", "family", "referrer")
    if not include_archived:
        patients = patients.filter(is_archived=False)
    patient = patients.filter(pk=patient_id).first()
    if patient is None:
        raise NotFound(_("Patient not found."))
    return patient


def get_tag(*, tag_id: int) -> Tag:
    tag = Tag.objects.filter(pk=tag_id).first()
    if tag is None:
        raise NotFound(_("Tag not found."))
    return tag


def get_segment(*, segment_id: int) -> Segment:
    segment = Segment.objects.filter(pk=segment_id).first()
    if segment is None:
        raise NotFound(_("Segment not found."))
    return segment


def patient_tags(*, patient: Patient) -> list[Tag]:
    """The tags on one patient, by name."""
    return list(Tag.objects.filter(patient_links__patient=patient).order_by("name"))


def tag_list() -> QuerySet[Tag]:
    return Tag.objects.annotate(patient_count=Count("patient_links")).order_by("name")


def clinic_choices() -> list[Clinic]:
    """The active clinics of the organization (not the HQ office), for rules naming clinics."""
    return list(Clinic.objects.filter(kind=Clinic.Kind.CLINIC, is_active=True).order_by("id"))


def segment_list() -> QuerySet[Segment]:
    return Segment.objects.order_by("name")


def family_members(*, patient: Patient) -> list[Patient]:
    if patient.family_id is None:
        return []
    return list(
        Patient.objects.filter(family_id=patient.family_id)
        .exclude(pk=patient.pk)
        .select_related("first_clinic")
        .order_by("id")
    )


def referral_leaderboard() -> QuerySet[Patient]:
    """Referrers with how many patients they brought, summed over every clinic of the chain."""
    return (
        Patient.objects.annotate(referral_count=Count("referred_patients"))
        .filter(referral_count__gt=0)
        .select_related("first_clinic")
        .order_by("-referral_count", "id")
    )


def referral_detail(*, referrer: Patient) -> QuerySet[Patient]:
    """The patients `referrer` brought, each with the clinic where they registered."""
    return (
        Patient.objects.filter(referrer=referrer)
        .select_related("first_clinic")
        .order_by("-created_at", "-id")
    )


@dataclass(frozen=True)
class TimelineEvent:
    at: datetime
    kind: str
    title: str
    detail: str = ""
    clinic: str = ""
    actor: str = ""


def patient_timeline(*, patient: Patient, limit: int = 200) -> list[TimelineEvent]:
    """Everything that happened to a patient, newest first (P7, as far as data exists)."""
    entries = (
        AuditEntry.objects.filter(entity_type="patients.patient", entity_id=str(patient.pk))
        .exclude(action=AuditEntry.Action.VIEW)
        .select_related("actor", "clinic")
        .order_by("-created_at", "-id")[:limit]
    )
    events = [
        TimelineEvent(
            at=e.created_at,
            kind=e.action,
            title=e.summary or e.get_action_display(),
            detail=", ".join(sorted((e.after or {}).keys())) if e.action == "update" else "",
            clinic=e.clinic.name if e.clinic else "",
            actor=str(e.actor) if e.actor else "",
        )
        for e in entries
    ]
    for referred in referral_detail(referrer=patient)[:limit]:
        events.append(
            TimelineEvent(
                at=referred.created_at,
                kind="referral",
                title=str(_("Referred %(name)s") % {"name": referred.name}),
                clinic=referred.first_clinic.name,
            )
        )
    events.sort(key=lambda e: e.at, reverse=True)
    return events[:limit]
