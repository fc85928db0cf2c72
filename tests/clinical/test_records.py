"""Medical record services: drafts from templates, signing locks a version, amendments are new
signed versions with their own author and reason, every view is logged, and the tooth chart
shows the latest signed findings."""

from __future__ import annotations

import hashlib
from datetime import date
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from chairside.clinical.models import SECTION_KEYS, ClinicalRecord, RecordVersion, VisitType
from chairside.clinical.rendering import verify, version_content, version_rendering
from chairside.clinical.selectors.records import (
    patient_records,
    patient_tooth_chart,
    record_versions,
)
from chairside.clinical.services.record_templates import record_templates_install_defaults
from chairside.clinical.services.records import (
    record_amend,
    record_create,
    record_sign,
    record_update_draft,
    record_viewed,
)
from chairside.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from chairside.core.models import AuditEntry, Staff
from chairside.core.tenancy import tenant_scope
from chairside.patients.services import patient_update
from tests.clinical.conftest import Clin
from tests.concurrency import run_concurrently
from tests.conftest import World

pytestmark = pytest.mark.usefixtures("in_clinic1")

DIAGNOSIS = "46 慢性根尖周炎"


def sections(**texts: str) -> dict[str, str]:
    return {key: texts.get(key, "") for key in SECTION_KEYS}


def written(world: World, clin: Clin, **overrides: Any) -> ClinicalRecord:
    """A draft by Dr. Li for Zhang, with a complaint, a diagnosis and a finding on 46."""
    record = record_create(
        actor=world.doctor,
        clinic=world.clinic1,
        patient=clin.zhang,
        visit_type=VisitType.FIRST_VISIT,
        **overrides,
    )
    return record_update_draft(
        actor=world.doctor,
        clinic=world.clinic1,
        record=record,
        sections=sections(complaint="右下后牙疼痛3天", diagnosis=DIAGNOSIS),
        findings=[{"teeth": [46], "finding": "periapical_lesion", "note": "叩痛(+)"}],
    )


def signed(world: World, clin: Clin) -> ClinicalRecord:
    return record_sign(actor=world.doctor, clinic=world.clinic1, record=written(world, clin))


def versions(record: ClinicalRecord) -> list[RecordVersion]:
    return list(RecordVersion.objects.filter(record=record).order_by("number"))


def views_of(record: ClinicalRecord) -> int:
    return int(
        AuditEntry.objects.filter(
            action=AuditEntry.Action.VIEW,
            entity_type="clinical.clinicalrecord",
            entity_id=str(record.pk),
        ).count()
    )


# --- create -----------------------------------------------------------------------------


def test_a_record_starts_as_a_draft_filled_from_the_visit_types_template(
    world: World, clin: Clin
) -> None:
    record_templates_install_defaults(organization=world.org)

    record = record_create(
        actor=world.doctor,
        clinic=world.clinic1,
        patient=clin.zhang,
        visit_type=VisitType.EXTRACTION,
        visit_date=date(2026, 3, 2),
    )

    assert record.status == ClinicalRecord.Status.DRAFT
    assert record.doctor == world.doctor
    assert record.clinic == world.clinic1
    assert record.template is not None
    assert record.template.name == "拔牙病历"
    [version] = versions(record)
    assert (version.number, version.kind, version.author) == (1, "original", world.doctor)
    assert version.signed_at is None
    assert version.digest == ""
    content = version_content(version)
    assert "咬棉球30分钟" in content.section("advice")
    assert "局麻下拔除" in content.section("treatment")
    assert set(content.sections) == set(SECTION_KEYS)


def test_a_record_defaults_to_today_at_the_clinic_and_the_actor_as_doctor(
    world: World, clin: Clin
) -> None:
    from chairside.core.clock import clinic_today

    record = record_create(
        actor=world.doctor, clinic=world.clinic1, patient=clin.zhang, visit_type="follow_up"
    )

    assert record.visit_date == clinic_today(world.clinic1)
    assert record.doctor == world.doctor
    assert record.template is None  # no template installed: blank sections
    assert version_content(versions(record)[0]).sections == sections()


def test_the_content_is_encrypted_at_rest(world: World, clin: Clin) -> None:
    record = written(world, clin)

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT content FROM clinical_recordversion WHERE record_id = %s", [record.pk]
        )
        [(stored,)] = cursor.fetchall()

    assert "根尖周炎" not in stored
    assert "periapical" not in stored
    assert DIAGNOSIS in version_content(versions(record)[0]).section("diagnosis")


