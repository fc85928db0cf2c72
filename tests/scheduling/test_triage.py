"""Auto-triage (S6): rules, the ranked suggestion, the demo rules and the API (isolation)."""

from __future__ import annotations

from typing import Any

import pytest

from chairside.core.errors import ValidationFailed
from chairside.core.models import AuditEntry
from chairside.core.tenancy import tenant_scope
from chairside.scheduling.models import TriageRule
from chairside.scheduling.selectors import triage_suggest
from chairside.scheduling.services import (
    triage_defaults_install,
    triage_rule_create,
    triage_rule_update,
)
from tests.apiclient import ApiClient, Endpoint
from tests.conftest import World
from tests.core.test_api import is_error
from tests.scheduling.conftest import Sched


@pytest.fixture
def rules(world: World, sched: Sched) -> dict[str, TriageRule]:
    with tenant_scope(world.org, world.clinic1):
        gums = triage_rule_create(
            actor=world.boss,
            name="牙周",
            keywords=["牙龈", "出血", "Gum"],
            symptoms=["bleeding_gums"],
            department="牙周",
            appointment_type=sched.cleaning,
            doctors=[world.doctor, world.boss],
            priority=30,
        )
        pain = triage_rule_create(
            actor=world.boss,
            name="牙痛",
            keywords=["疼", "痛"],
            symptoms=["toothache"],
            department="牙体牙髓",
            appointment_type=sched.checkup,
            priority=10,
        )
        riverside = triage_rule_create(
            actor=world.boss, name="Riverside only", keywords=["出血"], clinic=world.clinic2
        )
        off = triage_rule_create(
            actor=world.boss, name="Off", keywords=["出血"], is_active=False, priority=1
        )
    return {"gums": gums, "pain": pain, "riverside": riverside, "off": off}


def names(suggestions: list[Any]) -> list[str]:
    return [s.rule.name for s in suggestions]


# --- the suggestion -------------------------------------------------------------------


def test_rules_with_more_hits_come_first_then_by_priority(
    world: World, rules: dict[str, TriageRule], in_clinic1: None
) -> None:
    suggestions = triage_suggest(clinic=world.clinic1, text="刷牙时牙龈出血，有点疼")

    assert names(suggestions) == ["牙周", "牙痛"]
    best = suggestions[0]
    assert best.hits == 2
    assert best.matched_keywords == ["牙龈", "出血"]
    assert best.department == "牙周"
    assert best.appointment_type == rules["gums"].appointment_type

    # One hit each: the lower priority number wins.
    tie = triage_suggest(clinic=world.clinic1, text="疼", symptoms=["bleeding_gums"])
    assert names(tie) == ["牙痛", "牙周"]
    assert tie[1].matched_symptoms == ["bleeding_gums"]


def test_keywords_match_whatever_the_case_and_width(
    world: World, rules: dict[str, TriageRule], in_clinic1: None
) -> None:
    assert names(triage_suggest(clinic=world.clinic1, text="my GUMS hurt")) == ["牙周"]
    assert names(triage_suggest(clinic=world.clinic1, text="ＧＵＭ")) == ["牙周"]


def test_only_active_rules_of_the_clinic_and_doctors_working_there(
    world: World, rules: dict[str, TriageRule], in_clinic1: None
) -> None:
    at_downtown = triage_suggest(clinic=world.clinic1, text="出血")
    at_riverside = triage_suggest(clinic=world.clinic2, text="出血")

    assert names(at_downtown) == ["牙周"]
    # Dr. Li works at clinic 1 only; the boss holds an organization-wide role.
    assert set(at_downtown[0].doctors) == {world.doctor, world.boss}
    assert names(at_riverside) == ["牙周", "Riverside only"]
    assert at_riverside[0].doctors == [world.boss]


def test_nothing_to_match_suggests_nothing(
    world: World, rules: dict[str, TriageRule], in_clinic1: None
) -> None:
    assert triage_suggest(clinic=world.clinic1) == []
    assert triage_suggest(clinic=world.clinic1, text="想咨询一下价格", symptoms=["nonsense"]) == []


# --- rules ----------------------------------------------------------------------------


def test_a_rule_needs_known_symptoms_and_something_to_match(
    world: World, sched: Sched, in_clinic1: None
) -> None:
    with pytest.raises(ValidationFailed) as unknown:
        triage_rule_create(actor=world.boss, name="X", symptoms=["headache"])
    assert "symptoms" in unknown.value.fields
    with pytest.raises(ValidationFailed) as empty:
        triage_rule_create(actor=world.boss, name="X", keywords=["  "])
    assert "keywords" in empty.value.fields
    assert not TriageRule.objects.exists()


def test_rule_changes_are_audited(
    world: World, rules: dict[str, TriageRule], in_clinic1: None
) -> None:
    triage_rule_update(actor=world.boss, rule=rules["pain"], keywords=["疼", "痛", "Ache"])

    entry = AuditEntry.objects.filter(entity_type="scheduling.triagerule").latest("id")
    assert entry.action == AuditEntry.Action.UPDATE
    assert "Ache" in entry.after["keywords"]
    assert "Ache" not in entry.before["keywords"]


