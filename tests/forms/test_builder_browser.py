"""The template builder in a real browser (Chromium through Playwright): the Alpine editor
adds, edits, moves and removes blocks, orders the signers, shows the server's errors at
their block, and saves what the clerk sees."""

from __future__ import annotations

import re
from typing import Any

import pytest

from chairside.core.tenancy import tenant_scope
from chairside.forms.models import FormTemplateVersion
from tests.conftest import World
from tests.e2e.test_browser import (  # the browser fixtures and sign-in of the console tests
    _allow_sync_orm_next_to_playwright,
    browser_page,
    sign_in,
)

__all__ = ["_allow_sync_orm_next_to_playwright", "browser_page"]

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_template_is_built_in_the_browser(
    live_server: Any, world: World, browser_page: Any
) -> None:
    from playwright.sync_api import expect

    page = browser_page
    sign_in(page, live_server.url, world.boss.username)
    page.goto(f"{live_server.url}/forms/templates/new/")
    page.fill("input[name=name]", "术后回访表")
    page.select_option("select[name=kind]", "questionnaire")
    blocks = page.locator(".builder-block")

    page.get_by_role("button", name="+ Paragraph").click()
    blocks.nth(0).locator("textarea[x-model='block.text']").fill("您好，")
    blocks.nth(0).get_by_label("Insert a placeholder").select_option("patient.name")
    page.get_by_role("button", name="+ Field").click()
    field = blocks.nth(1)
    field.locator("input[x-model='block.label']").fill("疼痛程度")
    field.locator("select[x-model='block.kind']").select_option("choice")
    field.locator("input[x-model='block.key']").fill("pain")
    field.locator("textarea[x-model='block.optionsText']").fill("无")  # one option: refused
    page.get_by_role("button", name="+ Heading").click()
    blocks.nth(2).locator("input.block-text").fill("术后回访")
    blocks.nth(2).get_by_role("button", name="Move up").click()
    blocks.nth(1).get_by_role("button", name="Move up").click()  # the heading goes first
    page.get_by_role("button", name="+ Field").click()
    blocks.nth(3).get_by_role("button", name="Remove").click()
    page.get_by_role("button", name="+ Doctor").click()
    page.get_by_role("button", name="Save").click()

    expect(page.locator(".builder-block.has-error")).to_have_count(1)
    expect(blocks.nth(2)).to_contain_text("A single choice needs at least two options.")
    blocks.nth(2).locator("textarea[x-model='block.optionsText']").fill("无\n轻微\n明显")
    page.get_by_role("button", name="Save").click()

    page.wait_for_url(re.compile(r"/forms/templates/$"))
    expect(page.locator("body")).to_contain_text("术后回访表")
    with tenant_scope(world.org):
        version = FormTemplateVersion.objects.get(template__name="术后回访表")
    assert version.blocks == [
        {"type": "heading", "text": "术后回访"},
        {"type": "paragraph", "text": "您好，{{patient.name}}"},
        {
            "type": "field",
            "key": "pain",
            "label": "疼痛程度",
            "kind": "choice",
            "required": False,
            "options": ["无", "轻微", "明显"],
        },
    ]
    assert version.signers == ["patient", "doctor"]
