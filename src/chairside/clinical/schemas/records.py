"""API schemas of medical records, their versions, the tooth chart and record templates."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from ninja import Schema
from pydantic import ConfigDict, Field

from chairside.clinical.models import SECTION_KEYS, ClinicalRecord, RecordTemplate, VisitType
from chairside.clinical.rendering import Finding, ToothFinding, verify
from chairside.clinical.selectors.records import ChartMark, ToothChart, VersionView
from chairside.core.schemas import ObjectId, PageOut, Text

SECTION_LENGTH = 5000
Day = Annotated[date, Field(ge=date(2000, 1, 1), le=date(2100, 12, 31))]
# FDI codes; 19, 29, 56 and the like are refused by the service with code invalid_tooth.
ToothCode = Annotated[int, Field(ge=11, le=85)]
SectionText = Annotated[Text, Field(max_length=SECTION_LENGTH)]


# --- input ----------------------------------------------------------------------------


class SectionsIn(Schema):
    """Section texts; a section left out keeps its text (a draft's or the latest version's)."""

    model_config = ConfigDict(extra="forbid")

    complaint: SectionText | None = None
    present_illness: SectionText | None = None
    history: SectionText | None = None
    examination: SectionText | None = None
    auxiliary_examination: SectionText | None = None
    diagnosis: SectionText | None = None
    treatment: SectionText | None = None
    advice: SectionText | None = None

    def merged_into(self, current: dict[str, str]) -> dict[str, str]:
        sent = self.model_dump(exclude_none=True)
        return {key: sent.get(key, current.get(key, "")) for key in SECTION_KEYS}


class FindingIn(Schema):
    teeth: list[ToothCode] = Field(min_length=1, max_length=52, description="FDI tooth codes.")
    finding: ToothFinding
    note: Text = Field("", max_length=200)

    def as_json(self) -> dict[str, Any]:
        return {"teeth": self.teeth, "finding": str(self.finding.value), "note": self.note}


class RecordCreateIn(Schema):
    patient_id: ObjectId
    visit_type: VisitType
    visit_date: Day | None = Field(None, description="Today at the clinic if left out.")
    template_id: ObjectId | None = Field(
        None, description="The visit type's active template if left out."
    )
    appointment_id: ObjectId | None = None
    plan_id: ObjectId | None = None
    doctor_id: ObjectId | None = Field(None, description="The caller if left out.")


class RecordDraftIn(Schema):
    """Edit a draft: sections sent replace theirs; findings, if sent, replace the list."""

    sections: SectionsIn | None = None
    findings: list[FindingIn] | None = Field(None, max_length=200)
    plan_id: ObjectId | None = Field(None, description="Send null to unlink the plan.")


class AmendmentIn(Schema):
    """The amended content (sections left out keep the latest text; findings likewise)."""

    sections: SectionsIn | None = None
    findings: list[FindingIn] | None = Field(None, max_length=200)
    reason: Text = Field(min_length=1, max_length=200)


class RecordTemplateIn(Schema):
    visit_type: VisitType
    name: Text = Field(min_length=1, max_length=50)
    sections: SectionsIn = Field(default_factory=SectionsIn)
    is_active: bool = True


class RecordTemplateUpdateIn(Schema):
    """Only the fields sent are changed; sections sent replace the template's sections."""

    visit_type: VisitType | None = None
    name: Text | None = Field(None, min_length=1, max_length=50)
    sections: SectionsIn | None = None
    is_active: bool | None = None


class RecordTemplateQuery(Schema):
    visit_type: VisitType | None = None
    include_inactive: bool = Field(False, description="Also list deactivated templates.")


# --- output ---------------------------------------------------------------------------


class PartyOut(Schema):
    id: int
    name: str


class PatientBriefOut(Schema):
    id: int
    name: str
    record_no: str


class SectionsOut(Schema):
    complaint: str
    present_illness: str
    history: str
    examination: str
    auxiliary_examination: str
    diagnosis: str
    treatment: str
    advice: str


class FindingOut(Schema):
    teeth: list[int]
    finding: str
    label: str
    note: str

    @staticmethod
    def of(finding: Finding) -> FindingOut:
        return FindingOut(
            teeth=list(finding.teeth),
            finding=finding.finding,
            label=finding.label,
            note=finding.note,
        )


