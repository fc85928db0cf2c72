"""Today's work in a real browser (Debian's Chromium through Playwright): the front desk sees a
booked patient as not yet arrived, clicks Check in, and the patient moves to the arrived
list while the counts change, without reloading the page."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime, time, timedelta
from typing import Any

import pytest

from chairside.core.clock import clinic_now
from chairside.core.tenancy import tenant_scope
from chairside.patients.services import patient_create
from chairside.scheduling.models import Appointment
from chairside.scheduling.services import appointment_book
from tests.conftest import World
from tests.e2e.test_browser import (  # the browser fixtures and sign-in of the console tests
    _allow_sync_orm_next_to_playwright,
    browser_page,
    sign_in,
)

__all__ = ["_allow_sync_orm_next_to_playwright", "browser_page"]

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def booked_today(world: World) -> Iterator[Appointment]:
    """张三 booked with Dr. Li at clinic 1 for a time earlier today (check-in is on the day)."""
    with tenant_scope(world.org, world.clinic1):
        now = clinic_now(world.clinic1)
        start = datetime.combine(now.date(), time(0, 15), tzinfo=now.tzinfo)
        zhang = patient_create(
            actor=world.frontdesk, clinic=world.clinic1, name="张三", phone="13800138000"
        )
        yield appointment_book(
            clinic=world.clinic1,
            patient=zhang,
            doctor=world.doctor,
            start=start,
            end=start + timedelta(minutes=30),
            actor=world.frontdesk,
            allow_outside_hours=True,
        )


def test_front_desk_checks_a_patient_in_from_todays_work(
    live_server: Any, world: World, booked_today: Appointment, browser_page: Any
) -> None:
    from playwright.sync_api import expect

    page = browser_page
    sign_in(page, live_server.url, world.frontdesk.username)
    page.goto(f"{live_server.url}/schedule/today/")
    board = page.locator("#today-board")
    not_arrived = board.locator("[data-count=not-arrived] [data-visits]")
    arrived = board.locator("[data-count=arrived] [data-visits]")
    expect(board.locator("#not-arrived")).to_contain_text("张三")
    expect(not_arrived).to_have_text("1")
    expect(arrived).to_have_text("0")
    expect(board.locator("#arrived")).not_to_contain_text("张三")
    # A mark on this page survives only if the page is not reloaded.
    page.evaluate("window.stillTheSamePage = true")
    url_before = page.url

    board.locator("#not-arrived tr", has_text="张三").get_by_role("button", name="Check in").click()

    # htmx swaps the board in place: the row moves and the counts change.
    expect(board.locator("#arrived")).to_contain_text("张三")
    expect(board.locator("#not-arrived")).not_to_contain_text("张三")
    expect(page.locator("#today-board [data-count=arrived] [data-visits]")).to_have_text("1")
    expect(page.locator("#today-board [data-count=not-arrived] [data-visits]")).to_have_text("0")
    expect(page.locator("#today-board")).to_contain_text("张三 is checked in.")
    assert page.url == url_before
    assert page.evaluate("window.stillTheSamePage === true")
    with tenant_scope(world.org, world.clinic1):
        booked_today.refresh_from_db()
    assert booked_today.status == "arrived"
    assert re.fullmatch(r"\d+", page.locator("#today-board [data-persons]").first.inner_text())
