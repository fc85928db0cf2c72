"""The forms API: templates with their versions, exports and statistics; forms made for
patients, filled, sent for signing, voided and downloaded; every operation isolated by
organization and by the clinic acted in."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from openpyxl import load_workbook

from chairside.core.models import AuditEntry
from chairside.core.tenancy import tenant_scope
from chairside.esign.models import Document
from chairside.forms.models import FormInstance, FormTemplate, FormTemplateVersion
from chairside.forms.services.instances import form_instance_send
from tests.apiclient import ApiClient, Endpoint, documented_operations
from tests.conftest import World
from tests.core.test_api import is_error
from tests.forms.conftest import IMPLANT_DATA, Forms, make_form

MISSING = 987654
MINE = ("/form-templates", "/form-instances")

TEMPLATE = {
    "name": "术后回访表",
    "kind": "questionnaire",
    "blocks": [
        {"type": "heading", "text": "术后回访"},
        {"type": "paragraph", "text": "{{patient.name}}您好"},
        {
            "type": "field",
            "key": "pain",
            "label": "疼痛程度",
            "kind": "choice",
            "required": True,
            "options": ["无", "轻微", "明显"],
        },
        {"type": "field", "key": "sign", "label": "患者签名", "kind": "patient_signature"},
    ],
    "signers": ["patient"],
}
NEW_FORM = {
    "template_id": "{template}",
    "patient_id": "{patient}",
    "doctor_id": "{doctor}",
    "data": {"understood": True},
}
ENDPOINTS = [
    Endpoint("GET", "/form-templates"),
    Endpoint("POST", "/form-templates", TEMPLATE),
    Endpoint("POST", "/form-templates/install-defaults"),
    Endpoint("GET", "/form-templates/{template}"),
    Endpoint("PUT", "/form-templates/{template}", TEMPLATE),
    Endpoint("GET", "/form-templates/{template}/versions"),
    Endpoint("GET", "/form-templates/{template}/versions/{number}"),
    Endpoint("GET", "/form-templates/{template}/export.xlsx"),
    Endpoint("GET", "/form-templates/{template}/export.csv"),
    Endpoint("GET", "/form-templates/{template}/stats"),
    Endpoint("GET", "/form-instances"),
    Endpoint("POST", "/form-instances", NEW_FORM),
    Endpoint("GET", "/form-instances/{instance}"),
    Endpoint("PUT", "/form-instances/{instance}/data", {"data": IMPLANT_DATA}),
    Endpoint("POST", "/form-instances/{instance}/send"),
    Endpoint("POST", "/form-instances/{instance}/void", {"reason": "选错模板"}),
    Endpoint("GET", "/form-instances/{instance}/pdf"),
]
FOREIGN = [
    e for e in ENDPOINTS if "{" in e.path or (e.method == "POST" and e.path == "/form-instances")
]


@dataclass
class Objects:
    instance: FormInstance

    def ids(self, world: World, forms: Forms) -> dict[str, int]:
        return {
            "template": forms.implant.pk,
            "number": 1,
            "instance": self.instance.pk,
            "patient": forms.patient.pk,
            "doctor": world.doctor.pk,
            "item": forms.implant_item.pk,
        }


@pytest.fixture
def objects(world: World, forms: Forms) -> Objects:
    return Objects(make_form(world, forms))


def _counts(world: World) -> tuple[int, ...]:
    with tenant_scope(world.org):
        return (
            FormTemplate.objects.count(),
            FormTemplateVersion.objects.count(),
            FormInstance.objects.count(),
            FormInstance.objects.exclude(status="draft").count(),
            Document.objects.count(),
            AuditEntry.objects.count(),
        )


def test_every_forms_operation_is_covered(db: None) -> None:
    documented = {
        op
        for op in documented_operations(tags={"forms"})
        if any(op.split()[1] == p or op.split()[1].startswith(p + "/") for p in MINE)
    }
    assert documented == {e.shape for e in ENDPOINTS}
    # ... and the forms tag has no operation outside these prefixes.
    assert documented == documented_operations(tags={"forms"})


@pytest.mark.parametrize("endpoint", FOREIGN, ids=str)
def test_another_organizations_forms_are_404(
    world: World, forms: Forms, objects: Objects, endpoint: Endpoint
) -> None:
    before = _counts(world)
    api = ApiClient(world.boss_b)
    ids = objects.ids(world, forms)

    foreign = endpoint.call(api, ids)
    missing = endpoint.call(api, {k: MISSING if isinstance(v, int) else v for k, v in ids.items()})

    assert foreign.status == 404, foreign
    assert is_error(foreign.json, "not_found")
    assert foreign.json == missing.json
    assert _counts(world) == before


@pytest.mark.parametrize("field", ["patient_id", "doctor_id", "plan_item_ids"])
def test_a_form_cannot_name_another_organizations_patient_doctor_or_plan(
    world: World, forms: Forms, field: str
) -> None:
    before = _counts(world)
    with tenant_scope(world.org_b):
        # B's own template, with one of A's objects in the body.
        theirs = {
            "template_id": forms.implant_b.pk,
            "patient_id": forms.patient_b.pk,
            "doctor_id": world.boss_b.pk,
            "plan_item_ids": [],
        }
    ours = {
        "patient_id": forms.patient.pk,
        "doctor_id": world.doctor.pk,
        "plan_item_ids": [forms.implant_item.pk],
    }

    response = ApiClient(world.boss_b).post("/form-instances", {**theirs, field: ours[field]})

    assert response.status in (400, 404), response
    assert response.status == (400 if field == "plan_item_ids" else 404)
    assert _counts(world) == before
    with tenant_scope(world.org_b):
        assert not FormInstance.objects.exists()


def test_another_organization_sees_none_of_ours(
    world: World, forms: Forms, objects: Objects
) -> None:
    api = ApiClient(world.boss_b)

    assert api.get("/form-instances").json["items"] == []
    assert api.get("/form-instances", patient_id=forms.patient.pk).json["items"] == []
    theirs = api.get("/form-templates", page_size=100).json["items"]
    with tenant_scope(world.org_b):
        assert {t["id"] for t in theirs} == set(FormTemplate.objects.values_list("pk", flat=True))
    assert forms.implant_b.pk in {t["id"] for t in theirs}
    assert all(t["instance_count"] == 0 for t in theirs)


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=str)
def test_front_desk_acting_in_another_clinic_is_refused(
    world: World, forms: Forms, objects: Objects, endpoint: Endpoint
) -> None:
    before = _counts(world)

    response = endpoint.call(
        ApiClient(world.frontdesk, clinic=world.clinic2), objects.ids(world, forms)
    )

    assert response.status == 403, response
    assert is_error(response.json, "permission_denied")
    assert _counts(world) == before


def test_the_front_desk_neither_builds_templates_nor_exports(
    world: World, forms: Forms, objects: Objects
) -> None:
    desk = ApiClient(world.frontdesk, clinic=world.clinic1)
    template = forms.implant.pk

    assert desk.post("/form-templates", TEMPLATE).status == 403
    assert desk.put(f"/form-templates/{template}", TEMPLATE).status == 403
    assert desk.post("/form-templates/install-defaults").status == 403
    assert desk.get(f"/form-templates/{template}/export.csv").status == 403
    assert desk.get(f"/form-templates/{template}/stats").status == 403
    assert desk.get(f"/form-templates/{template}").status == 200


# --- templates ----------------------------------------------------------------------------


def test_a_template_is_built_and_read_back(world: World) -> None:
    boss = ApiClient(world.boss, clinic=world.clinic1)

    created = boss.post("/form-templates", {**TEMPLATE, "code": "post-op"})

    assert created.status == 201, created
    body = created.json
    assert (body["code"], body["kind_label"], body["latest_version"]) == (
        "post-op",
        "Questionnaire",
        1,
    )
    assert body["version"]["title"] == "术后回访表"
    assert body["version"]["blocks"][2]["options"] == ["无", "轻微", "明显"]
    assert boss.get(f"/form-templates/{body['id']}").json == body
    assert boss.get("/form-templates", q="回访").json["total"] == 1
    assert boss.get("/form-templates", kind="consent").json["total"] == 0


def test_a_bad_template_is_refused_block_by_block(world: World) -> None:
    boss = ApiClient(world.boss, clinic=world.clinic1)
    blocks = [
        {"type": "paragraph", "text": "{{patient.nmae}}"},
        {"type": "field", "key": "pain", "label": "疼痛", "kind": "choice", "options": []},
        {"type": "field", "key": "pain", "label": "再问", "kind": "text"},
    ]

    response = boss.post("/form-templates", {**TEMPLATE, "blocks": blocks})

    assert response.status == 400
    assert is_error(response.json, "invalid")
    assert set(response.json["fields"]) == {"blocks.0.text", "blocks.1.options", "blocks.2.key"}
    assert response.json["fields"]["blocks.2.key"] == ["Another field already has the key pain."]
    assert response.json["message"].startswith("Unknown placeholder {{patient.nmae}}")


def test_changing_a_template_in_use_makes_a_version(
    world: World, forms: Forms, objects: Objects
) -> None:
    boss = ApiClient(world.boss, clinic=world.clinic1)
    current = boss.get(f"/form-templates/{forms.implant.pk}").json["version"]
    body = {
        "name": "种植知情同意书",
        "kind": "consent",
        "blocks": [{"type": "heading", "text": "补充说明"}, *current["blocks"]],
        "signers": current["signers"],
    }

    changed = boss.put(f"/form-templates/{forms.implant.pk}", body)

    assert changed.status == 200, changed
    assert changed.json["latest_version"] == 2
    assert changed.json["version"]["number"] == 2
    versions = boss.get(f"/form-templates/{forms.implant.pk}/versions").json
    assert [(v["number"], v["instance_count"]) for v in versions] == [(2, 0), (1, 1)]
    first = boss.get(f"/form-templates/{forms.implant.pk}/versions/1").json
    assert first["blocks"] == current["blocks"]
    assert boss.get(f"/form-templates/{forms.implant.pk}/versions/3").status == 404
    again = boss.put(f"/form-templates/{forms.implant.pk}", body)
    assert again.json["latest_version"] == 2  # unused version 2 is edited in place


def test_the_defaults_are_installed_once(world: World, forms: Forms) -> None:
    boss = ApiClient(world.boss, clinic=world.clinic1)

    assert boss.post("/form-templates/install-defaults").json == []
    with tenant_scope(world.org):
        FormTemplateVersion.objects.filter(template=forms.prescription).delete()
        forms.prescription.delete()
    added = boss.post("/form-templates/install-defaults").json
    assert [(t["code"], t["latest_version"]) for t in added] == [("prescription", 1)]


def test_exports_and_statistics(world: World, forms: Forms, objects: Objects) -> None:
    make_form(world, forms, data={"bone_graft": "不同意，先中止手术再与我商量"})
    boss = ApiClient(world.boss, clinic=world.clinic1)
    path = f"/api/v1/form-templates/{forms.implant.pk}"

    xlsx = boss.client.get(f"{path}/export.xlsx", headers=boss.headers)
    as_csv = boss.client.get(f"{path}/export.csv", headers=boss.headers)
    stats = boss.get(f"/form-templates/{forms.implant.pk}/stats").json

    assert xlsx.status_code == 200
    assert xlsx["Content-Disposition"] == 'attachment; filename="forms-implant-consent.xlsx"'
    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    assert sheet is not None
    assert len(list(sheet.iter_rows())) == 3
    assert as_csv["Content-Type"] == "text/csv; charset=utf-8"
    rows = list(csv.reader(io.StringIO(as_csv.content.decode("utf-8-sig"))))
    assert rows[0][4] == "如术中发现骨量不足需要植骨或上颌窦提升"
    assert stats["forms"] == 2
    bone = stats["fields"][0]
    assert bone["key"] == "bone_graft"
    assert [(o["count"], o["share"]) for o in bone["options"]] == [(1, 0.5), (1, 0.5)]
    with tenant_scope(world.org):
        assert (
            AuditEntry.objects.filter(action="view", entity_type="forms.formtemplate").count() == 2
        )


# --- forms --------------------------------------------------------------------------------


def test_a_form_is_made_filled_sent_and_downloaded(world: World, forms: Forms) -> None:
    desk = ApiClient(world.frontdesk, clinic=world.clinic1)

    made = desk.post(
        "/form-instances",
        {
            "template_id": forms.implant.pk,
            "patient_id": forms.patient.pk,
            "doctor_id": world.doctor.pk,
            "plan_item_ids": [forms.implant_item.pk],
            "treatment_items": ["植骨（如需）"],
        },
    )
    assert made.status == 201, made
    form = made.json
    assert (form["status"], form["template_code"], form["version"]) == (
        "draft",
        "implant-consent",
        1,
    )
    assert form["context"]["treatment.items"] == "种植体植入（36）；植骨（如需）"
    assert (form["doctor_name"], form["patient_name"]) == ("Dr. Li", "陈晓明")

    early = desk.post(f"/form-instances/{form['id']}/send")
    assert early.status == 400
    assert is_error(early.json, "form_incomplete")
    assert set(early.json["fields"]) == {"data.bone_graft", "data.understood"}

    filled = desk.put(f"/form-instances/{form['id']}/data", {"data": IMPLANT_DATA})
    assert filled.json["data"] == IMPLANT_DATA
    preview = desk.client.get(f"/api/v1/form-instances/{form['id']}/pdf", headers=desk.headers)
    assert preview.content.startswith(b"%PDF-")

    sent = desk.post(f"/form-instances/{form['id']}/send")
    assert sent.status == 200, sent
    assert sent.json["status"] == "signing"
    assert sent.json["document_id"] is not None
    again = desk.put(f"/form-instances/{form['id']}/data", {"data": IMPLANT_DATA})
    assert again.status == 409
    assert is_error(again.json, "form_not_draft")
    pdf = desk.client.get(f"/api/v1/form-instances/{form['id']}/pdf", headers=desk.headers)
    assert pdf["Content-Type"] == "application/pdf"
    with tenant_scope(world.org):
        document = Document.objects.get(pk=sent.json["document_id"])
        assert pdf.content == bytes(document.revisions.order_by("-number").first().pdf)
        assert document.events.filter(kind="downloaded").count() == 1


def test_a_refused_value_names_its_field(world: World, objects: Objects) -> None:
    desk = ApiClient(world.frontdesk, clinic=world.clinic1)

    response = desk.put(
        f"/form-instances/{objects.instance.pk}/data", {"data": {"bone_graft": "随便"}}
    )

    assert response.status == 400
    assert response.json["fields"] == {"data.bone_graft": ["Choose one of the options."]}


def test_voiding_a_sent_form_voids_its_document(world: World, objects: Objects) -> None:
    with tenant_scope(world.org, world.clinic1):
        form_instance_send(actor=world.frontdesk, clinic=world.clinic1, instance=objects.instance)
    desk = ApiClient(world.frontdesk, clinic=world.clinic1)

    voided = desk.post(f"/form-instances/{objects.instance.pk}/void", {"reason": "患者改期"})
    twice = desk.post(f"/form-instances/{objects.instance.pk}/void", {"reason": "再次"})

    assert voided.json["status"] == "void"
    assert twice.status == 409
    with tenant_scope(world.org):
        assert Document.objects.get(pk=voided.json["document_id"]).status == "void"


def test_the_list_filters_and_pages(world: World, forms: Forms, objects: Objects) -> None:
    questionnaire = make_form(world, forms, forms.questionnaire, data={})
    with tenant_scope(world.org, world.clinic1):
        form_instance_send(actor=world.frontdesk, clinic=world.clinic1, instance=objects.instance)
    desk = ApiClient(world.frontdesk, clinic=world.clinic1)

    def ids(**params: object) -> list[int]:
        return [i["id"] for i in desk.get("/form-instances", **params).json["items"]]

    assert ids() == [questionnaire.pk, objects.instance.pk]
    assert ids(template_id=forms.questionnaire.pk) == [questionnaire.pk]
    assert ids(status="signing") == [objects.instance.pk]
    assert ids(patient_id=forms.patient.pk, status="draft") == [questionnaire.pk]
    page = desk.get("/form-instances", page_size=1, page=2).json
    assert (page["total"], page["pages"], [i["id"] for i in page["items"]]) == (
        2,
        2,
        [objects.instance.pk],
    )
    assert desk.get("/form-instances", status="lost").status == 400


def _queries(api: ApiClient, path: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert api.get(path, page_size=100).status == 200
    return len(captured)


def test_lists_take_the_same_queries_for_more_rows(world: World, forms: Forms) -> None:
    boss = ApiClient(world.boss, clinic=world.clinic1)
    make_form(world, forms)
    assert boss.get("/me").status == 200  # the token's first use is recorded once
    few = (_queries(boss, "/form-instances"), _queries(boss, "/form-templates"))

    for template in (forms.questionnaire, forms.extraction, forms.ortho, forms.prescription):
        make_form(world, forms, template, data={})

    assert (_queries(boss, "/form-instances"), _queries(boss, "/form-templates")) == few
