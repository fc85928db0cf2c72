"""E-signatures in a real browser (Debian's Chromium through Playwright), WebCrypto included:
the doctor enrols a key on their phone (made by WebCrypto, non-extractable, kept in
IndexedDB); the clinic's extraction consent for 张小明, made by the forms app, awaits the
patient, the doctor and the clinic seal; the patient opens the link on a phone-sized page,
enters the SMS code, draws a signature, previews the pages and confirms; the doctor signs
from "awaiting my signature" with the enrolled key; a manager applies the seal. The final
PDF carries three valid signatures and the form is completed.

Pictures for a person to look at go to /tmp/shots/esign-*.png.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from chairside.core.tenancy import tenant_scope
from chairside.esign.models import Certificate, Document, DocumentRevision
from chairside.esign.services.documents import signing_link_issue
from chairside.forms.models import FormInstance, FormTemplate
from chairside.forms.services.instances import form_instance_create, form_instance_send
from chairside.forms.services.templates import form_templates_install_defaults
from tests.conftest import PASSWORD
from tests.e2e.test_browser import (  # the browser set-up and sign-in of the console tests
    CHROMIUM,
    CHROMIUM_ARGS,
    _allow_sync_orm_next_to_playwright,
)
from tests.esign.flow_helpers import DOCTOR_ID, DOCTOR_MOBILE, PATIENT_MOBILE, Esign, last_code
from tests.esign.flow_helpers import esign as esign  # the fixture

__all__ = ["_allow_sync_orm_next_to_playwright"]

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = Path("/tmp/shots")  # noqa: S108 - pictures for a person, not secrets
PHONE = {"width": 390, "height": 844}


@pytest.fixture
def pages() -> Iterator[Any]:
    """One Chromium; `pages(phone=True)` opens a new context: a phone (390×844, touch,
    Chinese) or a desktop (English)."""
    if not CHROMIUM.exists():
        pytest.skip("Chromium is not installed at /usr/bin/chromium")
    from playwright.sync_api import sync_playwright

    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )

        def new_page(*, phone: bool = True) -> Any:
            context = (
                browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True, locale="zh-CN")
                if phone
                else browser.new_context(locale="en-US")
            )
            page = context.new_page()
            page.set_default_timeout(30_000)
            return page

        try:
            yield new_page
        finally:
            browser.close()


def sign_in(page: Any, base_url: str, username: str) -> None:
    """The console's sign-in, in whatever language the browser speaks."""
    page.goto(f"{base_url}/esign/mine/")
    page.fill("input[name=login]", username)
    page.fill("input[name=password]", PASSWORD)
    page.press("input[name=password]", "Enter")
    page.wait_for_url(re.compile(r"/esign/mine/$"))


def shot(page: Any, name: str) -> None:
    page.screenshot(path=str(SHOTS / f"esign-{name}.png"), full_page=True)


def draw(page: Any) -> None:
    canvas = page.locator("canvas")
    box = canvas.bounding_box()
    x, y = box["x"] + 40, box["y"] + box["height"] / 2
    page.mouse.move(x, y)
    page.mouse.down()
    for step in range(1, 30):
        page.mouse.move(x + step * 9, y + (12 if step % 4 < 2 else -12))
    page.mouse.up()


def doctor_enrols(page: Any, base_url: str, e: Esign) -> None:
    from playwright.sync_api import expect

    sign_in(page, base_url, e.doctor.username)
    page.goto(f"{base_url}/esign/enrol/")
    page.locator("[data-send-code]").click()
    expect(page.locator("[data-sent]")).to_contain_text("138****0003")
    page.locator("#enrol-code").fill(last_code(e.world.org, DOCTOR_MOBILE, "esign.enrol_code"))
    expect(page.locator("#enrol-name")).to_have_value("Dr. Li")
    page.locator("#enrol-id").fill(DOCTOR_ID)
    shot(page, "enrol")
    page.locator("#enrol [type=submit]").click()
    page.wait_for_url(re.compile(r"/esign/mine/$"))
    shot(page, "mine-enrolled")


