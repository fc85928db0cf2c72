"""Record pages: the chart, the editor (save, sign), the record with its history, amendments,
printing and templates; permissions (403), other organizations (404) and logged views."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from chairside.clinical.models import SECTION_KEYS, ClinicalRecord, RecordTemplate, RecordVersion
from chairside.clinical.rendering import verify, version_content
from chairside.clinical.services.record_templates import record_templates_install_defaults
from chairside.clinical.services.records import (
    record_amend,
    record_create,
    record_sign,
    record_update_draft,
)
from chairside.core.models import AuditEntry, Staff
from chairside.core.tenancy import tenant_scope
from tests.clinical.conftest import Clin
from tests.clinical.test_records_api import EXTRACTION_FILLED
from tests.conftest import World
from tests.e2e.test_browser import browser_page

__all__ = ["browser_page"]

pytestmark = pytest.mark.usefixtures("in_clinic1")


def signed_in(staff: Staff) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(staff)
    return client


def html(response: Any) -> str:
    return str(response.content.decode())


def sections(**texts: str) -> dict[str, str]:
    return {key: texts.get(key, "") for key in SECTION_KEYS}


def draft(world: World, clin: Clin) -> ClinicalRecord:
    record = record_create(
        actor=world.doctor, clinic=world.clinic1, patient=clin.zhang, visit_type="first_visit"
    )
    return record_update_draft(
        actor=world.doctor,
        clinic=world.clinic1,
        record=record,
        sections=sections(complaint="左上后牙冷热刺激痛", diagnosis="26 深龋"),
        findings=[{"teeth": [26], "finding": "caries", "note": "深"}],
    )


def signed(world: World, clin: Clin) -> ClinicalRecord:
    return record_sign(actor=world.doctor, clinic=world.clinic1, record=draft(world, clin))


def views_of(record: ClinicalRecord) -> list[str]:
    entries = AuditEntry.objects.filter(
        action=AuditEntry.Action.VIEW,
        entity_type="clinical.clinicalrecord",
        entity_id=str(record.pk),
    ).order_by("id")
    return [e.after["via"] for e in entries]


def editor_post(**values: Any) -> dict[str, Any]:
    data: dict[str, Any] = dict.fromkeys(SECTION_KEYS, "")
    data["findings"] = "[]"
    data.update(values)
    return data


# --- the chart --------------------------------------------------------------------------


def test_the_chart_shows_the_tooth_chart_records_and_a_new_record_button(
    world: World, clin: Clin
) -> None:
    record = signed(world, clin)
    record_templates_install_defaults(organization=world.org)

    response = signed_in(world.doctor).get(reverse("clinical:chart", args=[clin.zhang.pk]))

    assert response.status_code == 200
    page = html(response)
    assert "clinical/tooth-chart.js" in page
    for code in (18, 11, 21, 28, 48, 41, 31, 38, 55, 51, 61, 65, 85, 81, 71, 75):
        assert f'data-tooth="{code}"' in page
    assert "New record" in page
    assert "拔牙病历" in page  # the template choice
    assert reverse("clinical:record_detail", args=[record.pk]) in page
    assert "26 深龋" in page
    data = json.loads(response.context["chart_data"] and json.dumps(response.context["chart_data"]))
    assert data["marks"]["26"][0]["finding"] == "caries"
    assert AuditEntry.objects.filter(
        action=AuditEntry.Action.VIEW, entity_type="patients.patient", entity_id=str(clin.zhang.pk)
    ).exists()


def test_the_chart_has_an_empty_state(world: World, clin: Clin) -> None:
    response = signed_in(world.doctor).get(reverse("clinical:chart", args=[clin.li.pk]))

    assert response.status_code == 200
    assert "No medical records yet." in html(response)
    assert "No findings recorded yet." in html(response)


def test_the_patient_profile_links_to_the_chart_for_those_who_read_records(
    world: World, clin: Clin
) -> None:
    chart_url = reverse("clinical:chart", args=[clin.zhang.pk])
    profile = reverse("patients:detail", args=[clin.zhang.pk])

    assert chart_url in html(signed_in(world.doctor).get(profile))
    assert chart_url not in html(signed_in(world.frontdesk).get(profile))


def test_a_doctor_at_another_clinic_reads_the_organizations_records(
    world: World, clin: Clin
) -> None:
    record = signed(world, clin)

    client = signed_in(clin.doctor_c2)
    assert client.get(reverse("clinical:chart", args=[clin.zhang.pk])).status_code == 200
    assert client.get(reverse("clinical:record_detail", args=[record.pk])).status_code == 200

    entry = AuditEntry.objects.filter(
        action="view", entity_type="clinical.clinicalrecord", entity_id=str(record.pk)
    ).get()
    assert (entry.actor, entry.clinic) == (clin.doctor_c2, world.clinic2)


# --- a new record and the editor --------------------------------------------------------


def test_new_record_starts_a_draft_from_the_template_and_opens_the_editor(
    world: World, clin: Clin
) -> None:
    record_templates_install_defaults(organization=world.org)
    client = signed_in(world.doctor)

    response = client.post(
        reverse("clinical:record_new", args=[clin.zhang.pk]),
        {"visit_type": "extraction", "template": ""},
    )

    record = ClinicalRecord.objects.get(patient=clin.zhang)
    assert response.status_code == 302
    assert response["Location"] == reverse("clinical:record_edit", args=[record.pk])
    editor = client.get(response["Location"])
    assert editor.status_code == 200
    page = html(editor)
    assert "咬棉球30分钟" in page
    assert 'name="findings"' in page
    assert "Save draft" in page
    assert "Sign" in page
    assert "data-confirm" in page
    assert views_of(record) == ["page:edit"]


def test_new_record_shows_field_errors(world: World, clin: Clin) -> None:
    response = signed_in(world.doctor).post(
        reverse("clinical:record_new", args=[clin.zhang.pk]),
        {"visit_type": "massage", "visit_date": "2100-01-01"},
    )

    assert response.status_code == 400
    assert response.context["form"].errors["visit_type"]
    assert not ClinicalRecord.objects.exists()


def test_the_editor_saves_the_draft(world: World, clin: Clin) -> None:
    record = draft(world, clin)
    findings = [
        {"teeth": [36, 37], "finding": "calculus", "note": ""},
        {"teeth": [75], "finding": "caries"},
    ]

    response = signed_in(world.doctor).post(
        reverse("clinical:record_edit", args=[record.pk]),
        editor_post(
            complaint="复查",
            diagnosis="36 37 牙石",
            findings=json.dumps(findings),
            action="save",
        ),
    )

    assert response.status_code == 302
    assert response["Location"] == reverse("clinical:record_edit", args=[record.pk])
    content = version_content(RecordVersion.objects.get(record=record))
    assert content.section("diagnosis") == "36 37 牙石"
    assert [(f.teeth, f.finding) for f in content.findings] == [
        ((36, 37), "calculus"),
        ((75,), "caries"),
    ]
    record.refresh_from_db()
    assert record.status == ClinicalRecord.Status.DRAFT


def test_the_editor_shows_invalid_teeth_at_the_findings(world: World, clin: Clin) -> None:
    record = draft(world, clin)

    response = signed_in(world.doctor).post(
        reverse("clinical:record_edit", args=[record.pk]),
        editor_post(diagnosis="x", findings=json.dumps([{"teeth": [19], "finding": "caries"}])),
    )

    assert response.status_code == 400
    [error] = response.context["form"].errors["findings"]
    assert "Finding 1" in error
    assert "FDI" in error
    assert (
        version_content(RecordVersion.objects.get(record=record)).section("diagnosis") == "26 深龋"
    )


def test_signing_from_the_editor_locks_the_record(world: World, clin: Clin) -> None:
    record = draft(world, clin)
    client = signed_in(world.doctor)

    response = client.post(
        reverse("clinical:record_edit", args=[record.pk]),
        editor_post(
            complaint="左上后牙冷热刺激痛",
            diagnosis="26 深龋",
            findings=json.dumps([{"teeth": [26], "finding": "caries", "note": "深"}]),
            action="sign",
        ),
    )

    assert response.status_code == 302
    assert response["Location"] == reverse("clinical:record_detail", args=[record.pk])
    record.refresh_from_db()
    assert record.status == ClinicalRecord.Status.SIGNED
    version = RecordVersion.objects.get(record=record)
    assert verify(version)
    # The editor is closed now: it sends the doctor to the record.
    again = client.get(reverse("clinical:record_edit", args=[record.pk]))
    assert again.status_code == 302
    posted = client.post(
        reverse("clinical:record_edit", args=[record.pk]),
        editor_post(diagnosis="改写", action="save"),
    )
    assert posted.status_code == 302
    assert RecordVersion.objects.get(record=record).content == version.content


def test_signing_without_a_diagnosis_keeps_the_draft_and_says_why(world: World, clin: Clin) -> None:
    record = draft(world, clin)

    response = signed_in(world.doctor).post(
        reverse("clinical:record_edit", args=[record.pk]),
        editor_post(complaint="牙痛", action="sign"),
    )

    assert response.status_code == 400
    assert response.context["form"].errors["diagnosis"] == ["Write a diagnosis before signing."]
    record.refresh_from_db()
    assert record.status == ClinicalRecord.Status.DRAFT


def test_only_the_records_doctor_opens_its_editor(world: World, clin: Clin) -> None:
    record = draft(world, clin)
    url = reverse("clinical:record_edit", args=[record.pk])

    assert signed_in(clin.doctor2).get(url).status_code == 403
    assert signed_in(clin.doctor2).post(url, editor_post(diagnosis="x")).status_code == 403
    assert signed_in(clin.nurse).get(url).status_code == 403  # no clinical.write
    assert (
        version_content(RecordVersion.objects.get(record=record)).section("diagnosis") == "26 深龋"
    )


# --- reading ----------------------------------------------------------------------------


def test_the_record_page_shows_the_signature_and_every_version_and_is_logged(
    world: World, clin: Clin
) -> None:
    record = signed(world, clin)
    record_amend(
        actor=clin.doctor2,
        clinic=world.clinic1,
        record=record,
        sections=sections(complaint="左上后牙冷热刺激痛", diagnosis="26 可复性牙髓炎"),
        findings=[{"teeth": [26], "finding": "caries", "note": "深"}],
        reason="复查后修正诊断",
    )

    response = signed_in(clin.nurse).get(reverse("clinical:record_detail", args=[record.pk]))

    assert response.status_code == 200
    page = html(response)
    digest = RecordVersion.objects.get(record=record, number=2).digest
    assert digest[:12] in page
    assert "Digest verified" in page
    assert "Version 1" in page
    assert "Version 2" in page
    assert "复查后修正诊断" in page
    assert "Dr. Zhou" in page
    assert "Dr. Li" in page
    assert 'class="changed"' in page
    assert "Amend" not in html(response).split("page-actions")[1].split("</div>")[0]  # nurse
    assert views_of(record) == ["page:detail"]


def test_the_print_view_is_logged_and_prints_a_chosen_version(world: World, clin: Clin) -> None:
    record = signed(world, clin)
    record_amend(
        actor=world.doctor,
        clinic=world.clinic1,
        record=record,
        sections=sections(diagnosis="26 牙髓炎"),
        findings=[],
        reason="修正",
    )

    response = signed_in(world.doctor).get(
        reverse("clinical:record_print", args=[record.pk]) + "?version=1"
    )

    assert response.status_code == 200
    assert "26 深龋" in html(response)
    assert "26 牙髓炎" not in html(response)
    assert views_of(record) == ["page:print"]


# --- amendments -------------------------------------------------------------------------


def test_amending_from_the_page_adds_a_signed_version(world: World, clin: Clin) -> None:
    record = signed(world, clin)
    client = signed_in(clin.doctor2)
    url = reverse("clinical:record_amend", args=[record.pk])

    form = client.get(url)
    assert form.status_code == 200
    assert "26 深龋" in html(form)  # prefilled with the latest version
    response = client.post(
        url,
        editor_post(
            complaint="左上后牙冷热刺激痛",
            diagnosis="26 可复性牙髓炎",
            findings=json.dumps([{"teeth": [26], "finding": "caries", "note": "深"}]),
            reason="补充诊断",
        ),
    )

    assert response.status_code == 302
    version = RecordVersion.objects.get(record=record, number=2)
    assert (version.kind, version.author, version.reason) == ("amendment", clin.doctor2, "补充诊断")
    assert verify(version)
    assert views_of(record) == ["page:amend"]


def test_an_amendment_needs_a_reason(world: World, clin: Clin) -> None:
    record = signed(world, clin)

    response = signed_in(world.doctor).post(
        reverse("clinical:record_amend", args=[record.pk]), editor_post(diagnosis="x", reason="")
    )

    assert response.status_code == 400
    assert response.context["form"].errors["reason"]
    assert RecordVersion.objects.filter(record=record).count() == 1


def test_amending_needs_clinical_amend(world: World, clin: Clin) -> None:
    record = signed(world, clin)
    url = reverse("clinical:record_amend", args=[record.pk])

    assert signed_in(clin.nurse).get(url).status_code == 403
    response = signed_in(clin.nurse).post(url, editor_post(diagnosis="x", reason="r"))
    assert response.status_code == 403
    assert RecordVersion.objects.filter(record=record).count() == 1


# --- templates --------------------------------------------------------------------------


def test_templates_are_listed_added_and_edited(world: World, clin: Clin) -> None:
    client = signed_in(world.boss)
    assert "No record templates yet" in html(client.get(reverse("clinical:templates")))

    client.post(reverse("clinical:templates_install"))
    listing = html(client.get(reverse("clinical:templates")))
    assert "初诊病历" in listing
    assert "洁牙病历" in listing

    response = client.post(
        reverse("clinical:template_new"),
        {
            "visit_type": "implant",
            "name": "种植二期",
            "is_active": "on",
            "complaint": "种植二期复诊",
        },
    )
    assert response.status_code == 302
    template = RecordTemplate.objects.get(name="种植二期")
    assert template.sections == {"complaint": "种植二期复诊"}

    response = client.post(
        reverse("clinical:template_edit", args=[template.pk]),
        {"visit_type": "implant", "name": "种植二期", "advice": "按时复诊"},
    )
    assert response.status_code == 302
    template.refresh_from_db()
    assert template.sections == {"advice": "按时复诊"}
    assert not template.is_active


def test_template_names_are_unique_per_visit_type(world: World, clin: Clin) -> None:
    record_templates_install_defaults(organization=world.org)

    response = signed_in(world.boss).post(
        reverse("clinical:template_new"), {"visit_type": "extraction", "name": "拔牙病历"}
    )

    assert response.status_code == 400
    assert response.context["form"].errors["name"]


def test_templates_need_clinical_templates(world: World, clin: Clin) -> None:
    for url in (reverse("clinical:templates"), reverse("clinical:template_new")):
        assert signed_in(world.doctor).get(url).status_code == 403
    assert signed_in(world.doctor).post(reverse("clinical:templates_install")).status_code == 403
    assert not RecordTemplate.objects.exists()


# --- permissions and isolation ----------------------------------------------------------


def pages(record: ClinicalRecord, patient_id: int) -> list[str]:
    return [
        reverse("clinical:chart", args=[patient_id]),
        reverse("clinical:record_new", args=[patient_id]),
        reverse("clinical:record_detail", args=[record.pk]),
        reverse("clinical:record_edit", args=[record.pk]),
        reverse("clinical:record_amend", args=[record.pk]),
        reverse("clinical:record_print", args=[record.pk]),
    ]


def test_front_desk_without_clinical_permissions_gets_403_everywhere(
    world: World, clin: Clin
) -> None:
    record = draft(world, clin)
    client = signed_in(world.frontdesk)

    for url in pages(record, clin.zhang.pk):
        assert client.get(url).status_code == 403, url
    assert views_of(record) == []


def test_another_organizations_records_and_patients_are_404(world: World, clin: Clin) -> None:
    record = signed(world, clin)
    template = record_templates_install_defaults(organization=world.org)[0]
    client = signed_in(world.boss_b)

    for url in [
        *pages(record, clin.zhang.pk),
        reverse("clinical:template_edit", args=[template.pk]),
    ]:
        assert client.get(url).status_code == 404, url
    posted = client.post(
        reverse("clinical:record_amend", args=[record.pk]), editor_post(diagnosis="x", reason="r")
    )
    assert posted.status_code == 404
    assert (
        client.post(
            reverse("clinical:record_new", args=[clin.zhang.pk]), {"visit_type": "follow_up"}
        ).status_code
        == 404
    )
    assert views_of(record) == []
    assert RecordVersion.objects.filter(record=record).count() == 1
    with tenant_scope(world.org_b):
        assert not ClinicalRecord.objects.exists()


# --- in a real browser ------------------------------------------------------------------


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_doctor_picks_teeth_on_the_chart_adds_findings_and_signs(
    live_server: Any, world: World, clin: Clin, browser_page: Any, monkeypatch: Any
) -> None:
    from playwright.sync_api import expect

    from tests.e2e.test_browser import sign_in

    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    record_templates_install_defaults(organization=world.org)
    page = browser_page
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("dialog", lambda dialog: dialog.accept())
    sign_in(page, live_server.url, world.doctor.username)

    page.goto(live_server.url + reverse("clinical:chart", args=[clin.zhang.pk]))
    page.locator("select[name=visit_type]").select_option("extraction")
    page.get_by_role("button", name="New record").click()
    page.wait_for_url(re.compile(r"/clinical/records/\d+/edit/"))
    expect(page.locator("textarea[name=advice]")).to_have_value(re.compile("咬棉球30分钟"))

    chart = page.locator(".tooth-chart")
    chart.locator("[data-tooth='38']").click()
    chart.locator("[data-tooth='48']").click()
    chart.locator("#finding-kind").select_option("impacted")
    chart.locator("input[x-model=note]").fill("近中阻生")
    chart.get_by_role("button", name="Add finding").click()
    expect(chart.locator(".findings-table")).to_contain_text("38, 48")
    expect(chart.locator("[data-tooth='38']")).to_have_attribute("style", re.compile("background"))
    chart.get_by_role("button", name="Primary teeth").click()
    chart.locator("[data-tooth='55']").click()
    chart.locator("#finding-kind").select_option("caries")
    chart.get_by_role("button", name="Add finding").click()
    page.locator("textarea[name=diagnosis]").fill("38 48 阻生齿；55 龋")
    page.get_by_role("button", name="Sign", exact=True).click()
    # The template's blanks are refused at signing; the draft and the findings stay.
    expect(page.locator("body")).to_contain_text("Fill in or delete the template's blanks")
    expect(page.locator(".findings-table")).to_contain_text("38, 48")
    for section, text in EXTRACTION_FILLED.items():
        page.locator(f"textarea[name={section}]").fill(text)
    page.get_by_role("button", name="Sign", exact=True).click()

    page.wait_for_url(re.compile(r"/clinical/records/\d+/$"))
    expect(page.locator(".page-head")).to_contain_text("Signed")
    expect(page.locator(".signature-line")).to_contain_text("Digest verified")
    assert errors == []
    record = ClinicalRecord.objects.get(patient=clin.zhang)
    assert record.status == ClinicalRecord.Status.SIGNED
    content = version_content(RecordVersion.objects.get(record=record))
    assert [(f.teeth, f.finding, f.note) for f in content.findings] == [
        ((38, 48), "impacted", "近中阻生"),
        ((55,), "caries", ""),
    ]