def test_the_doctor_must_write_records_at_the_clinic(world: World, clin: Clin) -> None:
    for doctor in (clin.nurse, clin.doctor_c2, world.frontdesk):
        with pytest.raises(ValidationFailed) as error:
            record_create(
                actor=world.boss,
                clinic=world.clinic1,
                patient=clin.zhang,
                visit_type="first_visit",
                doctor=doctor,
            )
        assert "doctor_id" in error.value.fields


def test_refuses_future_dates_unknown_visit_types_and_foreign_templates(
    world: World, clin: Clin
) -> None:
    [ortho] = [
        t
        for t in record_templates_install_defaults(organization=world.org)
        if t.visit_type == "orthodontic"
    ]
    base = {"actor": world.doctor, "clinic": world.clinic1, "patient": clin.zhang}
    with pytest.raises(ValidationFailed, match="future"):
        record_create(**base, visit_type="first_visit", visit_date=date(2100, 1, 1))
    with pytest.raises(ValidationFailed):
        record_create(**base, visit_type="massage")
    with pytest.raises(ValidationFailed) as error:
        record_create(**base, visit_type="implant", template=ortho)
    assert "template_id" in error.value.fields


def test_another_organizations_patient_is_not_found(world: World, clin: Clin) -> None:
    with pytest.raises(NotFound):
        record_create(
            actor=world.doctor, clinic=world.clinic1, patient=clin.patient_b, visit_type="follow_up"
        )
    assert ClinicalRecord.all_tenants.count() == 0


# --- drafts -----------------------------------------------------------------------------


def test_the_doctor_edits_the_draft_sections_and_findings(world: World, clin: Clin) -> None:
    record = written(world, clin)

    content = version_content(versions(record)[0])
    assert content.section("complaint") == "右下后牙疼痛3天"
    assert [(f.teeth, f.finding, f.note) for f in content.findings] == [
        ((46,), "periapical_lesion", "叩痛(+)")
    ]
    assert record.diagnosis_summary == DIAGNOSIS


def test_only_the_records_doctor_edits_it(world: World, clin: Clin) -> None:
    record = written(world, clin)

    for other in (clin.doctor2, world.boss):
        with pytest.raises(PermissionDenied):
            record_update_draft(
                actor=other, clinic=world.clinic1, record=record, sections=sections(), findings=[]
            )
    assert version_content(versions(record)[0]).section("diagnosis") == DIAGNOSIS


@pytest.mark.parametrize(
    ("finding", "field"),
    [
        ({"teeth": [19], "finding": "caries"}, "findings.0.teeth"),
        ({"teeth": [56], "finding": "caries"}, "findings.0.teeth"),
        ({"teeth": "11,99", "finding": "caries"}, "findings.0.teeth"),
        ({"teeth": [], "finding": "caries"}, "findings.0.teeth"),
        ({"teeth": [11], "finding": "toothache"}, "findings.0.finding"),
        ({"teeth": [11], "finding": "caries", "note": "x" * 201}, "findings.0.note"),
    ],
)
def test_invalid_findings_are_refused_with_a_clear_error(
    world: World, clin: Clin, finding: dict[str, Any], field: str
) -> None:
    record = written(world, clin)

    with pytest.raises(ValidationFailed) as error:
        record_update_draft(
            actor=world.doctor,
            clinic=world.clinic1,
            record=record,
            sections=sections(),
            findings=[{"teeth": [11], "finding": "filled"}, finding],
        )

    assert field.replace("0", "1") in error.value.fields
    if field.endswith("teeth") and finding["teeth"]:
        assert error.value.code == "invalid_tooth"
        assert "FDI" in str(error.value.message)


def test_primary_teeth_are_findings_too(world: World, clin: Clin) -> None:
    record = written(world, clin)
    record_update_draft(
        actor=world.doctor,
        clinic=world.clinic1,
        record=record,
        sections=sections(diagnosis="乳牙龋"),
        findings=[{"teeth": [85, 54, 84], "finding": "caries"}],
    )

    assert version_content(versions(record)[0]).findings[0].teeth == (54, 84, 85)


def test_unknown_sections_are_refused(world: World, clin: Clin) -> None:
    record = written(world, clin)
    with pytest.raises(ValidationFailed) as error:
        record_update_draft(
            actor=world.doctor,
            clinic=world.clinic1,
            record=record,
            sections={"prognosis": "good"},
            findings=[],
        )
    assert "sections" in error.value.fields


# --- signing ----------------------------------------------------------------------------