class RecordVersionOut(Schema):
    number: int
    kind: str
    author: PartyOut
    reason: str
    created_at: datetime
    signed_at: datetime | None
    digest: str = Field(description="SHA-256 of the version's canonical rendering, once signed.")
    verified: bool = Field(description="Whether the digest matches the rendering now.")
    sections: SectionsOut
    findings: list[FindingOut]
    changed_sections: list[str] = Field(description="Sections changed from the version before.")

    @staticmethod
    def of(view: VersionView) -> RecordVersionOut:
        version = view.version
        return RecordVersionOut(
            number=version.number,
            kind=version.kind,
            author=PartyOut(id=version.author_id, name=version.author.display_name),
            reason=version.reason,
            created_at=version.created_at,
            signed_at=version.signed_at,
            digest=version.digest,
            verified=verify(version),
            sections=SectionsOut(**{k: view.content.section(k) for k in SECTION_KEYS}),
            findings=[FindingOut.of(f) for f in view.content.findings],
            changed_sections=[k for k in SECTION_KEYS if k in view.changed_sections],
        )


class RecordOut(Schema):
    id: int
    patient_id: int
    clinic: PartyOut
    doctor: PartyOut
    visit_type: str
    visit_type_label: str
    visit_date: date
    status: str
    diagnosis_summary: str
    version_count: int
    created_at: datetime
    signed_at: datetime | None
    template_id: int | None
    appointment_id: int | None
    plan_id: int | None

    @staticmethod
    def fields_of(record: ClinicalRecord) -> dict[str, Any]:
        return {
            "id": record.pk,
            "patient_id": record.patient_id,
            "clinic": PartyOut(id=record.clinic_id, name=record.clinic.name),
            "doctor": PartyOut(id=record.doctor_id, name=record.doctor.display_name),
            "visit_type": record.visit_type,
            "visit_type_label": str(record.get_visit_type_display()),
            "visit_date": record.visit_date,
            "status": record.status,
            "diagnosis_summary": record.diagnosis_summary,
            "version_count": record.version_count,
            "created_at": record.created_at,
            "signed_at": record.signed_at,
            "template_id": record.template_id,
            "appointment_id": record.appointment_id,
            "plan_id": record.plan_id,
        }

    @staticmethod
    def of(record: ClinicalRecord) -> RecordOut:
        return RecordOut(**RecordOut.fields_of(record))


class RecordDetailOut(RecordOut):
    patient: PatientBriefOut
    current: RecordVersionOut = Field(description="The latest version (the draft, while unsigned).")

    @staticmethod
    def build(record: ClinicalRecord, current: VersionView) -> RecordDetailOut:
        return RecordDetailOut(
            **RecordOut.fields_of(record),
            patient=PatientBriefOut(
                id=record.patient_id, name=record.patient.name, record_no=record.patient.record_no
            ),
            current=RecordVersionOut.of(current),
        )


class RecordPage(PageOut):
    items: list[RecordOut]


class ChartMarkOut(Schema):
    finding: str
    label: str
    note: str
    record_id: int
    visit_date: date

    @staticmethod
    def of(mark: ChartMark) -> ChartMarkOut:
        return ChartMarkOut(
            finding=mark.finding,
            label=mark.label,
            note=mark.note,
            record_id=mark.record_id,
            visit_date=mark.visit_date,
        )


class ToothOut(Schema):
    tooth: int
    findings: list[ChartMarkOut]


class ToothChartOut(Schema):
    patient_id: int
    teeth: list[ToothOut] = Field(description="Teeth with findings, by FDI code.")

    @staticmethod
    def of(patient_id: int, chart: ToothChart) -> ToothChartOut:
        return ToothChartOut(
            patient_id=patient_id,
            teeth=[
                ToothOut(tooth=code, findings=[ChartMarkOut.of(m) for m in marks])
                for code, marks in sorted(chart.teeth.items())
            ],
        )


class RecordTemplateOut(Schema):
    id: int
    visit_type: str
    visit_type_label: str
    name: str
    sections: SectionsOut
    is_active: bool
    updated_at: datetime

    @staticmethod
    def of(template: RecordTemplate) -> RecordTemplateOut:
        return RecordTemplateOut(
            id=template.pk,
            visit_type=template.visit_type,
            visit_type_label=str(template.get_visit_type_display()),
            name=template.name,
            sections=SectionsOut(**{k: template.sections.get(k, "") for k in SECTION_KEYS}),
            is_active=template.is_active,
            updated_at=template.updated_at,
        )