def test_demo_rules_install_once(world: World, sched: Sched, in_clinic1: None) -> None:
    installed = triage_defaults_install(world.org)

    assert len(installed) == 10
    assert triage_defaults_install(world.org) == []
    cleaning = TriageRule.objects.get(name="洁牙")
    assert cleaning.appointment_type == sched.cleaning  # linked by the type's code
    assert names(triage_suggest(clinic=world.clinic1, text="想洗牙"))[0] == "洁牙"


# --- API ------------------------------------------------------------------------------


@pytest.fixture
def ids(world: World, sched: Sched, rules: dict[str, TriageRule]) -> dict[str, int]:
    return {
        "rule": rules["gums"].pk,
        "type": sched.cleaning.pk,
        "doctor": world.doctor.pk,
        "clinic": world.clinic1.pk,
    }


ENDPOINTS = [
    Endpoint("GET", "/triage/symptoms"),
    Endpoint("POST", "/triage", {"text": "牙龈出血"}),
    Endpoint("GET", "/triage-rules"),
    Endpoint("POST", "/triage-rules", {"name": "New", "keywords": ["新"]}),
    Endpoint("GET", "/triage-rules/{rule}"),
    Endpoint("PATCH", "/triage-rules/{rule}", {"name": "Renamed"}),
    Endpoint("DELETE", "/triage-rules/{rule}"),
]

FOREIGN = [
    *[e for e in ENDPOINTS if "{" in e.path],
    Endpoint(
        "POST", "/triage-rules", {"name": "N", "keywords": ["x"], "appointment_type_id": "{type}"}
    ),
    Endpoint("POST", "/triage-rules", {"name": "N", "keywords": ["x"], "clinic_id": "{clinic}"}),
]


def test_the_api_manages_rules_and_suggests(world: World, ids: dict[str, int]) -> None:
    api = ApiClient(world.boss, clinic=world.clinic1)

    created = api.post(
        "/triage-rules",
        {
            "name": "Ortho",
            "keywords": ["矫正"],
            "symptoms": ["crooked_teeth"],
            "department": "正畸",
            "doctor_ids": [world.doctor.pk],
            "priority": 5,
        },
    )
    assert created.status == 201, created
    assert created.json["doctors"] == [{"id": world.doctor.pk, "name": "Dr. Li"}]

    changed = api.patch(f"/triage-rules/{created.json['id']}", {"clinic_id": world.clinic1.pk})
    assert changed.status == 200
    assert changed.json["clinic_id"] == world.clinic1.pk

    suggested = api.post("/triage", {"text": "想矫正牙齿", "symptoms": ["crooked_teeth"]})
    assert suggested.status == 200
    assert suggested.json[0]["rule_name"] == "Ortho"
    assert suggested.json[0]["hits"] == 2

    bad = api.post("/triage", {"symptoms": ["headache"]})
    assert bad.status == 400

    assert api.delete(f"/triage-rules/{created.json['id']}").status == 204
    assert api.get(f"/triage-rules/{created.json['id']}").status == 404


def test_symptom_labels_follow_the_language(world: World, ids: dict[str, int]) -> None:
    english = ApiClient(world.frontdesk).get("/triage/symptoms").json
    chinese = ApiClient(world.frontdesk, language="zh-hans").get("/triage/symptoms").json

    assert {"code": "toothache", "label": "Toothache"} in english
    assert [s["code"] for s in chinese] == [s["code"] for s in english]


@pytest.mark.parametrize("endpoint", FOREIGN, ids=str)
def test_another_organizations_rules_are_404(
    world: World, ids: dict[str, int], endpoint: Endpoint
) -> None:
    audit_before = AuditEntry.all_tenants.count()

    response = endpoint.call(ApiClient(world.boss_b), ids)

    assert response.status == 404, response
    assert is_error(response.json, "not_found")
    assert AuditEntry.all_tenants.count() == audit_before


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=str)
def test_front_desk_acting_in_another_clinic_is_refused(
    world: World, ids: dict[str, int], endpoint: Endpoint
) -> None:
    response = endpoint.call(ApiClient(world.frontdesk, clinic=world.clinic2), ids)

    assert response.status == 403


@pytest.mark.parametrize("endpoint", [e for e in ENDPOINTS if "rules" in e.path], ids=str)
def test_only_schedule_managers_edit_rules(
    world: World, ids: dict[str, int], endpoint: Endpoint
) -> None:
    response = endpoint.call(ApiClient(world.frontdesk), ids)

    assert response.status == 403


def test_another_organizations_doctors_cannot_be_suggested(
    world: World, ids: dict[str, int]
) -> None:
    body = {"name": "N", "keywords": ["x"], "doctor_ids": [world.doctor.pk]}

    response = ApiClient(world.boss_b).post("/triage-rules", body)

    assert response.status == 404
    assert is_error(response.json, "not_found")
