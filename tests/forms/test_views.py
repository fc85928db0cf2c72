"""The form pages: the template list with the defaults, the builder (blocks and signers
posted as JSON, refused ones shown again at their blocks), making a form for a patient,
filling and sending it, voiding, the PDF, the data page with its downloads, the patient
page's panel; permissions and other organizations (404)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from chairside.core.models import Staff
from chairside.core.tenancy import tenant_scope
from chairside.esign.models import Document
from chairside.forms.models import FormInstance, FormTemplate, FormTemplateVersion
from chairside.forms.services.instances import form_instance_send
from tests.conftest import World
from tests.forms.conftest import IMPLANT_DATA, Forms, make_form

Signer = Callable[[Staff], Client]
BLOCKS: list[dict[str, Any]] = [
    {"type": "heading", "text": "术后回访"},
    {
        "type": "field",
        "key": "pain",
        "label": "疼痛程度",
        "kind": "choice",
        "required": True,
        "options": ["无", "轻微"],
    },
    {"type": "field", "key": "sign", "label": "患者签名", "kind": "patient_signature"},
]


@pytest.fixture
def as_staff() -> Signer:
    def sign_in(staff: Staff) -> Client:
        client = Client(HTTP_ACCEPT_LANGUAGE="en")
        client.force_login(staff)
        return client

    return sign_in


def _builder_data(html: str) -> dict[str, Any]:
    match = re.search(
        r'<script id="form-builder-data" type="application/json">(.*?)</script>', html, re.S
    )
    assert match, "no builder data on the page"
    return json.loads(match.group(1))  # type: ignore[no-any-return]


def test_the_template_list_offers_the_defaults(world: World, as_staff: Signer) -> None:
    client = as_staff(world.boss)

    empty = client.get(reverse("forms:templates"))
    installed = client.post(reverse("forms:templates_install"), follow=True)

    assert "No form templates yet" in empty.content.decode()
    page = installed.content.decode()
    assert "5 default templates added." in page
    for name in ("种植知情同意书", "拔牙知情同意书", "正畸知情同意书", "初诊健康问卷", "处方笺"):
        assert name in page


def test_the_front_desk_does_not_build_templates(
    world: World, forms: Forms, as_staff: Signer
) -> None:
    client = as_staff(world.frontdesk)

    assert client.get(reverse("forms:templates")).status_code == 403
    assert client.get(reverse("forms:template_edit", args=[forms.implant.pk])).status_code == 403
    assert client.get(reverse("forms:template_data", args=[forms.implant.pk])).status_code == 403


def test_a_template_is_built_in_the_builder(world: World, as_staff: Signer) -> None:
    client = as_staff(world.boss)
    page = client.get(reverse("forms:template_new"))
    assert page.status_code == 200
    data = _builder_data(page.content.decode())
    assert data["signers"] == ["patient"]
    assert {"key": "patient.name", "label": "Patient's name"} in data["placeholders"]

    saved = client.post(
        reverse("forms:template_new"),
        {
            "name": "术后回访表",
            "kind": "questionnaire",
            "is_active": "on",
            "blocks_json": json.dumps(BLOCKS),
            "signers_json": json.dumps(["patient"]),
        },
    )

    assert saved.status_code == 302
    with tenant_scope(world.org):
        version = FormTemplateVersion.objects.get(template__name="术后回访表")
    assert version.blocks[1]["options"] == ["无", "轻微"]
    assert version.signers == ["patient"]


def test_a_refused_template_comes_back_with_its_errors_at_the_blocks(
    world: World, as_staff: Signer
) -> None:
    client = as_staff(world.boss)
    blocks = [BLOCKS[0], {**BLOCKS[1], "options": []}, BLOCKS[2]]

    page = client.post(
        reverse("forms:template_new"),
        {
            "name": "",
            "kind": "questionnaire",
            "blocks_json": json.dumps(blocks),
            "signers_json": json.dumps(["doctor"]),
        },
    )

    assert page.status_code == 400
    assert "This field is required." in page.content.decode()  # the name, by Django's form
    with tenant_scope(world.org):
        assert not FormTemplate.objects.filter(name="").exists()
    named = client.post(
        reverse("forms:template_new"),
        {
            "name": "术后回访表",
            "kind": "questionnaire",
            "blocks_json": json.dumps(blocks),
            "signers_json": json.dumps(["doctor"]),
        },
    )
    data = _builder_data(named.content.decode())
    assert named.status_code == 400
    assert data["errors"] == {
        "blocks.1.options": ["A single choice needs at least two options."],
        "blocks.2.kind": ["Add the patient to the signers, or remove this signature box."],
    }
    assert data["blocks"] == blocks  # shown again as posted
    assert data["signers"] == ["doctor"]


def test_saving_a_template_in_use_says_it_made_a_version(
    world: World, forms: Forms, as_staff: Signer
) -> None:
    make_form(world, forms)
    client = as_staff(world.boss)
    page = client.get(reverse("forms:template_edit", args=[forms.implant.pk]))
    data = _builder_data(page.content.decode())
    assert "Forms were already made from this version" in page.content.decode()

    saved = client.post(
        reverse("forms:template_edit", args=[forms.implant.pk]),
        {
            "name": "种植知情同意书",
            "kind": "consent",
            "code": "implant-consent",
            "is_active": "on",
            "blocks_json": json.dumps([{"type": "heading", "text": "新版"}, *data["blocks"]]),
            "signers_json": json.dumps(data["signers"]),
        },
        follow=True,
    )

    assert "The template is saved as version 2" in saved.content.decode()


def test_a_form_is_made_from_the_patient_page(
    world: World, forms: Forms, as_staff: Signer, settings: pytest.FixtureRequest
) -> None:
    settings.CHAIRSIDE_PATIENT_PANELS = [  # type: ignore[attr-defined]
        "chairside.forms.panels.patient_forms_panel"
    ]
    client = as_staff(world.frontdesk)
    patient_page = client.get(reverse("patients:detail", args=[forms.patient.pk])).content.decode()
    new_url = reverse("forms:instance_new", args=[forms.patient.pk])
    assert new_url in patient_page
    assert "No forms yet." in patient_page
    page = client.get(new_url).content.decode()
    assert "种植体植入（36） · 种植修复方案" in page

    made = client.post(
        new_url,
        {
            "template": forms.implant.pk,
            "doctor": world.doctor.pk,
            "plan_items": [forms.implant_item.pk],
            "typed_items": "植骨（如需）\n",
        },
    )

    assert made.status_code == 302
    with tenant_scope(world.org):
        form = FormInstance.objects.get()
    assert made["Location"] == reverse("forms:instance", args=[form.pk])
    assert form.context["treatment.items"] == "种植体植入（36）；植骨（如需）"
    panel = client.get(reverse("patients:detail", args=[forms.patient.pk])).content.decode()
    assert reverse("forms:instance", args=[form.pk]) in panel


def test_a_form_without_a_doctor_is_refused_at_the_doctor(
    world: World, forms: Forms, as_staff: Signer
) -> None:
    page = as_staff(world.frontdesk).post(
        reverse("forms:instance_new", args=[forms.patient.pk]), {"template": forms.implant.pk}
    )

    assert page.status_code == 400
    assert "Choose the doctor: this form names or needs the doctor." in page.content.decode()


def test_a_form_is_filled_then_sent_for_signing(
    world: World, forms: Forms, as_staff: Signer
) -> None:
    form = make_form(world, forms, data={})
    client = as_staff(world.frontdesk)
    url = reverse("forms:instance", args=[form.pk])

    saved = client.post(url, {"action": "save", "f_questions": "多久能吃饭？"})
    refused = client.post(url, {"action": "send", "f_questions": "多久能吃饭？"})

    assert saved.status_code == 302
    assert refused.status_code == 400
    html = refused.content.decode()
    assert "This field is required." in html
    assert "Tick this box." in html
    sent = client.post(
        url,
        {
            "action": "send",
            "f_bone_graft": IMPLANT_DATA["bone_graft"],
            "f_understood": "on",
        },
    )
    assert sent.status_code == 302
    with tenant_scope(world.org):
        form.refresh_from_db()
    assert form.status == FormInstance.Status.SIGNING
    assert form.data == IMPLANT_DATA
    detail = client.get(url).content.decode()
    assert "Awaiting signatures" in detail
    assert 'name="f_bone_graft"' not in detail  # no longer editable
    assert reverse("esign:document", args=[form.document_id]) in detail


def test_a_form_is_voided_from_its_page(world: World, forms: Forms, as_staff: Signer) -> None:
    form = make_form(world, forms)
    with tenant_scope(world.org, world.clinic1):
        form_instance_send(actor=world.frontdesk, clinic=world.clinic1, instance=form)
    client = as_staff(world.frontdesk)

    page = client.post(
        reverse("forms:instance_void", args=[form.pk]), {"reason": "患者改期"}, follow=True
    )

    assert "The form is void." in page.content.decode()
    with tenant_scope(world.org):
        form.refresh_from_db()
        assert form.status == FormInstance.Status.VOID
        assert Document.objects.get(pk=form.document_id).status == "void"


def test_the_pdf_page_gives_the_preview(world: World, forms: Forms, as_staff: Signer) -> None:
    form = make_form(world, forms)

    response = as_staff(world.frontdesk).get(
        reverse("forms:instance_pdf", args=[form.pk]) + "?inline=1"
    )

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == f'inline; filename="form-{form.pk}.pdf"'
    assert response.content.startswith(b"%PDF-")


def test_the_data_page_counts_and_downloads(world: World, forms: Forms, as_staff: Signer) -> None:
    make_form(world, forms, forms.questionnaire, data={"allergy": "有", "diabetes": True})
    make_form(world, forms, forms.questionnaire, data={"allergy": "无", "systolic": "128"})
    client = as_staff(world.boss)

    page = client.get(reverse("forms:template_data", args=[forms.questionnaire.pk]))
    xlsx = client.get(reverse("forms:template_export_xlsx", args=[forms.questionnaire.pk]))
    csv = client.get(reverse("forms:template_export_csv", args=[forms.questionnaire.pk]))

    html = page.content.decode()
    assert "2 forms counted" in html
    assert "药物或其他过敏史" in html
    assert "50%" in html
    assert xlsx["Content-Type"].startswith("application/vnd.openxmlformats")
    assert csv.content.startswith(b"\xef\xbb\xbf")


def test_the_form_list_filters(world: World, forms: Forms, as_staff: Signer) -> None:
    implant = make_form(world, forms)
    questionnaire = make_form(world, forms, forms.questionnaire, data={})
    client = as_staff(world.frontdesk)

    every = client.get(reverse("forms:instances")).content.decode()
    filtered = client.get(
        reverse("forms:instances"), {"template": forms.questionnaire.pk}
    ).content.decode()

    assert reverse("forms:instance", args=[implant.pk]) in every
    assert reverse("forms:instance", args=[questionnaire.pk]) in every
    assert reverse("forms:instance", args=[implant.pk]) not in filtered
    assert reverse("forms:instance", args=[questionnaire.pk]) in filtered


def test_the_form_and_template_lists_query_the_same_for_one_or_many(
    world: World, forms: Forms, as_staff: Signer
) -> None:
    make_form(world, forms)
    client = as_staff(world.boss)
    with CaptureQueriesContext(connection) as one_form:
        client.get(reverse("forms:instances"))
    with CaptureQueriesContext(connection) as templates_before:
        client.get(reverse("forms:templates"))
    for _ in range(4):
        make_form(world, forms, forms.questionnaire, data={})
    with CaptureQueriesContext(connection) as five_forms:
        page = client.get(reverse("forms:instances"))
    with CaptureQueriesContext(connection) as templates_after:
        client.get(reverse("forms:templates"))

    assert page.content.decode().count(forms.patient.name) >= 5
    assert len(five_forms) == len(one_form)
    assert len(templates_after) == len(templates_before)


def test_another_organizations_forms_are_not_found(
    world: World, forms: Forms, as_staff: Signer
) -> None:
    form = make_form(world, forms)
    client = as_staff(world.boss_b)

    for url in (
        reverse("forms:instance", args=[form.pk]),
        reverse("forms:instance_pdf", args=[form.pk]),
        reverse("forms:template_edit", args=[forms.implant.pk]),
        reverse("forms:template_data", args=[forms.implant.pk]),
        reverse("forms:template_export_csv", args=[forms.implant.pk]),
        reverse("forms:instance_new", args=[forms.patient.pk]),
    ):
        assert client.get(url).status_code == 404, url
    assert (
        client.post(reverse("forms:instance_void", args=[form.pk]), {"reason": "x"}).status_code
        == 404
    )
    with tenant_scope(world.org):
        form.refresh_from_db()
        assert form.status == FormInstance.Status.DRAFT
