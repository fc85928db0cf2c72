"""The patient portal on a phone-sized Chromium (390×844, Chinese): sign in with the SMS code,
book a time for a family member, find it under My bookings, and cancel one in the sheet."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.core.cache import cache
from django.utils import timezone

from chairside.core.tenancy import tenant_scope
from chairside.scheduling.models import Appointment, AppointmentStatus
from tests.e2e.test_browser import CHROMIUM, CHROMIUM_ARGS
from tests.e2e.test_browser import (
    _allow_sync_orm_next_to_playwright as _allow_sync_orm_next_to_playwright,
)
from tests.portal.conftest import ZHANG_MOBILE, Portal, book_at, last_code
from tests.portal.conftest import portal as portal  # the fixture

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}


@pytest.fixture
def phone_page() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.skip("Chromium is not installed at /usr/bin/chromium")
    from playwright.sync_api import sync_playwright

    cache.clear()  # rate limits of earlier tests live in this process's cache
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        context = browser.new_context(
            viewport=PHONE, is_mobile=True, has_touch=True, locale="zh-CN"
        )
        page = context.new_page()
        page.set_default_timeout(15_000)
        try:
            yield page
        finally:
            context.close()
            browser.close()


def sign_in(page: Any, base_url: str, portal: Portal) -> None:
    from playwright.sync_api import expect

    page.goto(f"{base_url}/p/{portal.org.slug}/")
    expect(page.get_by_role("heading", name="手机号登录")).to_be_visible()
    page.get_by_placeholder("请输入手机号").fill(ZHANG_MOBILE)
    page.get_by_role("button", name="获取验证码").click()
    page.wait_for_url(re.compile(r"/login/code/"))
    expect(page.get_by_text("139****0001")).to_be_visible()
    page.get_by_placeholder("6位验证码").fill(last_code(portal.org, ZHANG_MOBILE))
    page.get_by_role("button", name="登录", exact=True).click()
    page.wait_for_url(re.compile(rf"/p/{portal.org.slug}/$"))
    expect(page.get_by_text("张三，您好")).to_be_visible()


def test_a_parent_books_for_the_spouse_and_sees_it_under_my_bookings(
    live_server: Any, portal: Portal, phone_page: Any
) -> None:
    from playwright.sync_api import expect

    page = phone_page
    sign_in(page, live_server.url, portal)

    page.get_by_role("link", name=re.compile("预约挂号")).click()
    page.get_by_role("link", name=re.compile("Downtown Clinic")).click()
    page.get_by_role("link", name=re.compile("Cleaning")).click()
    page.get_by_role("link", name=re.compile("不限医生")).click()
    expect(page.get_by_role("heading", name="选择时间")).to_be_visible()
    slot = page.locator(".day-panel:not([hidden]) a.slot").first
    time_text = slot.inner_text().strip()
    slot.click()
    page.wait_for_url(re.compile(r"/book/confirm/"))
    expect(page.locator(".ticket-time")).to_have_text(time_text)
    page.get_by_text("李四", exact=True).click()
    page.get_by_role("button", name="确认预约").click()

    page.wait_for_url(re.compile(r"/bookings/\d+/$"))
    expect(page.get_by_text("预约成功")).to_be_visible()
    page.get_by_role("link", name="我的预约").click()
    card = page.locator("#upcoming a.visit").first
    expect(card).to_contain_text("Cleaning")
    expect(card).to_contain_text("就诊人：李四")
    expect(card).to_contain_text(time_text)
    with tenant_scope(portal.org):
        [appointment] = Appointment.objects.all()
    assert (appointment.patient_id, appointment.source) == (portal.li.pk, "portal")


def test_a_booking_is_cancelled_in_the_bottom_sheet(
    live_server: Any, portal: Portal, phone_page: Any
) -> None:
    from playwright.sync_api import expect

    start = (timezone.now() + timedelta(days=1)).replace(second=0, microsecond=0)
    appointment = book_at(portal, portal.zhang, start, allow_outside_hours=True)
    page = phone_page
    sign_in(page, live_server.url, portal)

    page.goto(f"{live_server.url}/p/{portal.org.slug}/bookings/{appointment.pk}/")
    sheet = page.locator("#cancel-sheet")
    expect(sheet).to_be_hidden()
    page.get_by_role("button", name="取消预约").click()
    expect(sheet).to_be_visible()
    sheet.get_by_text("身体不适").click()
    sheet.get_by_role("button", name="确定取消").click()

    expect(page.get_by_text("预约已取消。")).to_be_visible()
    expect(page.locator(".badge")).to_have_text("已取消")
    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.CANCELLED
