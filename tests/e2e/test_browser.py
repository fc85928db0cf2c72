"""The console in a real browser (Debian's Chromium through Playwright): sign in, find a
patient with the live search, open the profile, link a family member with the picker."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from chairside.core.tenancy import tenant_scope
from chairside.patients.models import Patient
from chairside.patients.services import patient_create
from tests.conftest import PASSWORD, World

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
]

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _allow_sync_orm_next_to_playwright(monkeypatch: pytest.MonkeyPatch) -> None:
    # Playwright's sync API runs an event loop in this thread; the ORM calls the test makes
    # meanwhile are still plain synchronous calls, so Django's async guard must stand aside.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture
def browser_page() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.skip("Chromium is not installed at /usr/bin/chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        context = browser.new_context(locale="en-US")
        page = context.new_page()
        page.set_default_timeout(15_000)
        try:
            yield page
        finally:
            context.close()
            browser.close()


@pytest.fixture
def patients(world: World) -> dict[str, Patient]:
    with tenant_scope(world.org, world.clinic1):
        return {
            name: patient_create(actor=world.frontdesk, clinic=world.clinic1, name=name, **values)
            for name, values in {
                "张三": {"phone": "13800138000"},
                "李四": {"phone": "13912345678"},
            }.items()
        }


def sign_in(page: Any, base_url: str, username: str) -> None:
    page.goto(f"{base_url}/patients/")
    # Anonymous: the console sends us to the sign-in page, which brings us back afterwards.
    page.fill("input[name=login]", username)
    page.fill("input[name=password]", PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r"/patients/"))


def test_front_desk_finds_a_patient_by_pinyin_initials(
    live_server: Any, world: World, patients: dict[str, Patient], browser_page: Any
) -> None:
    from playwright.sync_api import expect

    page = browser_page
    zhang = patients["张三"]
    sign_in(page, live_server.url, world.frontdesk.username)
    results = page.locator("#patient-results")
    expect(results).to_contain_text("李四")

    page.locator("input[name=q]").first.press_sequentially("zs")

    # htmx swaps the results in place and pushes the search into the address bar.
    expect(results).not_to_contain_text("李四")
    expect(results).to_contain_text("张三")
    expect(page).to_have_url(re.compile(r"[?&]q=zs"))
    results.get_by_role("link", name="张三").click()
    page.wait_for_url(re.compile(rf"/patients/{zhang.pk}/$"))
    header = page.locator(".patient-header")
    expect(header).to_contain_text("张三")
    expect(header).to_contain_text(zhang.record_no)


def test_family_member_is_linked_with_the_picker(
    live_server: Any, world: World, patients: dict[str, Patient], browser_page: Any
) -> None:
    from playwright.sync_api import expect

    page = browser_page
    zhang, li = patients["张三"], patients["李四"]
    sign_in(page, live_server.url, world.frontdesk.username)
    page.goto(f"{live_server.url}/patients/{zhang.pk}/")
    family = page.locator("#family")

    family.locator("input.picker-search").press_sequentially("ls")
    family.locator(".picker-option", has_text="李四").click()
    family.locator("select[name=relation]").select_option("spouse")
    family.get_by_role("button", name="Link").click()

    page.wait_for_url(re.compile(rf"/patients/{zhang.pk}/"))
    expect(page.locator("#family")).to_contain_text("李四")
    with tenant_scope(world.org, world.clinic1):
        li.refresh_from_db()
        zhang.refresh_from_db()
    assert li.family_id is not None
    assert li.family_id == zhang.family_id
