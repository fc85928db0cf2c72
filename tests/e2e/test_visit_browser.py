"""A whole visit in a real browser (Debian's Chromium through Playwright): the doctor writes and
signs 张三's record and builds a plan he accepts; the front desk confirms two items done,
takes a split payment (WeChat + cash with change) and downloads the receipt PDF.

Only the setting (patient, catalogue, record templates) is made through services; every step
of the visit goes through the pages, and the database is checked at the end.
"""

from __future__ import annotations

import io
import re
import tempfile
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader

from chairside.billing.models import Bill, CatalogueItem, Category, Payment, PaymentMethod, Unit
from chairside.billing.services.catalogue import catalogue_item_create
from chairside.clinical.models import ClinicalRecord, PlanItem, TreatmentPlan
from chairside.clinical.services.record_templates import record_templates_install_defaults
from chairside.core.tenancy import tenant_scope
from chairside.patients.models import Patient
from chairside.patients.services import patient_create
from tests.conftest import World
from tests.e2e.test_browser import (  # the browser fixtures and sign-in of the console tests
    _allow_sync_orm_next_to_playwright,
    browser_page,
    sign_in,
)

__all__ = ["_allow_sync_orm_next_to_playwright", "browser_page"]

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Pictures of the signed record and the cashier screen, for a person to look at.
SCREENSHOT_RECORD = Path(tempfile.gettempdir()) / "e2e-record-signed.png"
SCREENSHOT_CASHIER = Path(tempfile.gettempdir()) / "e2e-cashier.png"


@dataclass
class Visit:
    zhang: Patient
    filling: CatalogueItem  # per tooth, ¥300
    cleaning: CatalogueItem  # per visit, ¥280


FIRST_VISIT = {
    "Present illness": "两周前起冷热刺激痛，无自发痛、夜间痛。",
    "History": "否认系统性疾病史，否认药物过敏史。",
    "Examination": "46 咬合面深龋，探诊敏感，叩痛（-），冷测一过性敏感。",
    "Auxiliary examination": "根尖片示：46 龋坏近髓，根尖周未见异常。",
    "Treatment": "告知病情及方案、费用，患者同意；46 去腐，树脂充填。",
}


@pytest.fixture
def visit(world: World) -> Visit:
    record_templates_install_defaults(organization=world.org)
    with tenant_scope(world.org, world.clinic1):
        zhang = patient_create(
            actor=world.frontdesk, clinic=world.clinic1, name="张三", phone="13800138000"
        )
        filling = catalogue_item_create(
            actor=world.boss,
            clinic=world.clinic1,
            code="resin-filling",
            name="树脂充填",
            category=Category.RESTORATIVE,
            unit=Unit.PER_TOOTH,
            price="300",
        )
        cleaning = catalogue_item_create(
            actor=world.boss,
            clinic=world.clinic1,
            code="full-scaling",
            name="全口洁治",
            category=Category.PERIODONTAL,
            unit=Unit.PER_VISIT,
            price="280",
        )
    return Visit(zhang=zhang, filling=filling, cleaning=cleaning)


def _doctor_signs_a_first_visit_record(page: Any, base_url: str, zhang: Patient) -> None:
    from playwright.sync_api import expect

    page.goto(f"{base_url}/clinical/patients/{zhang.pk}/")
    records = page.locator("#records")
    expect(records).to_contain_text("No medical records yet.")
    records.get_by_label("Visit type").select_option("first_visit")
    records.get_by_role("button", name="New record").click()
    page.wait_for_url(re.compile(r"/clinical/records/\d+/edit/$"))

    page.get_by_label("Chief complaint").fill("右下后牙冷热敏感两周")
    # Every blank of the template filled in: the record says only what was examined.
    for label, text in FIRST_VISIT.items():
        page.get_by_label(label, exact=True).fill(text)
    page.get_by_label("Diagnosis").fill("46 深龋")
    chart = page.locator(".tooth-chart")
    tooth_46 = chart.get_by_role("button", name="46", exact=True)
    tooth_46.click()
    expect(tooth_46).to_have_attribute("aria-pressed", "true")
    expect(chart.locator(".finding-add-teeth")).to_contain_text("46")
    chart.get_by_label("Finding").select_option("caries")
    chart.get_by_label("Note").fill("近中邻面")
    chart.get_by_role("button", name="Add finding").click()
    findings = chart.locator(".findings-table")
    expect(findings.locator("tbody tr", has_text="Caries")).to_contain_text("46")

    page.get_by_role("button", name="Save draft").click()
    expect(page.locator(".messages")).to_contain_text("The draft is saved.")
    # The saved draft comes back with the finding and the typed text.
    expect(page.get_by_label("Diagnosis")).to_have_value("46 深龋")
    expect(page.locator(".findings-table tbody tr", has_text="Caries")).to_contain_text("近中邻面")

    dialogs: list[str] = []

    def accept(dialog: Any) -> None:
        dialogs.append(dialog.message)
        dialog.accept()

    page.on("dialog", accept)
    page.get_by_role("button", name="Sign", exact=True).click()
    page.wait_for_url(re.compile(r"/clinical/records/\d+/$"))
    page.remove_listener("dialog", accept)
    assert len(dialogs) == 1
    assert "Sign this record?" in dialogs[0]
    expect(page.locator(".messages")).to_contain_text("The record is signed and locked.")
    expect(page.locator("h1 .badge-signed")).to_have_text("Signed")
    expect(page.locator(".signature-line")).to_contain_text("Version 1 signed by Dr. Li")
    expect(page.locator(".signature-line")).to_contain_text("Digest verified")
    current = page.locator(".record-sections").first  # the latest version, above the history
    expect(current).to_contain_text("右下后牙冷热敏感两周")
    expect(current).to_contain_text("46 深龋")
    page.screenshot(path=SCREENSHOT_RECORD, full_page=True)


