"""Auto-triage at the front desk (S6): the hint under the booking note shows the clinic's
suggestions for what the clerk typed, nothing for nothing, never another organization's or
clinic's rules, and costs the same few queries however many rules match."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from chairside.core.models import Staff
from chairside.core.services import staff_create
from chairside.core.tenancy import tenant_scope
from chairside.scheduling.models import TriageRule
from chairside.scheduling.services import triage_rule_create
from tests.conftest import PASSWORD, World
from tests.scheduling.conftest import Sched

HTMX = {"HTTP_HX_REQUEST": "true"}


def signed_in(staff: Staff) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(staff)
    return client


def hint(client: Client, **query: Any) -> str:
    response = client.get(reverse("scheduling:triage"), query, **HTMX)
    assert response.status_code == 200, response.status_code
    return str(response.content.decode())


def rule(world: World, **values: Any) -> TriageRule:
    with tenant_scope(world.org):
        fields: dict[str, Any] = {"actor": world.boss, "name": "rule", **values}
        return triage_rule_create(**fields)


@pytest.fixture
def pulp(world: World, sched: Sched) -> TriageRule:
    return rule(
        world,
        name="Toothache",
        keywords=["牙疼", "cold"],
        department="Endodontics",
        appointment_type=sched.checkup,
        doctors=[world.doctor],
    )


def test_the_hint_shows_the_suggestions_for_the_text(
    world: World, sched: Sched, pulp: TriageRule
) -> None:
    page = hint(signed_in(world.frontdesk), note="左下牙疼, worse with COLD drinks")

    assert "Endodontics" in page
    assert "Check-up" in page
    assert "Dr. Li" in page
    assert f'data-type="{sched.checkup.pk}"' in page
    assert f'data-doctor="{world.doctor.pk}"' in page
    assert "Use</button>" in page


def test_empty_or_unmatched_text_gives_an_empty_hint(world: World, pulp: TriageRule) -> None:
    desk = signed_in(world.frontdesk)

    assert hint(desk).strip() == ""
    assert hint(desk, note="   ").strip() == ""
    assert hint(desk, note="wants an invoice").strip() == ""


def test_a_doctor_not_working_at_the_clinic_is_not_suggested(world: World, sched: Sched) -> None:
    elsewhere = staff_create(
        organization=world.org,
        username="doc2",
        display_name="Dr. Far",
        password=PASSWORD,
        roles=[("doctor", world.clinic2)],
    )
    rule(world, keywords=["牙疼"], appointment_type=sched.checkup, doctors=[elsewhere])

    page = hint(signed_in(world.frontdesk), note="牙疼")

    assert "Check-up" in page
    assert "Dr. Far" not in page
    assert 'data-doctor=""' in page


def test_the_booking_drawer_asks_for_the_hint(world: World, sched: Sched) -> None:
    page = signed_in(world.frontdesk).get(reverse("scheduling:new"), **HTMX)

    body = page.content.decode()
    assert f'hx-get="{reverse("scheduling:triage")}"' in body
    assert 'hx-trigger="keyup changed delay:400ms"' in body
    assert 'id="book-triage"' in body


def test_other_organizations_and_clinics_rules_are_not_seen(world: World, sched: Sched) -> None:
    with tenant_scope(world.org_b):
        triage_rule_create(
            actor=world.boss_b,
            name="B",
            keywords=["牙疼"],
            department="B department",
            appointment_type=sched.type_b,
        )
    rule(world, keywords=["牙疼"], department="Riverside only", clinic=world.clinic2)
    desk_b = staff_create(
        organization=world.org_b,
        username="desk_b",
        display_name="Desk B",
        password=PASSWORD,
        roles=[("front_desk", world.clinic_b)],
    )

    assert hint(signed_in(world.frontdesk), note="牙疼").strip() == ""
    page_b = hint(signed_in(desk_b), note="牙疼")
    assert "B department" in page_b
    assert "Riverside only" not in page_b


def test_the_hint_needs_the_booking_permission(world: World, pulp: TriageRule) -> None:
    response = signed_in(world.doctor).get(reverse("scheduling:triage"), {"note": "牙疼"})

    assert response.status_code == 403


def test_query_count_is_flat(world: World, sched: Sched) -> None:
    desk = signed_in(world.frontdesk)
    rule(world, keywords=["牙疼"], appointment_type=sched.checkup, doctors=[world.doctor])
    hint(desk, note="牙疼")  # warm up the session and caches
    with CaptureQueriesContext(connection) as one:
        hint(desk, note="牙疼")
    for n in range(5):
        rule(
            world,
            name=f"more {n}",
            keywords=["牙疼"],
            department=f"Dept {n}",
            appointment_type=sched.cleaning,
            doctors=[world.doctor],
        )
    with CaptureQueriesContext(connection) as many:
        page = hint(desk, note="牙疼")

    assert "Dept 0" in page
    assert len(many) == len(one)
