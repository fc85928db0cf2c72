"""Property-based checks of the API against its own OpenAPI document (schemathesis).

Every operation is called with generated valid and invalid input, as the boss of a small
chain with a few patients, through the in-process WSGI application. No answer may be a
server error, and every answer must have a status and a body the document declares.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date

import pytest
import schemathesis
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from chairside.core.api_auth import CLINIC_HEADER
from chairside.core.resident_id import make_resident_id
from chairside.core.services import api_token_issue
from chairside.core.tenancy import tenant_scope
from chairside.patients.models import FamilyRelation
from chairside.patients.services import (
    family_link,
    patient_create,
    patient_tag_add,
    segment_save,
    tag_create,
)
from tests.conftest import World

pytestmark = pytest.mark.schemathesis

# Loading the document needs no database: the OpenAPI endpoint is public and reads nothing.
schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", WSGIHandler())

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@pytest.fixture(autouse=True)
def _keep_the_test_connection_open() -> Iterator[None]:
    # The raw WSGI handler fires request_started/finished, whose close_old_connections would
    # close PostgreSQL's connection in the middle of the test's transaction; Django's own
    # test client disconnects it the same way.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


@dataclass
class Chain:
    headers: dict[str, str]
    # Existing ids per kind, for steering generated ids towards real objects.
    ids: dict[str, list[int]]

    def steer(self, case: schemathesis.Case) -> None:
        """Point three in four generated ids at existing objects (random ids are nearly
        always 404 and would leave the handlers' happy paths untested)."""
        for container in (case.path_parameters, case.query, case.body):
            if isinstance(container, dict):
                for name, value in container.items():
                    kind = ID_KINDS.get(name)
                    if kind and isinstance(value, int) and value % 4:
                        container[name] = self.ids[kind][value % len(self.ids[kind])]
        clinic = (case.headers or {}).get(CLINIC_HEADER)
        if isinstance(clinic, int | str) and str(clinic).isdigit() and int(clinic) % 4:
            clinics = self.ids["clinic"]
            case.headers[CLINIC_HEADER] = str(clinics[int(clinic) % len(clinics)])  # type: ignore[index]


ID_KINDS = {
    "patient_id": "patient",
    "referrer_id": "patient",
    "relative_id": "patient",
    "tag_id": "tag",
    "tag": "tag",
    "segment_id": "segment",
    "segment": "segment",
    "clinic_id": "clinic",
    "clinic": "clinic",
    "staff_id": "staff",
}


@pytest.fixture
def chain(world: World) -> Chain:
    """A few patients (a family, a referral, tags and a segment) and the boss's token."""
    with tenant_scope(world.org, world.clinic1):
        head = patient_create(
            actor=world.boss,
            clinic=world.clinic1,
            name="张三",
            phone="13800138000",
            id_number=make_resident_id("110101", date(1980, 5, 1), 451),
        )
        child = patient_create(actor=world.boss, clinic=world.clinic1, name="张小明")
        referred = patient_create(
            actor=world.boss, clinic=world.clinic2, name="Li Si", referrer_id=head.pk
        )
        family_link(
            actor=world.boss,
            clinic=world.clinic1,
            patient=head,
            relative=child,
            relation=FamilyRelation.CHILD,
        )
        tag = tag_create(actor=world.boss, name="VIP")
        patient_tag_add(actor=world.boss, clinic=world.clinic1, patient=head, tag=tag)
        segment = segment_save(actor=world.boss, name="Adults", rules={"age_min": 18})
        key, _token = api_token_issue(staff=world.boss)
    return Chain(
        headers={"Authorization": f"Bearer {key}"},
        ids={
            "patient": [head.pk, child.pk, referred.pk],
            "tag": [tag.pk],
            "segment": [segment.pk],
            "clinic": [world.clinic1.pk, world.clinic2.pk],
            "staff": [world.boss.pk, world.frontdesk.pk, world.doctor.pk],
        },
    )


@schema.parametrize()
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_api_answers_as_documented(case: schemathesis.Case, chain: Chain) -> None:
    chain.steer(case)
    case.call_and_validate(headers=chain.headers, checks=CHECKS)
