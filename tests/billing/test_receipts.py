"""Receipts and bills as PDF (B6): a real bill made through the services (lines, a manual
discount, a split cash + WeChat payment, a refund) renders to a PDF whose text says who,
what and how it was paid, with the Chinese font embedded; page 1 rasterises to a non-blank
PNG; the API serves it to the bill's readers only."""

from __future__ import annotations

import io
import shutil
import subprocess
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.utils import translation
from PIL import Image
from pypdf import PdfReader

from chairside.billing.discounts import ManualDiscount
from chairside.billing.models import Bill, PaymentMethod
from chairside.billing.receipts import ReceiptLayout, receipt_of, receipt_pdf
from chairside.billing.services.bills import (
    bill_confirm,
    bill_create,
    bill_discounts_apply,
    bill_line_add,
    bill_void,
)
from chairside.billing.services.payments import Tender, bill_pay
from chairside.billing.services.refunds import refund_request
from chairside.core.tenancy import tenant_scope
from tests.apiclient import API, ApiClient, documented_operations
from tests.billing.conftest import Shop
from tests.conftest import World

CLINIC_NAME = "微笑口腔人民路诊所"


def paid_bill(world: World, shop: Shop) -> Bill:
    """Zhang's bill at clinic 1: registration, a filling on 16, a self-paid X-ray (¥370),
    ¥30 off by hand, ¥200 cash (¥250 handed over) + ¥100 WeChat, ¥20 WeChat refunded;
    ¥40 left as arrears."""
    clinic = world.clinic1
    clinic.name = CLINIC_NAME
    clinic.address = "上海市黄浦区人民路 100 号"
    clinic.phone = "021-5555 1234"
    clinic.save()
    with tenant_scope(world.org, clinic):
        desk = world.frontdesk
        bill = bill_create(actor=desk, clinic=clinic, patient=shop.zhang)
        bill_line_add(actor=desk, clinic=clinic, bill=bill, item=shop.registration)
        bill_line_add(
            actor=desk, clinic=clinic, bill=bill, item=shop.filling, teeth="16", doctor=world.doctor
        )
        bill_line_add(actor=desk, clinic=clinic, bill=bill, item=shop.xray, self_paid=True)
        bill_discounts_apply(
            actor=desk,
            clinic=clinic,
            bill=bill,
            manual=ManualDiscount(reason="老客户", amount=Decimal("30")),
            can_approve=True,
        )
        bill_confirm(actor=desk, clinic=clinic, bill=bill)
        bill_pay(
            actor=desk,
            clinic=clinic,
            bill=bill,
            tenders=[
                Tender(PaymentMethod.CASH, Decimal("200"), tendered=Decimal("250")),
                Tender(PaymentMethod.WECHAT, Decimal("100"), reference="WX-42"),
            ],
        )
        refund_request(
            actor=shop.manager,
            clinic=clinic,
            bill=bill,
            method=PaymentMethod.WECHAT,
            amount=Decimal("20"),
            reason="多收",
            can_approve=True,
        )
        bill.refresh_from_db()
    return bill


@pytest.fixture
def bill(world: World, shop: Shop) -> Bill:
    return paid_bill(world, shop)


def pdf_text(pdf: bytes) -> str:
    reader = PdfReader(io.BytesIO(pdf))
    return "\n".join(page.extract_text() or "" for page in reader.pages)


def fonts_of(pdf: bytes) -> list[dict[str, Any]]:
    """Each font of page 1: its name and whether its program is embedded."""
    page: Any = PdfReader(io.BytesIO(pdf)).pages[0]
    found = []
    for ref in page["/Resources"]["/Font"].values():
        font = ref.get_object()
        descriptor = font.get("/FontDescriptor")
        if descriptor is None and "/DescendantFonts" in font:
            descriptor = font["/DescendantFonts"][0].get_object().get("/FontDescriptor")
        descriptor = descriptor.get_object() if descriptor is not None else {}
        embedded = any(k in descriptor for k in ("/FontFile", "/FontFile2", "/FontFile3"))
        found.append({"name": str(font.get("/BaseFont")), "embedded": embedded})
    return found