def _doctor_builds_a_plan_that_is_accepted(page: Any, base_url: str, zhang: Patient) -> int:
    from playwright.sync_api import expect

    page.goto(f"{base_url}/clinical/patients/{zhang.pk}/")
    page.locator("#plans").get_by_role("link", name="New plan").click()
    page.wait_for_url(re.compile(rf"/clinical/patients/{zhang.pk}/plans/new/"))

    page.get_by_label("Title").fill("46 充填 + 洁治")
    search = page.get_by_label("Search the catalogue")
    search.fill("树脂")
    page.locator(".plan-search-results").get_by_role("button", name=re.compile("树脂充填")).click()
    lines = page.locator(".plan-lines tbody tr:visible")
    filling_row = lines.filter(has_text="树脂充填")
    # A per-tooth service opens the tooth grid on its own line.
    filling_row.locator(".tooth-grid").get_by_role("button", name="46", exact=True).click()
    expect(filling_row.get_by_label("Teeth (FDI)")).to_have_value("46")
    expect(filling_row.get_by_label("Quantity")).to_have_value("1")
    expect(page.locator(".plan-total").first).to_have_text("¥300.00")

    search.fill("洁治")
    page.locator(".plan-search-results").get_by_role("button", name=re.compile("全口洁治")).click()
    expect(lines.filter(has_text="全口洁治")).to_have_count(1)
    # The live total adds both lines up before anything is saved.
    expect(page.locator(".plan-total").first).to_have_text("¥580.00")

    page.get_by_role("button", name="Save plan").click()
    page.wait_for_url(re.compile(r"/clinical/plans/\d+/$"))
    expect(page.locator(".messages")).to_contain_text("The plan is saved as a draft.")
    plan_id = int(re.findall(r"/plans/(\d+)/", page.url)[0])
    expect(page.locator("dd.plan-total")).to_have_text("¥580.00")

    page.get_by_role("button", name="Propose to the patient").click()
    expect(page.locator(".messages")).to_contain_text("The plan is proposed to the patient.")
    page.get_by_role("button", name="Patient accepts").click()
    expect(page.locator(".messages")).to_contain_text("The patient's choice is recorded.")
    expect(page.locator(".badge.plan-status-accepted")).to_have_text("Accepted")
    return plan_id


def _front_desk_executes_and_takes_a_split_payment(page: Any, base_url: str, plan_id: int) -> str:
    """Returns the receipt's address."""
    from playwright.sync_api import expect

    page.goto(f"{base_url}/clinical/plans/{plan_id}/")
    execute = page.locator("#execute")
    execute.get_by_label("Done now: 树脂充填").fill("1")
    execute.get_by_label("Done now: 全口洁治").fill("1")
    execute.get_by_role("button", name="Confirm and open the bill").click()
    page.wait_for_url(re.compile(r"/billing/bills/\d+/"))
    expect(page.locator(".messages")).to_contain_text("Confirmed and charged on bill")
    lines = page.locator("#lines tbody tr")
    expect(lines).to_have_count(2)
    expect(lines.filter(has_text="树脂充填")).to_contain_text("46")
    expect(lines.filter(has_text="全口洁治")).to_contain_text("¥280.00")

    confirm_texts: list[str] = []

    def accept(dialog: Any) -> None:
        confirm_texts.append(dialog.message)
        dialog.accept()

    page.on("dialog", accept)
    page.get_by_role("button", name="Confirm bill · ¥580.00").click()
    pay = page.locator("#pay")
    expect(pay).to_be_visible()
    page.remove_listener("dialog", accept)
    assert len(confirm_texts) == 1
    assert "Confirm the bill?" in confirm_texts[0]
    expect(pay.locator(".pay-due")).to_contain_text("¥580.00")

    rows = pay.locator(".pay-row")
    expect(rows).to_have_count(1)  # one cash row for the whole amount to start with
    rows.nth(0).get_by_label("Payment method").select_option("wechat")
    rows.nth(0).get_by_label("Amount").fill("300")
    rows.nth(0).get_by_label("Transaction no.").fill("WX-20240001")
    pay.get_by_role("button", name="Add a payment method").click()
    expect(rows).to_have_count(2)
    rows.nth(1).get_by_label("Payment method").select_option("cash")
    # The new row proposes what is left.
    expect(rows.nth(1).get_by_label("Amount")).to_have_value("280.00")
    rows.nth(1).get_by_label("Cash handed over").fill("300")
    expect(rows.nth(1).locator(".pay-change")).to_contain_text("¥20.00")
    summary = pay.locator(".pay-sum")
    expect(summary).to_contain_text("¥580.00")
    expect(summary.locator("dd.strong")).to_have_text("¥20.00")
    # The side column is sticky: scroll back up so the full-page picture shows it in place.
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=SCREENSHOT_CASHIER, full_page=True)

    pay.get_by_role("button", name=re.compile(r"Take payment ¥580\.00")).click()
    expect(page.locator(".messages")).to_contain_text("¥580.00 received; change due ¥20.00.")
    expect(page.locator(".settled-note")).to_have_text("Paid in full.")
    expect(page.locator(".totals dd.due")).to_have_text("¥0.00")
    payments = page.locator("#payments tbody tr")
    expect(payments).to_have_count(2)
    expect(payments.filter(has_text="WeChat Pay")).to_contain_text("300.00")
    cash = payments.filter(has_text="Cash")
    for amount in ("280.00", "300.00", "20.00"):  # the amount, what was handed over, the change
        expect(cash).to_contain_text(amount)
    href: str = page.get_by_role("link", name="Receipt (PDF)").get_attribute("href")
    return f"{base_url}{href}"


