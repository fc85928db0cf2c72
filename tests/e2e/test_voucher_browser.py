"""A flash-sale voucher from the phone to the cashier, in a real browser (Debian's Chromium
through Playwright): on a phone-sized page 张三 signs in with the SMS code, grabs the 9.9
cleaning voucher, pays through the fake processor, finds it in My coupons and books a visit
with it; then the front desk opens his bill, adds the cleaning, is offered the voucher the
visit was booked with, applies it and the bill drops to nothing.

Pictures of the portal's voucher pages go to /tmp/shots/voucher-*.png for a person to look at.
The clock is stopped on a Monday morning in the future, so the first free time is that day.
"""

from __future__ import annotations

import re
import tempfile
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from chairside.billing.models import Bill, CatalogueItem, Category, Unit
from chairside.billing.services.catalogue import catalogue_item_create
from chairside.core.tenancy import tenant_scope
from chairside.promotions.models import (
    Coupon,
    CouponKind,
    CouponStatus,
    CouponTemplate,
    FlashSale,
    ValidityKind,
    VoucherBooking,
)
from chairside.promotions.services.coupons import TemplateData, coupon_template_create
from chairside.promotions.services.flash_sales import flash_sale_create
from chairside.scheduling.models import Appointment
from chairside.scheduling.services import appointment_type_create
from tests.clock import SHANGHAI, Clock, stop_clock
from tests.e2e.test_browser import (
    _allow_sync_orm_next_to_playwright as _allow_sync_orm_next_to_playwright,
)
from tests.e2e.test_browser import sign_in as console_sign_in
from tests.e2e.test_portal_browser import phone_page as phone_page  # the fixture
from tests.e2e.test_portal_browser import sign_in as portal_sign_in
from tests.portal.conftest import Portal
from tests.portal.conftest import portal as portal  # the fixture

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = Path(tempfile.gettempdir()) / "shots"


def next_monday_morning() -> datetime:
    """08:00 of the next Monday in Shanghai (in the future, so cookies stay valid)."""
    today = datetime.now(SHANGHAI)
    days = (7 - today.weekday()) % 7 or 7
    return (today + timedelta(days=days)).replace(hour=8, minute=0, second=0, microsecond=0)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    return stop_clock(monkeypatch, next_monday_morning())


@dataclass
class Sale:
    cleaning: CatalogueItem  # ¥280 per visit
    template: CouponTemplate  # one free cleaning, at clinic 1, 30 days after issue
    sale: FlashSale  # ¥9.90


@pytest.fixture
def sale(portal: Portal, clock: Clock) -> Sale:
    world = portal.world
    with tenant_scope(world.org, world.clinic1):
        cleaning = catalogue_item_create(
            actor=world.boss,
            clinic=world.clinic1,
            code="full-scaling",
            name="全口洁治",
            category=Category.PERIODONTAL,
            unit=Unit.PER_VISIT,
            price="280",
        )
        appointment_type_create(
            actor=world.boss,
            code="scaling-visit",
            name="洁牙",
            duration_minutes=45,
            service_codes=["full-scaling"],
        )
        template = coupon_template_create(
            actor=world.boss,
            clinic=world.clinic1,
            data=TemplateData(
                name="洁牙体验券",
                kind=CouponKind.SERVICE_VOUCHER,
                description="全口洁治一次",
                service_items=[cleaning],
                clinics=[world.clinic1],
                validity_kind=ValidityKind.AFTER_ISSUE,
                valid_days=30,
            ),
        )
        now = clock()
        flash = flash_sale_create(
            actor=world.boss,
            clinic=world.hq,
            title="9.9元洁牙",
            template=template,
            price="9.90",
            stock=20,
            starts_at=now - timedelta(hours=1),
            ends_at=now + timedelta(days=3),
        )
    return Sale(cleaning, template, flash)


def _patient_buys_the_voucher(page: Any) -> None:
    from playwright.sync_api import expect

    page.get_by_role("link", name=re.compile("限时秒杀")).click()
    card = page.locator(".card", has_text="9.9元洁牙")
    expect(card).to_contain_text("¥9.90")
    card.get_by_role("button", name="立即抢购").click()
    page.wait_for_url(re.compile(r"/flash-sales/claims/\d+/$"))
    page.get_by_role("button", name="支付 ¥9.90").click()
    page.wait_for_url(re.compile(r"/pay/$"))
    page.get_by_role("button", name="确认支付").click()
    page.wait_for_url(re.compile(r"/coupons/$"))
    expect(page.locator(".toast")).to_contain_text("支付成功")