def test_the_numbers_on_the_receipt_are_the_bills(world: World, shop: Shop, bill: Bill) -> None:
    with tenant_scope(world.org, world.clinic1):
        receipt = receipt_of(bill=bill, printed_by=world.frontdesk)
    assert (bill.total, bill.discount_total, bill.paid_total) == (
        Decimal("370.00"),
        Decimal("30.00"),
        Decimal("300.00"),
    )
    assert bill.arrears == Decimal("40.00")
    assert (receipt.total, receipt.discount_total, receipt.net_total) == (
        "¥370.00",
        "¥30.00",
        "¥340.00",
    )
    assert (receipt.paid_total, receipt.refunded_total, receipt.arrears) == (
        "¥300.00",
        "¥20.00",
        "¥40.00",
    )
    by_method = {m.method: (m.paid, m.refunded) for m in receipt.methods}
    assert by_method == {"cash": ("¥200.00", "¥0.00"), "wechat": ("¥100.00", "¥20.00")}
    assert [line.name for line in receipt.lines] == ["挂号费", "树脂充填", "全景片"]
    xray = receipt.lines[2]
    assert xray.insured
    assert xray.self_paid
    assert receipt.lines[1].teeth == "16"
    assert [d.label for d in receipt.discounts] == ["Manual discount"]
    cash = next(p for p in receipt.payments if p.label == str(PaymentMethod.CASH.label))
    assert (cash.tendered, cash.change) == ("¥250.00", "¥50.00")
    assert receipt.cashiers == ["Front Desk", "Manager"]


@pytest.mark.parametrize("layout", list(ReceiptLayout))
def test_the_pdf_says_who_what_and_how_it_was_paid(
    world: World, shop: Shop, bill: Bill, layout: ReceiptLayout
) -> None:
    with tenant_scope(world.org, world.clinic1), translation.override("zh-hans"):
        pdf = receipt_pdf(bill=bill, layout=layout, printed_by=world.frontdesk)
        cash, wechat = (
            str(m.label).replace(" ", "") for m in (PaymentMethod.CASH, PaymentMethod.WECHAT)
        )
    assert pdf.startswith(b"%PDF")
    text = pdf_text(pdf)
    for expected in (CLINIC_NAME, "人民路 100 号", bill.number, "张三", shop.zhang.record_no):
        assert expected in text
    for name in ("挂号费", "树脂充填", "全景片"):
        assert name in text
    compact = text.replace(" ", "")
    # Each method with its amount, the refund, and what is still owed.
    assert f"{cash}¥200.00" in compact
    assert f"{wechat}¥100.00" in compact
    assert "-¥20.00" in compact
    assert "¥40.00" in compact  # arrears
    assert "¥340.00" in compact  # net after the ¥30 discount
    assert "-¥30.00" in compact


def test_the_chinese_font_is_embedded(world: World, shop: Shop, bill: Bill) -> None:
    with tenant_scope(world.org, world.clinic1):
        pdf = receipt_pdf(bill=bill)
    fonts = fonts_of(pdf)
    assert fonts, "the page uses no font"
    assert all(f["embedded"] for f in fonts), fonts
    assert any("CJK" in f["name"] for f in fonts), fonts


def test_the_till_receipt_is_one_80mm_page_as_long_as_its_content(
    world: World, shop: Shop, bill: Bill
) -> None:
    with tenant_scope(world.org, world.clinic1):
        till = PdfReader(io.BytesIO(receipt_pdf(bill=bill)))
        a4 = PdfReader(io.BytesIO(receipt_pdf(bill=bill, layout=ReceiptLayout.A4)))
    assert len(till.pages) == 1
    width_mm = float(till.pages[0].mediabox.width) * 25.4 / 72
    height_mm = float(till.pages[0].mediabox.height) * 25.4 / 72
    assert width_mm == pytest.approx(80, abs=0.5)
    assert 100 <= height_mm < 400  # cut to the content, not the 2 m probe page
    a4_box = a4.pages[0].mediabox
    assert float(a4_box.width) * 25.4 / 72 == pytest.approx(210, abs=0.5)
    assert float(a4_box.height) * 25.4 / 72 == pytest.approx(297, abs=0.5)


@pytest.mark.skipif(shutil.which("pdftoppm") is None, reason="needs poppler-utils (pdftoppm)")
@pytest.mark.parametrize("layout", list(ReceiptLayout))
def test_page_one_renders_to_a_png_with_ink_on_it(
    world: World, shop: Shop, bill: Bill, layout: ReceiptLayout, tmp_path: Path
) -> None:
    with tenant_scope(world.org, world.clinic1), translation.override("zh-hans"):
        pdf = receipt_pdf(bill=bill, layout=layout)
    source = tmp_path / "receipt.pdf"
    source.write_bytes(pdf)
    pdftoppm = shutil.which("pdftoppm")
    assert pdftoppm is not None
    subprocess.run(  # noqa: S603 - a fixed tool on our own temporary file
        [pdftoppm, "-png", "-r", "50", "-f", "1", "-l", "1", str(source), str(tmp_path / "page")],
        check=True,
        capture_output=True,
        timeout=60,
    )
    pngs = sorted(tmp_path.glob("page*.png"))
    assert len(pngs) == 1
    assert pngs[0].read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    image = Image.open(pngs[0]).convert("L")
    width, height = image.size
    if layout == ReceiptLayout.RECEIPT:
        assert 150 <= width <= 165  # 80 mm at 50 dpi
        assert height > width
    else:
        assert (width, height) == pytest.approx((413, 585), abs=3)  # A4 at 50 dpi
    histogram = image.histogram()
    dark = sum(histogram[:128])
    # Text on the page: a fair number of dark pixels, but far from a black page.
    assert 0.005 < dark / (width * height) < 0.5