def test_signing_locks_the_version_with_the_digest_of_its_rendering(
    world: World, clin: Clin
) -> None:
    record = signed(world, clin)

    record.refresh_from_db()
    assert record.status == ClinicalRecord.Status.SIGNED
    assert record.signed_at is not None
    assert record.diagnosis_summary == DIAGNOSIS
    [version] = versions(record)
    assert version.signed_at == record.signed_at
    assert version.digest == hashlib.sha256(version_rendering(version)).hexdigest()
    assert verify(version)


def test_a_signed_version_never_changes(world: World, clin: Clin) -> None:
    record = signed(world, clin)
    [version] = versions(record)
    frozen = (version.content, version.digest, version.signed_at, version_rendering(version))

    with pytest.raises(Conflict):
        record_update_draft(
            actor=world.doctor,
            clinic=world.clinic1,
            record=record,
            sections=sections(diagnosis="改写"),
            findings=[],
        )
    with pytest.raises(Conflict):
        record_sign(actor=world.doctor, clinic=world.clinic1, record=record)
    record_amend(
        actor=world.doctor,
        clinic=world.clinic1,
        record=record,
        sections=sections(diagnosis="46 急性牙髓炎"),
        findings=[],
        reason="诊断修正",
    )

    version.refresh_from_db()
    assert (
        version.content,
        version.digest,
        version.signed_at,
        version_rendering(version),
    ) == frozen
    assert verify(version)


def test_the_rendering_is_stable_when_names_change_later(world: World, clin: Clin) -> None:
    record = signed(world, clin)
    [version] = versions(record)
    before = version_rendering(version)
    assert "张三".encode() in before
    assert b"Dr. Li" in before

    patient_update(actor=world.boss, clinic=world.clinic1, patient=clin.zhang, name="张叁")
    Staff.objects.filter(pk=world.doctor.pk).update(display_name="Dr. Li Ming")
    version = RecordVersion.objects.get(pk=version.pk)

    assert version_rendering(version) == before
    assert verify(version)


