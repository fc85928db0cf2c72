"""Auto-triage in the portal (S6): what the patient says on the service step puts the
suggested services first (badged, with the department), marks the suggested doctors, lands
in the booking's note, and only ever uses the organization's own rules."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client

from chairside.core.tenancy import tenant_scope
from chairside.scheduling.models import Appointment, AppointmentType, TriageRule
from chairside.scheduling.services import appointment_type_create, triage_rule_create
from tests.portal.conftest import ZHANG_MOBILE, Portal, english, portal_url, sign_in


@pytest.fixture
def zhang_client(client: Client, portal: Portal) -> Client:
    return sign_in(english(client), portal.org, ZHANG_MOBILE)


@pytest.fixture
def pulp_rule(portal: Portal) -> TriageRule:
    """Toothache, in words or ticked, points to a check-up with Dr. Wu in Endodontics."""
    with tenant_scope(portal.org):
        return triage_rule_create(
            actor=portal.world.boss,
            name="Toothache",
            keywords=["牙疼", "cold water"],
            symptoms=["toothache"],
            department="Endodontics",
            appointment_type=portal.checkup,
            doctors=[portal.doctor2],
        )


def html(response: Any) -> str:
    assert response.status_code == 200, response.status_code
    return str(response.content.decode())


def service_names(page: str) -> list[str]:
    return re.findall(r'<span class="service-name">([^<]+?)\s*(?:<|</span>)', page)


def services(client: Client, portal: Portal, **query: Any) -> str:
    data = {"clinic": portal.world.clinic1.pk, **query}
    return html(client.get(portal_url(portal.org, "book"), data))


def test_without_a_complaint_the_services_are_plain(
    zhang_client: Client, portal: Portal, pulp_rule: TriageRule
) -> None:
    page = services(zhang_client, portal)

    assert service_names(page) == ["Cleaning", "Check-up"]
    assert "What is bothering you?" in page
    assert 'name="symptom" value="toothache"' in page
    assert "Suggested" not in page
    assert "could not match" not in page


@pytest.mark.parametrize(
    "query",
    [
        {"complaint": "My tooth hurts with COLD WATER"},
        {"complaint": "左下牙疼三天"},
        {"symptom": "toothache"},
    ],
)
def test_keywords_or_symptoms_put_the_suggested_service_first(
    zhang_client: Client, portal: Portal, pulp_rule: TriageRule, query: dict[str, str]
) -> None:
    page = services(zhang_client, portal, **query)

    assert service_names(page) == ["Check-up", "Cleaning"]
    assert page.count('class="badge badge-suggested"') == 1
    assert "Endodontics" in page
    assert "could not match" not in page


def test_the_suggested_doctor_is_marked_and_the_choices_are_kept(
    zhang_client: Client, portal: Portal, pulp_rule: TriageRule
) -> None:
    page = services(zhang_client, portal, complaint="牙疼", symptom=["toothache", "bogus"])
    link = portal_url(
        portal.org,
        "book",
        clinic=portal.world.clinic1.pk,
        type=portal.checkup.pk,
        complaint="牙疼",
        symptom="toothache",
    )
    assert link.replace("&", "&amp;") in page  # the ticked symptom travels, the bogus one not
    assert 'value="toothache" checked' in page

    doctors = html(zhang_client.get(link))
    titles = re.findall(r'class="option-title">(.*?)</span>\s*<span class="option-sub', doctors)
    _any_doctor, first, second = titles
    assert first.startswith("Dr. Wu")
    assert "Suggested" in first
    assert second.startswith("Dr. Li")
    assert "Suggested" not in second


def test_unknown_words_show_the_plain_list_with_a_note(
    zhang_client: Client, portal: Portal, pulp_rule: TriageRule
) -> None:
    page = services(zhang_client, portal, complaint="I want to ask about prices")

    assert service_names(page) == ["Cleaning", "Check-up"]
    assert "Suggested" not in page
    assert "We could not match this to a service" in page


def test_the_complaint_lands_in_the_note(
    zhang_client: Client, portal: Portal, pulp_rule: TriageRule
) -> None:
    complaint = "左下牙疼 " + "x" * 300
    query = {
        "clinic": portal.world.clinic1.pk,
        "type": portal.checkup.pk,
        "doctor": "any",
        "complaint": complaint,
        "symptom": "toothache",
    }
    confirm = html(
        zhang_client.get(portal_url(portal.org, "book_confirm", **query, start="2026-09-14T10:00"))
    )
    assert "左下牙疼" in confirm
    assert 'name="symptom" value="toothache"' in confirm

    done = zhang_client.post(
        portal_url(portal.org, "book_confirm"),
        {**query, "start": "2026-09-14T10:00", "patient": portal.zhang.pk, "note": "怕疼"},
    )

    assert done.status_code == 302
    [appointment] = Appointment.all_tenants.all()
    assert appointment.note.startswith("Complaint: 左下牙疼 xxx")
    assert len(appointment.note) == 200


def test_a_short_complaint_and_the_note_are_both_kept(zhang_client: Client, portal: Portal) -> None:
    query = {
        "clinic": portal.world.clinic1.pk,
        "type": portal.checkup.pk,
        "doctor": "any",
        "complaint": "牙疼",
    }
    zhang_client.post(
        portal_url(portal.org, "book_confirm"),
        {**query, "start": "2026-09-14T10:00", "patient": portal.zhang.pk, "note": "怕疼"},
    )

    [appointment] = Appointment.all_tenants.all()
    assert appointment.note == "Complaint: 牙疼\n怕疼"


def test_rules_of_another_organization_or_clinic_never_apply(
    zhang_client: Client, portal: Portal
) -> None:
    world = portal.world
    with tenant_scope(world.org_b):
        type_b: AppointmentType = appointment_type_create(
            actor=world.boss_b, code="b", name="B-only"
        )
        triage_rule_create(
            actor=world.boss_b,
            name="B toothache",
            keywords=["牙疼"],
            symptoms=["toothache"],
            department="B department",
            appointment_type=type_b,
        )
    with tenant_scope(world.org):
        triage_rule_create(
            actor=world.boss,
            name="Riverside only",
            keywords=["牙疼"],
            appointment_type=portal.cleaning,
            clinic=world.clinic2,
        )

    page = services(zhang_client, portal, complaint="牙疼", symptom="toothache")

    assert service_names(page) == ["Cleaning", "Check-up"]
    assert "B-only" not in page
    assert "B department" not in page
    assert "Suggested" not in page
    assert "We could not match this to a service" in page