# --- the API ----------------------------------------------------------------------------


def fetch(api: ApiClient, bill_id: int, **params: str) -> Any:
    query = "&".join(f"{k}={v}" for k, v in params.items())
    url = f"{API}/bills/{bill_id}/receipt.pdf" + (f"?{query}" if query else "")
    return api.client.get(url, headers=api.headers)


def test_the_api_serves_the_receipt_and_the_a4_bill(world: World, shop: Shop, bill: Bill) -> None:
    api = ApiClient(world.frontdesk, clinic=world.clinic1)
    response = fetch(api, bill.pk)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert f"receipt-{bill.number}.pdf" in response["Content-Disposition"]
    assert response.content.startswith(b"%PDF")
    a4 = fetch(api, bill.pk, layout="a4")
    assert a4.status_code == 200
    assert f"bill-{bill.number}.pdf" in a4["Content-Disposition"]
    assert "挂号费" in pdf_text(a4.content)
    # A doctor reads bills too (billing.view).
    assert fetch(ApiClient(world.doctor, clinic=world.clinic1), bill.pk).status_code == 200


def test_the_api_refuses_odd_layouts_and_strangers(world: World, shop: Shop, bill: Bill) -> None:
    api = ApiClient(world.frontdesk, clinic=world.clinic1)
    assert fetch(api, bill.pk, layout="poster").status_code == 400
    assert fetch(api, 2**63).status_code in (400, 422)
    assert fetch(ApiClient(), bill.pk).status_code == 401


def test_receipt_isolation(world: World, shop: Shop, bill: Bill) -> None:
    """Another organization, and a clinic the bill is not of, get 404 as if it were missing."""
    other_org = ApiClient(world.boss_b, clinic=world.clinic_b)
    response = fetch(other_org, bill.pk)
    assert response.status_code == 404
    assert b"%PDF" not in response.content
    other_clinic = ApiClient(shop.frontdesk2, clinic=world.clinic2)
    assert fetch(other_clinic, bill.pk).status_code == 404
    # The boss (billing.view_all) reads every clinic's bills, even acting in clinic 2.
    assert fetch(ApiClient(world.boss, clinic=world.clinic2), bill.pk).status_code == 200
    assert fetch(ApiClient(world.boss, clinic=world.clinic1), 999_999).status_code == 404


def test_every_receipt_operation_is_covered_here() -> None:
    covered = {"GET /bills/{}/receipt.pdf"}
    documented = {op for op in documented_operations(tags={"billing"}) if "receipt" in op}
    assert documented == covered


# --- the page link ----------------------------------------------------------------------


def test_the_page_link_downloads_the_pdf(world: World, shop: Shop, bill: Bill) -> None:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(world.frontdesk)
    response = client.get(f"/billing/bills/{bill.pk}/receipt.pdf?layout=a4&download=1")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"].startswith("attachment;")
    stranger = Client(HTTP_ACCEPT_LANGUAGE="en")
    stranger.force_login(world.boss_b)
    assert stranger.get(f"/billing/bills/{bill.pk}/receipt.pdf").status_code == 404


def test_a_void_or_draft_bill_says_so_on_paper(world: World, shop: Shop) -> None:
    with tenant_scope(world.org, world.clinic1):
        draft = bill_create(actor=world.frontdesk, clinic=world.clinic1, patient=shop.li)
        bill_line_add(actor=world.frontdesk, clinic=world.clinic1, bill=draft, item=shop.cleaning)
        draft_text = pdf_text(receipt_pdf(bill=draft))
        bill_void(actor=world.frontdesk, clinic=world.clinic1, bill=draft, reason="开错了")
        void_text = pdf_text(receipt_pdf(bill=draft))
    assert "Draft: not yet confirmed" in draft_text
    assert "Arrears" not in draft_text  # a draft owes nothing yet
    assert "VOID" in void_text
    assert "开错了" in void_text
