"""The medical records API: every operation refuses other organizations (404, as if missing)
and staff without the permission (403); drafts are edited and signed by their doctor;
amendments are signed versions; reads are logged; odd input is 400, never 500."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from chairside.clinical.models import (
    SECTION_KEYS,
    ClinicalRecord,
    RecordTemplate,
    RecordVersion,
    TreatmentPlan,
)
from chairside.clinical.services.record_templates import record_templates_install_defaults
from chairside.clinical.services.records import record_create, record_sign, record_update_draft
from chairside.core.models import AuditEntry
from chairside.core.tenancy import tenant_scope
from tests.apiclient import ApiClient, Endpoint, documented_operations
from tests.clinical.conftest import Clin
from tests.conftest import World
from tests.core.test_api import is_error


def sections(**texts: str) -> dict[str, str]:
    return {key: texts.get(key, "") for key in SECTION_KEYS}


@dataclass
class Data:
    clin: Clin
    draft: ClinicalRecord  # Dr. Li's draft for Zhang at clinic 1
    signed: ClinicalRecord  # Dr. Li's signed record for Zhang at clinic 1
    template: RecordTemplate  # organization A's extraction template
    plan: TreatmentPlan  # Zhang's plan in organization A
    record_b: ClinicalRecord
    template_b: RecordTemplate

    def ids(self) -> dict[str, int]:
        return {
            "patient": self.clin.zhang.pk,
            "draft": self.draft.pk,
            "signed": self.signed.pk,
            "template": self.template.pk,
            "plan": self.plan.pk,
            "patient_b": self.clin.patient_b.pk,
            "record_b": self.record_b.pk,
            "template_b": self.template_b.pk,
        }


def _written(world: World, clin: Clin, *, sign: bool) -> ClinicalRecord:
    record = record_create(
        actor=world.doctor, clinic=world.clinic1, patient=clin.zhang, visit_type="first_visit"
    )
    record = record_update_draft(
        actor=world.doctor,
        clinic=world.clinic1,
        record=record,
        sections=sections(complaint="牙痛", diagnosis="36 深龋"),
        findings=[{"teeth": [36], "finding": "caries", "note": ""}],
    )
    if sign:
        record = record_sign(actor=world.doctor, clinic=world.clinic1, record=record)
    return record


@pytest.fixture
def data(world: World, clin: Clin) -> Data:
    with tenant_scope(world.org, world.clinic1):
        templates = record_templates_install_defaults(organization=world.org)
        draft = _written(world, clin, sign=False)
        signed = _written(world, clin, sign=True)
        plan = TreatmentPlan.objects.create(
            clinic=world.clinic1,
            patient=clin.zhang,
            doctor=world.doctor,
            title="36 根管治疗+冠修复",
            created_by=world.doctor,
        )
    with tenant_scope(world.org_b, world.clinic_b):
        templates_b = record_templates_install_defaults(organization=world.org_b)
        record_b = record_create(
            actor=world.boss_b,
            clinic=world.clinic_b,
            patient=clin.patient_b,
            visit_type="follow_up",
        )
    return Data(
        clin,
        draft,
        signed,
        next(t for t in templates if t.visit_type == "extraction"),
        plan,
        record_b,
        templates_b[0],
    )


def count(model: type[Any], world: World) -> int:
    return int(model.all_tenants.filter(organization=world.org).count())


AMENDMENT = {"sections": {"diagnosis": "36 可复性牙髓炎"}, "reason": "复查后修正"}

# Every records operation; test_every_records_operation_is_covered fails until a new one is
# added here.
RECORD_ENDPOINTS = [
    Endpoint("GET", "/patients/{patient}/records"),
    Endpoint("POST", "/records", {"patient_id": "{patient}", "visit_type": "follow_up"}),
    Endpoint("GET", "/records/{signed}"),
    Endpoint("PATCH", "/records/{draft}", {"sections": {"advice": "按时复诊"}}),
    Endpoint("POST", "/records/{draft}/sign"),
    Endpoint("POST", "/records/{signed}/amendments", AMENDMENT),
    Endpoint("GET", "/records/{signed}/versions"),
    Endpoint("GET", "/patients/{patient}/tooth-chart"),
    Endpoint("GET", "/record-templates"),
    Endpoint("POST", "/record-templates", {"visit_type": "implant", "name": "种植二期"}),
    Endpoint("PATCH", "/record-templates/{template}", {"is_active": False}),
]
RECORD_PATHS = ("/records", "/record-templates", "/patients/{}/records", "/patients/{}/tooth-chart")

# What organization B's boss sends to reach A's objects, by path or body: 404 exactly as if
# the object did not exist, and nothing written (not even a view logged).
FOREIGN_LOOKUPS = [
    *[e for e in RECORD_ENDPOINTS if "{" in e.path],
    Endpoint(
        "POST",
        "/records",
        {"patient_id": "{patient_b}", "visit_type": "extraction", "template_id": "{template}"},
    ),
    Endpoint("PATCH", "/records/{record_b}", {"plan_id": "{plan}"}),
    Endpoint(
        "POST",
        "/records",
        {"patient_id": "{patient_b}", "visit_type": "follow_up", "plan_id": "{plan}"},
    ),
]

MISSING = 987654


def missing_ids(ids: dict[str, int]) -> dict[str, int]:
    return {k: (v if k.endswith("_b") else MISSING) for k, v in ids.items()}


def _is_records_path(shape: str) -> bool:
    path = shape.split(" ", 1)[1]
    return any(path == p or path.startswith(p + "/") for p in RECORD_PATHS)


def test_every_records_operation_is_covered(db: None) -> None:
    documented = {s for s in documented_operations(tags={"clinical"}) if _is_records_path(s)}
    assert documented == {e.shape for e in RECORD_ENDPOINTS}


@pytest.mark.parametrize("endpoint", FOREIGN_LOOKUPS, ids=str)
def test_another_organizations_objects_are_404_like_missing_ones(
    world: World, data: Data, endpoint: Endpoint
) -> None:
    api = ApiClient(world.boss_b)
    ids = data.ids()
    before = {m: count(m, world) for m in (ClinicalRecord, RecordVersion, RecordTemplate)}
    audit_before = count(AuditEntry, world)

    foreign = endpoint.call(api, ids)
    missing = endpoint.call(api, missing_ids(ids))

    assert foreign.status == 404, foreign
    assert is_error(foreign.json, "not_found")
    assert foreign.json == missing.json
    assert {m: count(m, world) for m in before} == before
    assert count(AuditEntry, world) == audit_before


@pytest.mark.parametrize("endpoint", RECORD_ENDPOINTS, ids=str)
def test_staff_without_clinical_permissions_are_refused_everywhere(
    world: World, data: Data, endpoint: Endpoint
) -> None:
    audit_before = count(AuditEntry, world)

    response = endpoint.call(ApiClient(world.frontdesk), data.ids())

    assert response.status == 403, response
    assert is_error(response.json, "permission_denied")
    assert count(AuditEntry, world) == audit_before


@pytest.mark.parametrize(
    "endpoint",
    [
        Endpoint("POST", "/records", {"patient_id": "{patient}", "visit_type": "follow_up"}),
        Endpoint("PATCH", "/records/{draft}", {"sections": {"advice": "x"}}),
        Endpoint("POST", "/records/{draft}/sign"),
        Endpoint("POST", "/records/{signed}/amendments", AMENDMENT),
        Endpoint("POST", "/record-templates", {"visit_type": "implant", "name": "x"}),
        Endpoint("PATCH", "/record-templates/{template}", {"is_active": False}),
        Endpoint("GET", "/record-templates"),
    ],
    ids=str,
)
def test_a_nurse_reads_but_does_not_write(world: World, data: Data, endpoint: Endpoint) -> None:
    response = endpoint.call(ApiClient(data.clin.nurse), data.ids())

    assert response.status == 403, response
    assert ApiClient(data.clin.nurse).get(f"/records/{data.signed.pk}").status == 200


# --- reading ----------------------------------------------------------------------------


def test_a_patients_records_newest_first_across_clinics(world: World, data: Data) -> None:
    with tenant_scope(world.org, world.clinic2):
        record_create(
            actor=data.clin.doctor_c2,
            clinic=world.clinic2,
            patient=data.clin.zhang,
            visit_type="cleaning",
        )

    response = ApiClient(data.clin.doctor_c2).get(f"/patients/{data.clin.zhang.pk}/records")

    assert response.status == 200
    body = response.json
    assert body["total"] == 3
    assert [r["id"] for r in body["items"]][1:] == [data.signed.pk, data.draft.pk]
    assert {r["clinic"]["name"] for r in body["items"]} == {"Downtown Clinic", "Riverside Clinic"}
    assert body["items"][1]["diagnosis_summary"] == "36 深龋"
    assert body["items"][1]["status"] == "signed"


def test_reading_a_record_and_its_versions_is_logged(world: World, data: Data) -> None:
    api = ApiClient(data.clin.doctor_c2)  # another clinic of the organization

    record = api.get(f"/records/{data.signed.pk}")
    versions = api.get(f"/records/{data.signed.pk}/versions")

    assert record.status == 200
    assert record.json["current"]["sections"]["diagnosis"] == "36 深龋"
    assert record.json["current"]["verified"] is True
    assert len(record.json["current"]["digest"]) == 64
    assert record.json["patient"]["name"] == "张三"
    assert versions.status == 200
    assert [v["number"] for v in versions.json] == [1]
    entries = AuditEntry.all_tenants.filter(
        action="view", entity_type="clinical.clinicalrecord", entity_id=str(data.signed.pk)
    ).order_by("id")
    assert [(e.actor_id, e.clinic_id, e.after["via"]) for e in entries] == [
        (data.clin.doctor_c2.pk, world.clinic2.pk, "api"),
        (data.clin.doctor_c2.pk, world.clinic2.pk, "api:versions"),
    ]


def test_the_tooth_chart(world: World, data: Data) -> None:
    response = ApiClient(world.doctor).get(f"/patients/{data.clin.zhang.pk}/tooth-chart")

    assert response.status == 200
    assert response.json["teeth"] == [
        {
            "tooth": 36,
            "findings": [
                {
                    "finding": "caries",
                    "label": "Caries",
                    "note": "",
                    "record_id": data.signed.pk,
                    "visit_date": data.signed.visit_date.isoformat(),
                }
            ],
        }
    ]


# --- writing ----------------------------------------------------------------------------


EXTRACTION_FILLED = {
    "complaint": "左下后牙反复肿痛1月，要求拔除",
    "present_illness": "38 反复冠周炎3次，未治疗。",
    "history": "否认系统性疾病史，否认抗凝药物服用史，否认药物过敏史。",
    "examination": "38 近中阻生，冠周龈瓣轻度红肿，叩痛（-）。",
    "auxiliary_examination": "全景片示：38 近中低位阻生，根尖距下颌神经管约2mm。",
    "treatment": "告知风险，签署知情同意书；局麻下拔除38，搔刮牙槽窝，缝合2针。",
}


def test_a_record_is_written_signed_and_amended_through_the_api(world: World, data: Data) -> None:
    api = ApiClient(world.doctor)

    created = api.post(
        "/records",
        {"patient_id": data.clin.zhang.pk, "visit_type": "extraction", "visit_date": "2026-01-05"},
    )
    assert created.status == 201, created
    record_id = created.json["id"]
    assert created.json["status"] == "draft"
    assert "局麻下拔除" in created.json["current"]["sections"]["treatment"]

    edited = api.patch(
        f"/records/{record_id}",
        {
            "sections": {"diagnosis": "38 阻生齿"},
            "findings": [{"teeth": [38], "finding": "impacted", "note": "近中阻生"}],
        },
    )
    assert edited.status == 200, edited
    assert edited.json["current"]["sections"]["diagnosis"] == "38 阻生齿"
    assert "局麻下拔除" in edited.json["current"]["sections"]["treatment"]  # untouched

    # The template's blanks (… and choices such as （有/无）) are not signed as they are.
    refused = api.post(f"/records/{record_id}/sign")
    assert refused.status == 400, refused
    assert "History" in refused.json["message"]
    filled = api.patch(f"/records/{record_id}", {"sections": EXTRACTION_FILLED})
    assert filled.status == 200, filled

    signed = api.post(f"/records/{record_id}/sign")
    assert signed.status == 200, signed
    assert signed.json["status"] == "signed"
    assert signed.json["current"]["verified"] is True

    assert api.patch(f"/records/{record_id}", {"sections": {"diagnosis": "x"}}).status == 409
    assert api.post(f"/records/{record_id}/sign").status == 409

    amended = ApiClient(data.clin.doctor2).post(
        f"/records/{record_id}/amendments",
        {"sections": {"advice": "术后3天复查"}, "reason": "补充医嘱"},
    )
    assert amended.status == 201, amended
    assert amended.json["number"] == 2
    assert amended.json["kind"] == "amendment"
    assert amended.json["author"]["name"] == "Dr. Zhou"
    assert amended.json["changed_sections"] == ["advice"]
    assert amended.json["findings"][0]["teeth"] == [38]  # kept
    assert amended.json["verified"] is True

    history = api.get(f"/records/{record_id}/versions").json
    assert [(v["number"], v["kind"], v["reason"]) for v in history] == [
        (1, "original", ""),
        (2, "amendment", "补充医嘱"),
    ]
    assert history[0]["sections"]["advice"] != "术后3天复查"


def test_only_the_records_doctor_edits_and_signs_it(world: World, data: Data) -> None:
    api = ApiClient(data.clin.doctor2)

    edit = api.patch(f"/records/{data.draft.pk}", {"sections": {"diagnosis": "x"}})
    sign = api.post(f"/records/{data.draft.pk}/sign")

    assert edit.status == 403
    assert is_error(edit.json, "permission_denied")
    assert sign.status == 403
    data.draft.refresh_from_db()
    assert data.draft.status == "draft"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"findings": [{"teeth": [19], "finding": "caries"}]}, "findings.0.teeth"),
        ({"findings": [{"teeth": [11], "finding": "toothache"}]}, "findings.0.finding"),
        ({"findings": [{"teeth": [], "finding": "caries"}]}, "findings.0.teeth"),
        ({"findings": [{"teeth": [10], "finding": "caries"}]}, "findings.0.teeth.0"),
        ({"sections": {"prognosis": "good"}}, "sections.prognosis"),
        ({"sections": {"diagnosis": "x" * 5001}}, "sections.diagnosis"),
        ({"plan_id": 0}, "plan_id"),
    ],
)
def test_bad_draft_input_is_400_at_the_field(
    world: World, data: Data, body: dict[str, Any], field: str
) -> None:
    response = ApiClient(world.doctor).patch(f"/records/{data.draft.pk}", body)

    assert response.status == 400, response
    assert field in response.json["fields"], response.json


def test_invalid_teeth_carry_the_tooth_error_code(world: World, data: Data) -> None:
    response = ApiClient(world.doctor).patch(
        f"/records/{data.draft.pk}", {"findings": [{"teeth": [56, 11], "finding": "caries"}]}
    )

    assert response.status == 400
    assert response.json["code"] == "invalid_tooth"
    assert "FDI" in response.json["message"]


def test_signing_needs_a_diagnosis_and_amending_a_reason(world: World, data: Data) -> None:
    api = ApiClient(world.doctor)
    blank = api.post("/records", {"patient_id": data.clin.li.pk, "visit_type": "follow_up"})

    sign = api.post(f"/records/{blank.json['id']}/sign")
    amend_draft = api.post(f"/records/{data.draft.pk}/amendments", AMENDMENT)
    no_reason = api.post(f"/records/{data.signed.pk}/amendments", {"sections": {"diagnosis": "y"}})

    assert sign.status == 400
    assert "sections.diagnosis" in sign.json["fields"]
    assert amend_draft.status == 409
    assert no_reason.status == 400
    assert "reason" in no_reason.json["fields"]


def test_a_record_links_to_the_patients_appointment_only_at_the_acting_clinic(
    world: World, data: Data
) -> None:
    response = ApiClient(world.doctor).post(
        "/records",
        {"patient_id": data.clin.zhang.pk, "visit_type": "follow_up", "appointment_id": 424242},
    )

    assert response.status == 404


def test_templates_are_listed_created_and_edited(world: World, data: Data) -> None:
    api = ApiClient(world.boss)

    listed = api.get("/record-templates", visit_type="extraction")
    assert [t["name"] for t in listed.json] == ["拔牙病历"]
    assert "咬棉球30分钟" in listed.json[0]["sections"]["advice"]

    created = api.post(
        "/record-templates",
        {"visit_type": "implant", "name": "种植二期", "sections": {"complaint": "二期复诊"}},
    )
    assert created.status == 201
    assert created.json["sections"]["complaint"] == "二期复诊"
    duplicate = api.post("/record-templates", {"visit_type": "implant", "name": "种植二期"})
    assert duplicate.status == 400
    assert "name" in duplicate.json["fields"]

    updated = api.patch(f"/record-templates/{created.json['id']}", {"is_active": False})
    assert updated.status == 200
    assert updated.json["is_active"] is False
    assert "种植二期" not in [t["name"] for t in api.get("/record-templates").json]
    assert "种植二期" in [
        t["name"] for t in api.get("/record-templates", include_inactive=True).json
    ]
