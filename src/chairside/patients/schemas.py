"""API schemas of the patient centre: what clients send and what they get back."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from ninja import Schema
from pydantic import Field

from chairside.core.access import Access
from chairside.core.api_auth import MAX_ID
from chairside.core.resident_id import mask_resident_id
from chairside.core.schemas import ObjectId, PageOut, PageQuery, Text
from chairside.patients.models import FamilyRelation, Gender, Patient, SourceChannel, Tag
from chairside.patients.segments import SegmentRules

# --- input ----------------------------------------------------------------------------


class PatientQuery(PageQuery):
    q: Text = Field("", max_length=50, description="Name, pinyin, initials, phone or record no.")
    tag: ObjectId | None = Field(None, description="Only patients with this tag.")
    segment: ObjectId | None = Field(None, description="Only patients in this segment.")


class PatientCreateIn(Schema):
    name: Text = Field(max_length=50)
    phone: Text = Field("", max_length=30, description="Mainland mobile number.")
    gender: Gender | None = Field(None, description="Taken from the ID number if not given.")
    birth_date: date | None = None
    id_number: Text = Field("", max_length=30, description="Resident ID number.")
    address: Text = Field("", max_length=200)
    source: SourceChannel | None = Field(None, description="walk_in unless referred.")
    referrer_id: ObjectId | None = Field(None, description="The patient who referred them.")
    note: Text = Field("", max_length=2000)
    record_no: Text = Field("", max_length=20, description="Numbered automatically if empty.")

    def values(self) -> dict[str, Any]:
        """Keyword arguments for `patient_create`: what the client sent, nulls dropped."""
        return {k: v for k, v in self.model_dump(exclude_unset=True).items() if v is not None}


class PatientUpdateIn(Schema):
    """Only the fields sent are changed. null clears a field (gender: unknown)."""

    name: Text | None = Field(None, max_length=50)
    phone: Text | None = Field(None, max_length=30)
    gender: Gender | None = None
    birth_date: date | None = None
    id_number: Text | None = Field(None, max_length=30)
    address: Text | None = Field(None, max_length=200)
    source: SourceChannel | None = None
    referrer_id: ObjectId | None = None
    note: Text | None = Field(None, max_length=2000)
    record_no: Text | None = Field(None, max_length=20, description="Empty keeps the number.")

    def changes(self) -> dict[str, Any]:
        """Keyword arguments for `patient_update`, with a cleared field as its empty value."""
        changes = self.model_dump(exclude_unset=True)
        for key, value in changes.items():
            if value is None and key in {"name", "phone", "id_number", "address", "note"}:
                changes[key] = ""
        if "gender" in changes and changes["gender"] is None:
            changes["gender"] = Gender.UNKNOWN
        if "record_no" in changes and changes["record_no"] is None:
            del changes["record_no"]
        if "source" in changes and changes["source"] is None:
            changes["source"] = ""  # the service answers "choose where the patient came from"
        return changes


class TagIn(Schema):
    name: Text = Field(max_length=30)
    color: Text = Field("#2563eb", max_length=7, description="Hex colour, e.g. #2563eb.")
    description: Text = Field("", max_length=200)


class FamilyLinkIn(Schema):
    relative_id: ObjectId = Field(description="The patient to add to this patient's family.")
    relation: FamilyRelation = Field(description="How the relative is related.")


_RuleId = Annotated[int, Field(ge=1, le=MAX_ID)]


class SegmentRulesIn(SegmentRules):
    """The rules of a segment; every condition given must hold."""

    tags_any: list[_RuleId] = Field(default_factory=list, max_length=50)
    clinic_ids: list[_RuleId] = Field(default_factory=list, max_length=50)


class SegmentIn(Schema):
    name: Text = Field(max_length=50)
    description: Text = Field("", max_length=200)
    rules: SegmentRulesIn = Field(default_factory=SegmentRulesIn)


# --- output ---------------------------------------------------------------------------


class TagOut(Schema):
    id: int
    name: str
    color: str
    description: str


class TagCountOut(TagOut):
    patient_count: int


class ClinicRef(Schema):
    id: int
    name: str


class PatientOut(Schema):
    id: int
    record_no: str
    name: str
    gender: str
    birth_date: date | None
    phone: str
    id_number: str = Field(description="Masked unless the caller may see full ID numbers.")
    address: str
    source: str
    referrer_id: int | None
    first_clinic: ClinicRef
    family_id: int | None
    family_relation: str
    note: str
    last_visit_at: datetime | None
    is_archived: bool
    created_at: datetime
    tags: list[TagOut]

    @staticmethod
    def of(patient: Patient, access: Access, tags: list[Tag] | None = None) -> PatientOut:
        """`patient` as the caller may see it; tags from the prefetched links if not given."""
        if tags is None:
            tags = [link.tag for link in patient.tag_links.all()]
        id_number = patient.id_number or ""
        if id_number and not access.can("patients.view_id_number"):
            id_number = mask_resident_id(id_number)
        return PatientOut(
            id=patient.pk,
            record_no=patient.record_no,
            name=patient.name,
            gender=patient.gender,
            birth_date=patient.birth_date,
            phone=patient.phone,
            id_number=id_number,
            address=patient.address,
            source=patient.source,
            referrer_id=patient.referrer_id,
            first_clinic=ClinicRef(id=patient.first_clinic.pk, name=patient.first_clinic.name),
            family_id=patient.family_id,
            family_relation=patient.family_relation,
            note=patient.note,
            last_visit_at=patient.last_visit_at,
            is_archived=patient.is_archived,
            created_at=patient.created_at,
            tags=[TagOut.model_validate(t, from_attributes=True) for t in tags],
        )


class PatientPage(PageOut):
    items: list[PatientOut]


class PatientBrief(Schema):
    id: int
    record_no: str
    name: str
    first_clinic: ClinicRef
    created_at: datetime

    @staticmethod
    def of(patient: Patient) -> PatientBrief:
        return PatientBrief(
            id=patient.pk,
            record_no=patient.record_no,
            name=patient.name,
            first_clinic=ClinicRef(id=patient.first_clinic.pk, name=patient.first_clinic.name),
            created_at=patient.created_at,
        )


class ReferrerOut(Schema):
    patient: PatientBrief
    referral_count: int


class ReferrerPage(PageOut):
    items: list[ReferrerOut]


class ReferredPage(PageOut):
    items: list[PatientBrief]


class FamilyMemberOut(Schema):
    patient: PatientBrief
    relation: str


class FamilyOut(Schema):
    family_id: int | None = Field(description="null when the patient is in no family.")
    family_name: str
    relation: str = Field(description="This patient's relation within the family.")
    members: list[FamilyMemberOut] = Field(description="The other members.")


class SegmentOut(Schema):
    id: int
    name: str
    description: str
    rules: dict[str, Any]
    created_at: datetime


class TimelineEventOut(Schema):
    at: datetime
    kind: str
    title: str
    detail: str
    clinic: str
    actor: str