def _patient_books_with_the_voucher(page: Any, base_url: str, portal: Portal) -> tuple[str, str]:
    """Returns the time booked (HH:MM) and the voucher's code as My coupons shows it."""
    from playwright.sync_api import expect

    coupon = page.locator("article.coupon", has_text="洁牙体验券")
    expect(coupon).to_be_visible()
    book = coupon.locator("a[href*='voucher=']")
    expect(book).to_have_count(1)
    code = coupon.locator(".coupon-code").inner_text().strip()
    page.screenshot(path=SHOTS / "voucher-coupons.png", full_page=True)
    book.click()

    # The voucher names its clinic and its service: the flow starts at the doctor.
    summary = page.locator("dl.summary")
    expect(summary.locator(".summary-voucher")).to_contain_text("洁牙体验券")
    expect(summary).to_contain_text("Downtown Clinic")
    expect(summary).to_contain_text("洁牙")
    page.get_by_role("link", name=re.compile("不限医生")).click()
    expect(page.get_by_role("heading", name="选择时间")).to_be_visible()
    slot = page.locator(".day-panel:not([hidden]) a.slot").first
    time_text = slot.inner_text().strip()
    slot.click()

    page.wait_for_url(re.compile(r"/book/confirm/\?.*voucher="))
    expect(page.locator(".ticket-time")).to_have_text(time_text)
    expect(page.locator(".ticket-voucher")).to_contain_text("洁牙体验券")
    expect(page.locator(".ticket-voucher")).to_contain_text("全口洁治")
    who = page.locator("fieldset.who")
    expect(who.locator("label.who-option")).to_have_count(1)  # the voucher's holder only
    expect(who).to_contain_text("张三")
    page.screenshot(path=SHOTS / "voucher-confirm.png", full_page=True)
    page.get_by_role("button", name="确认预约").click()

    page.wait_for_url(re.compile(r"/bookings/\d+/$"))
    expect(page.locator(".toast")).to_contain_text("洁牙体验券")

    # The voucher step shows it booked for that visit (nothing else left to book).
    page.goto(f"{base_url}/p/{portal.org.slug}/book/voucher/")
    row = page.locator(".voucher-option", has_text="洁牙体验券")
    expect(row).to_contain_text(time_text)
    expect(row.locator(".badge")).to_be_visible()
    page.screenshot(path=SHOTS / "voucher-step.png", full_page=True)
    return time_text, code


def _front_desk_redeems_it(desk: Any, base_url: str, portal: Portal, time_text: str) -> None:
    from playwright.sync_api import expect

    desk.goto(f"{base_url}/patients/{portal.zhang.pk}/")
    desk.locator("#money").get_by_role("button", name="Open bill").click()
    desk.wait_for_url(re.compile(r"/billing/bills/\d+/"))

    desk.locator("#item-search").press_sequentially("洁治")
    desk.locator(".picker-results").get_by_role("button", name=re.compile("全口洁治")).click()
    desk.get_by_role("button", name="Add item").click()
    expect(desk.locator("#lines tbody tr", has_text="全口洁治")).to_contain_text("¥280.00")
    totals = desk.locator(".totals")
    expect(totals.locator("dd.strong")).to_have_text("¥280.00")

    # The voucher the visit was booked with is the first of the patient's offers.
    offers = desk.locator("#discounts fieldset.offers label.check")
    booked = offers.first
    expect(booked).to_contain_text(f"Booked with this voucher for the {time_text} visit")
    expect(booked).to_contain_text("洁牙体验券")
    # The desk ticks it in the patient's wallet (scanning its code is the other way in).
    booked.locator("input[type=checkbox]").check()
    desk.get_by_role("button", name="Apply discounts").click()

    expect(desk.locator(".messages")).to_contain_text("Discounts applied.")
    expect(desk.locator("#discounts")).to_contain_text("-¥280.00")
    expect(totals.locator("dd.strong")).to_have_text("¥0.00")
    desk.evaluate("window.scrollTo(0, 0)")
    desk.screenshot(path=SHOTS / "voucher-cashier.png", full_page=True)

    desk.once("dialog", lambda dialog: dialog.accept())
    desk.get_by_role("button", name="Confirm bill · ¥0.00").click()
    expect(desk.locator(".messages")).to_contain_text("confirmed")


def test_a_flash_sale_voucher_is_bought_booked_and_redeemed(
    live_server: Any, portal: Portal, sale: Sale, clock: Clock, phone_page: Any
) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page = phone_page
    base = live_server.url

    portal_sign_in(page, base, portal)
    _patient_buys_the_voucher(page)
    time_text, code = _patient_books_with_the_voucher(page, base, portal)

    with tenant_scope(portal.org):
        [appointment] = Appointment.objects.all()
        [booking] = VoucherBooking.objects.all()
        coupon = Coupon.objects.get(holder=portal.zhang)
    assert (booking.coupon_id, booking.appointment_id) == (coupon.pk, appointment.pk)
    assert code.replace(" ", "").replace("-", "") == coupon.code
    assert f"{appointment.start.astimezone(SHANGHAI):%H:%M}" == time_text
    # The front desk works on the day of the visit (the first free time may be a later day
    # than the clock's, e.g. on a public holiday).
    clock.set(appointment.start - timedelta(minutes=30))

    desk_context = page.context.browser.new_context(locale="en-US")
    try:
        desk = desk_context.new_page()
        desk.set_default_timeout(15_000)
        console_sign_in(desk, base, portal.world.frontdesk.username)
        _front_desk_redeems_it(desk, base, portal, time_text)
    finally:
        desk_context.close()

    with tenant_scope(portal.org):
        bill = Bill.objects.get(patient=portal.zhang)
        assert bill.status == Bill.Status.CONFIRMED
        assert (bill.total, bill.discount_total, bill.arrears) == (
            Decimal("280.00"),
            Decimal("280.00"),
            Decimal("0.00"),
        )
        coupon.refresh_from_db()
        assert coupon.status == CouponStatus.USED
        booking.refresh_from_db()
        assert booking.bill_id == bill.pk