def test_a_visit_from_record_to_receipt(
    live_server: Any, world: World, visit: Visit, browser_page: Any
) -> None:
    page = browser_page
    base = live_server.url

    # The doctor: the record, signed; the plan, accepted.
    sign_in(page, base, world.doctor.username)
    _doctor_signs_a_first_visit_record(page, base, visit.zhang)
    plan_id = _doctor_builds_a_plan_that_is_accepted(page, base, visit.zhang)

    # The front desk, in a browser of its own.
    desk_context = page.context.browser.new_context(locale="en-US")
    try:
        desk = desk_context.new_page()
        desk.set_default_timeout(15_000)
        sign_in(desk, base, world.frontdesk.username)
        receipt_url = _front_desk_executes_and_takes_a_split_payment(desk, base, plan_id)

        # The link opens the PDF in a new tab; Chromium's viewer keeps the bytes to itself,
        # so they are fetched again with the tab's cookies and language.
        with desk.context.expect_event(
            "response", predicate=lambda r: r.url == receipt_url
        ) as opened_info:
            desk.get_by_role("link", name="Receipt (PDF)").click()
        opened = opened_info.value
        assert opened.status == 200
        assert opened.headers["content-type"] == "application/pdf"
        assert re.fullmatch(
            r'inline; filename="receipt-C1-\d{8}-0001\.pdf"',
            opened.headers["content-disposition"],
        )
        language = opened.request.headers["accept-language"]
        response = desk.request.get(receipt_url, headers={"Accept-Language": language})
        assert response.status == 200
        assert response.headers["content-type"] == "application/pdf"
        body = response.body()
    finally:
        desk_context.close()
    assert body.startswith(b"%PDF")
    text = "\n".join(p.extract_text() or "" for p in PdfReader(io.BytesIO(body)).pages)
    assert "张三" in text
    assert "微信" in text or "WeChat" in text
    assert "300.00" in text
    assert "280.00" in text

    with tenant_scope(world.org, world.clinic1):
        record = ClinicalRecord.objects.get(patient=visit.zhang)
        assert record.status == ClinicalRecord.Status.SIGNED
        assert record.doctor_id == world.doctor.pk
        (version,) = record.versions.all()
        assert version.signed_at is not None
        assert re.fullmatch(r"[0-9a-f]{64}", version.digest)

        plan = TreatmentPlan.objects.get(pk=plan_id)
        # Accepted by the patient; with every item done the plan is completed.
        assert plan.accepted_at is not None
        assert plan.accepted_recorded_by_id == world.doctor.pk
        assert plan.status == TreatmentPlan.Status.COMPLETED
        assert plan.total == Decimal("580.00")
        items = {i.item_id: i for i in plan.items.all()}
        assert set(items) == {visit.filling.pk, visit.cleaning.pk}
        assert items[visit.filling.pk].teeth.codes == (46,)
        for item in items.values():
            assert item.status == PlanItem.Status.DONE
            assert item.executed_quantity == 1

        bill = Bill.objects.get(patient=visit.zhang)
        assert bill.clinic_id == world.clinic1.pk
        assert bill.status == Bill.Status.CONFIRMED
        assert bill.total == Decimal("580.00")
        assert bill.paid_total == Decimal("580.00")
        assert bill.arrears == Decimal("0.00")
        paid = {p.method: p for p in Payment.objects.filter(bill=bill)}
        assert len(paid) == 2
        assert paid[PaymentMethod.WECHAT].amount == Decimal("300.00")
        assert paid[PaymentMethod.WECHAT].reference == "WX-20240001"
        assert paid[PaymentMethod.CASH].amount == Decimal("280.00")
        assert paid[PaymentMethod.CASH].tendered == Decimal("300.00")
        assert {p.received_by_id for p in paid.values()} == {world.frontdesk.pk}
