"""Reading medical records: a patient's records, one record with its versions, the patient's
current tooth chart, and the record templates.

Records are the organization's medical history of the patient: a doctor at clinic 2 who
holds clinical.view may read a record written at clinic 1. Lookups are therefore scoped to
the organization (another organization's record is the same 404 as a missing one), and
writes happen in the clinic acted in. Callers log every read of a record's content
(services.records.record_viewed).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from django.utils.translation import gettext_lazy as _

from chairside.clinical.models import (
    SECTIONS,
    ClinicalRecord,
    RecordTemplate,
    RecordVersion,
    TreatmentPlan,
)
from chairside.clinical.rendering import FINDING_COLOURS, VersionContent, version_content
from chairside.core.errors import NotFound
from chairside.core.pagination import Page, paginate
from chairside.patients.models import Patient


def get_record(*, record_id: int) -> ClinicalRecord:
    """The organization's record (whichever clinic wrote it), or 404."""
    record = (
        ClinicalRecord.objects.select_related("patient", "doctor", "clinic", "template", "plan")
        .filter(pk=record_id)
        .first()
    )
    if record is None:
        raise NotFound(_("Medical record not found."))
    return record  # type: ignore[no-any-return]


def patient_records(*, patient: Patient, page: int = 1, page_size: int = 20) -> Page:
    """The patient's records, newest visit first, with doctor and clinic (two queries at most)."""
    records = (
        ClinicalRecord.objects.filter(patient=patient)
        .select_related("doctor", "clinic")
        .order_by("-visit_date", "-id")
    )
    return paginate(records, page=page, page_size=page_size)


@dataclass(frozen=True)
class VersionView:
    """A version with its decrypted content and the sections it changed from the previous one."""

    version: RecordVersion
    content: VersionContent
    changed_sections: frozenset[str]
    findings_changed: bool

    @property
    def sections(self) -> list[tuple[str, str, str, bool]]:
        """(key, label, text, changed) in the order of a record."""
        return [
            (key, str(label), self.content.section(key), key in self.changed_sections)
            for key, label in SECTIONS
        ]


@dataclass(frozen=True)
class RecordDetail:
    record: ClinicalRecord
    versions: list[VersionView]  # oldest first

    @property
    def current(self) -> VersionView:
        return self.versions[-1]


def record_versions(*, record: ClinicalRecord) -> list[VersionView]:
    """Every version, oldest first, each with what it changed (one query)."""
    versions = list(
        RecordVersion.objects.filter(record=record).select_related("author").order_by("number")
    )
    views: list[VersionView] = []
    previous: VersionContent | None = None
    for version in versions:
        content = version_content(version)
        changed: frozenset[str]
        if previous is None:
            changed = frozenset()
            findings_changed = False
        else:
            changed = frozenset(
                key for key, _label in SECTIONS if content.section(key) != previous.section(key)
            )
            findings_changed = content.findings != previous.findings
        views.append(VersionView(version, content, changed, findings_changed))
        previous = content
    return views


def record_detail(*, record: ClinicalRecord) -> RecordDetail:
    return RecordDetail(record=record, versions=record_versions(record=record))


@dataclass(frozen=True)
class ChartMark:
    """One finding on one tooth, from the latest signed version of a record."""

    finding: str
    label: str
    colour: str
    note: str
    record_id: int
    visit_date: date


@dataclass
class ToothChart:
    """The patient's teeth with their current findings (tooth code -> marks)."""

    teeth: dict[int, list[ChartMark]] = field(default_factory=dict)

    def as_json(self) -> dict[str, list[dict[str, object]]]:
        return {
            str(code): [
                {
                    "finding": m.finding,
                    "label": m.label,
                    "colour": m.colour,
                    "note": m.note,
                    "record_id": m.record_id,
                    "visit_date": m.visit_date.isoformat(),
                }
                for m in marks
            ]
            for code, marks in sorted(self.teeth.items())
        }

    @property
    def has_primary(self) -> bool:
        return any(code >= 50 for code in self.teeth)


def patient_tooth_chart(*, patient: Patient) -> ToothChart:
    """Per tooth, the findings of each signed record's latest version; the newest visit wins
    for the same tooth and finding. One query, however many records."""
    versions = (
        RecordVersion.objects.filter(
            record__patient=patient,
            record__status=ClinicalRecord.Status.SIGNED,
            signed_at__isnull=False,
        )
        .select_related("record")
        .order_by("record__visit_date", "record_id", "number")
    )
    latest: dict[int, RecordVersion] = {}
    for version in versions:
        latest[version.record_id] = version  # later numbers replace earlier ones
    marks: dict[tuple[int, str], ChartMark] = {}
    for version in latest.values():  # in visit order: newer visits overwrite older ones
        record = version.record
        for finding in version_content(version).findings:
            mark = ChartMark(
                finding=finding.finding,
                label=finding.label,
                colour=FINDING_COLOURS[finding.finding],
                note=finding.note,
                record_id=record.pk,
                visit_date=record.visit_date,
            )
            for tooth in finding.teeth:
                marks.pop((tooth, finding.finding), None)
                marks[(tooth, finding.finding)] = mark
    chart = ToothChart()
    for (tooth, _finding), mark in marks.items():
        chart.teeth.setdefault(tooth, []).append(mark)
    return chart


def template_list(
    *, visit_type: str | None = None, include_inactive: bool = False
) -> list[RecordTemplate]:
    templates = RecordTemplate.objects.all()
    if visit_type:
        templates = templates.filter(visit_type=visit_type)
    if not include_inactive:
        templates = templates.filter(is_active=True)
    return list(templates.order_by("visit_type", "name", "id"))


def get_template(*, template_id: int) -> RecordTemplate:
    template = RecordTemplate.objects.filter(pk=template_id).first()
    if template is None:
        raise NotFound(_("Template not found."))
    return template  # type: ignore[no-any-return]


def get_linkable_plan(*, plan_id: int) -> TreatmentPlan:
    """A treatment plan of the organization a record may link to (the service checks that
    it is the record's patient's)."""
    plan = TreatmentPlan.objects.filter(pk=plan_id).first()
    if plan is None:
        raise NotFound(_("Treatment plan not found."))
    return plan  # type: ignore[no-any-return]