def patient_signs(page: Any, url: str, e: Esign) -> None:
    from playwright.sync_api import expect

    page.goto(url)
    expect(page.locator("[data-step=identify]")).to_be_visible()
    expect(page.get_by_text("139****0011")).to_be_visible()
    shot(page, "patient-start")
    page.locator("[data-send-code]").click()
    expect(page.locator("[data-sent]")).to_be_visible()
    page.locator("[name=code]").fill(last_code(e.world.org, PATIENT_MOBILE, "esign.sign_code"))
    page.locator("[data-verify]").click()
    expect(page.locator("[data-step=draw]")).to_be_visible()
    draw(page)
    shot(page, "patient-drawn")
    page.locator("[data-prepare]").click()
    expect(page.locator("[data-step=preview]")).to_be_visible()
    expect(page.locator(".preview-page").first).to_be_visible()
    expect(page.locator("[data-digest]")).to_have_text(re.compile(r"^[0-9a-f]{64}$"))
    page.wait_for_function(
        "Array.from(document.querySelectorAll('.preview-page')).every(i => i.complete)"
    )
    shot(page, "patient-preview")
    page.locator("[data-confirm]").click()
    expect(page.locator("[data-step=done]")).to_be_visible()
    shot(page, "patient-done")


def doctor_signs(page: Any, base_url: str, document: Document) -> None:
    from playwright.sync_api import expect

    page.goto(f"{base_url}/esign/mine/")
    shot(page, "mine-waiting")
    page.locator(f'a[href="/esign/documents/{document.pk}/sign/"]').click()
    expect(page.locator("[data-step=draw]")).to_be_visible()
    draw(page)
    page.locator("[data-prepare]").click()
    expect(page.locator("[data-step=preview]")).to_be_visible()
    shot(page, "doctor-preview")
    page.locator("[data-confirm]").click()
    expect(page.locator("[data-step=done]")).to_be_visible()
    shot(page, "doctor-done")


def consent_from_forms(e: Esign) -> Document:
    """The clinic's extraction consent for 张小明, filled and sent for signing (the forms
    app renders it and hands it to esign with one slot per signature box)."""
    with tenant_scope(e.world.org, e.world.clinic1):
        form_templates_install_defaults(organization=e.world.org)
        instance = form_instance_create(
            actor=e.world.frontdesk,
            clinic=e.world.clinic1,
            template=FormTemplate.objects.get(code="extraction-consent"),
            patient=e.patient,
            doctor=e.doctor,
            treatment_items=["拔除 48"],
            data={"anticoagulant": "否", "understood": True},
        )
        form_instance_send(actor=e.world.frontdesk, clinic=e.world.clinic1, instance=instance)
        instance.refresh_from_db()
        return Document.objects.get(pk=instance.document_id)


def test_a_consent_is_signed_by_the_patient_the_doctor_and_the_seal(
    live_server: Any, esign: Esign, pages: Any
) -> None:
    from playwright.sync_api import expect

    e = esign
    doctor_phone = pages()
    doctor_enrols(doctor_phone, live_server.url, e)
    with tenant_scope(e.world.org):
        certificate = Certificate.objects.get(staff=e.doctor)
    # The key stayed in the browser: the page finds it by the certificate's SPKI hash, and
    # WebCrypto refuses to export it.
    found = doctor_phone.evaluate(
        """async (spki) => {
            const { keyStore } = await import('/static/esign/signer.js');
            const record = await keyStore.get(spki);
            let exported = true;
            try { await crypto.subtle.exportKey('pkcs8', record.privateKey); }
            catch (e) { exported = false; }
            return { found: !!record, extractable: record.privateKey.extractable, exported };
        }""",
        certificate.spki_sha256,
    )
    assert found == {"found": True, "extractable": False, "exported": False}

    document = consent_from_forms(e)
    with tenant_scope(e.world.org, e.world.clinic1):
        link = signing_link_issue(
            actor=e.world.frontdesk, clinic=e.world.clinic1, document=document, send_sms=True
        )
    patient_signs(pages(), f"{live_server.url}/sign/{link.token}/", e)

    doctor_signs(doctor_phone, live_server.url, document)

    page = pages(phone=False)
    sign_in(page, live_server.url, e.world.boss.username)
    page.goto(f"{live_server.url}/esign/documents/{document.pk}/")
    page.get_by_role("button", name="Apply the clinic seal").click()
    expect(page.locator(".messages")).to_contain_text("The clinic seal is applied.")
    expect(page.locator("h1")).to_contain_text("Completed")
    shot(page, "document-completed")

    from chairside.esign.validation import validate_pdf

    with tenant_scope(e.world.org):
        document.refresh_from_db()
        final = DocumentRevision.objects.filter(document=document).order_by("-number").first()
        assert final is not None
        report = validate_pdf(bytes(final.pdf))
    assert document.status == Document.Status.COMPLETED
    assert final.kind == "archive"
    with tenant_scope(e.world.org):
        assert FormInstance.objects.get(pk=document.source_id).status == "completed"
    people = [s for s in report.signatures if s.field.startswith("sig_")]
    assert [s.field for s in people] == ["sig_patient", "sig_doctor", "sig_seal"]
    assert all(s.intact and s.valid and s.trusted for s in people), people