def test_the_rendering_is_canonical_json_with_sections_in_record_order(
    world: World, clin: Clin
) -> None:
    import json

    record = signed(world, clin)
    [version] = versions(record)
    rendering = version_rendering(version)
    document = json.loads(rendering)

    assert (
        rendering
        == json.dumps(document, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()
    )
    assert [key for key, _text in document["sections"]] == list(SECTION_KEYS)
    assert document["patient"] == {
        "id": clin.zhang.pk,
        "name": "张三",
        "record_no": clin.zhang.record_no,
    }
    assert document["version"]["number"] == 1
    assert document["findings"] == [
        {"teeth": [46], "finding": "periapical_lesion", "note": "叩痛(+)"}
    ]


def test_tampering_with_a_signed_version_fails_verification(world: World, clin: Clin) -> None:
    record = signed(world, clin)
    [version] = versions(record)
    content = version.content.replace("慢性根尖周炎", "急性牙髓炎")
    RecordVersion.objects.filter(pk=version.pk).update(content=content)

    assert not verify(RecordVersion.objects.get(pk=version.pk))


def test_signing_needs_a_diagnosis(world: World, clin: Clin) -> None:
    record = record_create(
        actor=world.doctor, clinic=world.clinic1, patient=clin.zhang, visit_type="first_visit"
    )

    with pytest.raises(ValidationFailed) as error:
        record_sign(actor=world.doctor, clinic=world.clinic1, record=record)

    assert "sections.diagnosis" in error.value.fields
    record.refresh_from_db()
    assert record.status == ClinicalRecord.Status.DRAFT


def test_only_the_records_doctor_signs_it(world: World, clin: Clin) -> None:
    record = written(world, clin)

    for other in (clin.doctor2, world.boss):
        with pytest.raises(PermissionDenied):
            record_sign(actor=other, clinic=world.clinic1, record=record)

    record.refresh_from_db()
    assert record.status == ClinicalRecord.Status.DRAFT
    assert versions(record)[0].signed_at is None


# --- amendments -------------------------------------------------------------------------


def test_an_amendment_is_a_new_signed_version_by_its_author(world: World, clin: Clin) -> None:
    record = signed(world, clin)

    amendment = record_amend(
        actor=clin.doctor2,
        clinic=world.clinic1,
        record=record,
        sections=sections(complaint="右下后牙疼痛3天", diagnosis="46 急性牙髓炎"),
        findings=[{"teeth": [46], "finding": "caries"}],
        reason="复查后修正诊断",
    )

    assert (amendment.number, amendment.kind, amendment.author) == (2, "amendment", clin.doctor2)
    assert amendment.reason == "复查后修正诊断"
    assert amendment.signed_at is not None
    assert verify(amendment)
    record.refresh_from_db()
    assert record.version_count == 2
    assert record.diagnosis_summary == "46 急性牙髓炎"
    assert record.doctor == world.doctor  # the record stays Dr. Li's
    history = record_versions(record=record)
    assert [v.version.number for v in history] == [1, 2]
    assert history[1].changed_sections == {"diagnosis"}
    assert history[1].findings_changed
    assert version_content(history[0].version).section("diagnosis") == DIAGNOSIS


def test_amendments_accumulate_in_order(world: World, clin: Clin) -> None:
    record = signed(world, clin)
    for n, diagnosis in enumerate(("A", "B", "C"), start=2):
        version = record_amend(
            actor=world.doctor,
            clinic=world.clinic1,
            record=record,
            sections=sections(diagnosis=diagnosis),
            findings=[],
            reason=f"修正 {n}",
        )
        assert version.number == n

    assert [(v.number, v.kind, v.reason) for v in versions(record)] == [
        (1, "original", ""),
        (2, "amendment", "修正 2"),
        (3, "amendment", "修正 3"),
        (4, "amendment", "修正 4"),
    ]
    assert all(verify(v) for v in versions(record))


def test_an_amendment_needs_a_signed_record_a_reason_a_diagnosis_and_a_change(
    world: World, clin: Clin
) -> None:
    draft = written(world, clin)
    with pytest.raises(Conflict):
        record_amend(
            actor=world.doctor,
            clinic=world.clinic1,
            record=draft,
            sections=sections(diagnosis="x"),
            findings=[],
            reason="r",
        )
    record = record_sign(actor=world.doctor, clinic=world.clinic1, record=draft)
    current = version_content(versions(record)[0])
    cases: list[tuple[dict[str, str], list[Any], str]] = [
        (sections(diagnosis="x"), [], " "),
        (sections(), [], "清空"),
        (current.sections, list(current.findings), "没有改动"),
    ]
    for texts, findings, reason in cases:
        with pytest.raises(ValidationFailed):
            record_amend(
                actor=world.doctor,
                clinic=world.clinic1,
                record=record,
                sections=texts,
                findings=findings,
                reason=reason,
            )
    assert len(versions(record)) == 1


# --- views are logged -------------------------------------------------------------------


def test_every_view_is_logged_with_who_where_and_how(world: World, clin: Clin) -> None:
    record = signed(world, clin)

    record_viewed(actor=clin.nurse, clinic=world.clinic1, record=record, via="page:detail")
    record_viewed(actor=clin.doctor_c2, clinic=world.clinic2, record=record, via="api")

    entries = list(
        AuditEntry.objects.filter(action=AuditEntry.Action.VIEW, entity_id=str(record.pk)).order_by(
            "id"
        )
    )
    assert [(e.actor, e.clinic, e.after) for e in entries] == [
        (clin.nurse, world.clinic1, {"via": "page:detail"}),
        (clin.doctor_c2, world.clinic2, {"via": "api"}),
    ]


def test_the_audit_log_never_holds_the_medical_text(world: World, clin: Clin) -> None:
    record = signed(world, clin)
    record_amend(
        actor=world.doctor,
        clinic=world.clinic1,
        record=record,
        sections=sections(diagnosis="46 急性牙髓炎", treatment="开髓引流"),
        findings=[],
        reason="修正",
    )

    entries = AuditEntry.objects.filter(entity_type="clinical.recordversion")
    assert entries.count() == 4  # created, saved, signed, amendment
    for entry in entries:
        assert "开髓引流" not in str(entry.before) + str(entry.after)
        assert "右下后牙" not in str(entry.before) + str(entry.after)


# --- reading ----------------------------------------------------------------------------


def test_the_tooth_chart_shows_the_latest_signed_findings_newest_visit_winning(
    world: World, clin: Clin
) -> None:
    def record_on(
        day: date, findings: list[dict[str, Any]], *, sign: bool = True
    ) -> ClinicalRecord:
        record = record_create(
            actor=world.doctor,
            clinic=world.clinic1,
            patient=clin.zhang,
            visit_type="follow_up",
            visit_date=day,
        )
        record = record_update_draft(
            actor=world.doctor,
            clinic=world.clinic1,
            record=record,
            sections=sections(diagnosis="d"),
            findings=findings,
        )
        if sign:
            record = record_sign(actor=world.doctor, clinic=world.clinic1, record=record)
        return record

    old = record_on(date(2025, 1, 5), [{"teeth": [16, 26], "finding": "caries", "note": "old"}])
    record_on(date(2025, 6, 1), [{"teeth": [16], "finding": "caries", "note": "new"}])
    record_on(date(2025, 7, 1), [{"teeth": [36], "finding": "missing"}], sign=False)
    record_amend(
        actor=world.doctor,
        clinic=world.clinic1,
        record=old,
        sections=sections(diagnosis="d2"),
        findings=[
            {"teeth": [26], "finding": "filled", "note": ""},
            {"teeth": [16], "finding": "caries", "note": "amended old"},
        ],
        reason="修正",
    )

    chart = patient_tooth_chart(patient=clin.zhang)

    assert {code: [(m.finding, m.note) for m in marks] for code, marks in chart.teeth.items()} == {
        16: [("caries", "new")],  # the June visit is newer than January's amendment
        26: [("filled", "")],  # the amendment replaced January's caries on 26
    }


def test_a_patients_records_list_takes_the_same_queries_for_3_or_30(
    world: World, clin: Clin
) -> None:
    def make(n: int) -> None:
        for i in range(n):
            record_create(
                actor=clin.doctor_c2 if i % 2 else world.doctor,
                clinic=world.clinic2 if i % 2 else world.clinic1,
                patient=clin.zhang,
                visit_type="follow_up",
                visit_date=date(2025, 1, 1 + i % 28),
            )

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            page = patient_records(patient=clin.zhang, page=1, page_size=100)
            [(r.doctor.display_name, r.clinic.name) for r in page.items]
        return len(captured)

    make(3)
    few = queries()
    make(27)
    many = queries()
    assert few == many <= 2


def test_records_of_another_organization_are_out_of_reach(world: World, clin: Clin) -> None:
    record = signed(world, clin)
    with tenant_scope(world.org_b, world.clinic_b):
        assert not ClinicalRecord.objects.filter(pk=record.pk).exists()
        with pytest.raises(NotFound):
            record_viewed(actor=world.boss_b, clinic=world.clinic_b, record=record, via="x")
        with pytest.raises(NotFound):
            record_amend(
                actor=world.boss_b,
                clinic=world.clinic_b,
                record=record,
                sections=sections(diagnosis="x"),
                findings=[],
                reason="r",
            )
    assert views_of(record) == 0


# --- concurrency (PostgreSQL) -----------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_amendments_get_distinct_numbers(world: World, clin: Clin) -> None:
    record = signed(world, clin)

    def amend(i: int) -> int:
        with tenant_scope(world.org, world.clinic1):
            return record_amend(
                actor=world.doctor,
                clinic=world.clinic1,
                record=record,
                sections=sections(diagnosis=f"diagnosis {i}"),
                findings=[],
                reason=f"reason {i}",
            ).number

    results = run_concurrently(amend, 6)

    assert sorted(results) == [2, 3, 4, 5, 6, 7], results
    record.refresh_from_db()
    assert record.version_count == 7
    assert all(verify(v) for v in versions(record))


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_signing_signs_once(world: World, clin: Clin) -> None:
    record = written(world, clin)

    def sign(_i: int) -> object:
        with tenant_scope(world.org, world.clinic1):
            return record_sign(actor=world.doctor, clinic=world.clinic1, record=record)

    results = run_concurrently(sign, 4)

    assert sum(isinstance(r, ClinicalRecord) for r in results) == 1
    assert sum(isinstance(r, Conflict) for r in results) == 3
    assert (
        AuditEntry.objects.filter(
            entity_type="clinical.clinicalrecord", summary="Medical record signed"
        ).count()
        == 1
    )


def test_a_record_links_only_to_its_own_patients_plan(world: World, clin: Clin) -> None:
    from chairside.clinical.models import TreatmentPlan

    plan_li = TreatmentPlan.objects.create(
        clinic=world.clinic1,
        patient=clin.li,
        doctor=world.doctor,
        title="李四",
        created_by=world.doctor,
    )
    plan_zhang = TreatmentPlan.objects.create(
        clinic=world.clinic1,
        patient=clin.zhang,
        doctor=world.doctor,
        title="张三",
        created_by=world.doctor,
    )
    base = {"actor": world.doctor, "clinic": world.clinic1, "patient": clin.zhang}
    with pytest.raises(ValidationFailed) as error:
        record_create(**base, visit_type="follow_up", plan=plan_li)
    assert "plan_id" in error.value.fields

    record = record_create(**base, visit_type="follow_up", plan=plan_zhang)
    record = record_update_draft(
        actor=world.doctor, clinic=world.clinic1, record=record, sections={}, findings=[], plan=None
    )
    assert record.plan is None
    with pytest.raises(ValidationFailed):
        record_update_draft(
            actor=world.doctor,
            clinic=world.clinic1,
            record=record,
            sections={},
            findings=[],
            plan=plan_li,
        )
