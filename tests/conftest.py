"""Shared fixtures: two organizations with named staff, as every isolation test needs.

Organization A ("Smile Chain") has headquarters and two clinics; organization B is another
tenant whose objects A's staff must never reach.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from django.db import connection
from hypothesis import settings as hypothesis_settings

from chairside.core.models import Clinic, Organization, Staff
from chairside.core.services import clinic_create, organization_create, staff_create
from chairside.core.tenancy import Tenant, tenant_scope

PASSWORD = "correct-horse-42"

# No per-example deadline: on a loaded 2-core CI machine a slow example is not a failure.
hypothesis_settings.register_profile("chairside", deadline=None)
hypothesis_settings.load_profile("chairside")


@dataclass
class World:
    org: Organization
    hq: Clinic
    clinic1: Clinic
    clinic2: Clinic
    boss: Staff
    frontdesk: Staff  # front desk of clinic 1 only
    doctor: Staff  # doctor of clinic 1 only
    org_b: Organization
    clinic_b: Clinic
    boss_b: Staff


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings: pytest.FixtureRequest) -> None:
    # Argon2 stays the production hasher (tested in tests/core); tests need speed.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # type: ignore[attr-defined]


@pytest.fixture
def world(db: None) -> World:
    org = organization_create(slug="smile", name="Smile Chain")
    hq = clinic_create(organization=org, code="hq", name="HQ", kind=Clinic.Kind.HEADQUARTERS)
    clinic1 = clinic_create(organization=org, code="c1", name="Downtown Clinic")
    clinic2 = clinic_create(organization=org, code="c2", name="Riverside Clinic")
    boss = staff_create(
        organization=org,
        username="boss",
        display_name="Boss",
        password=PASSWORD,
        phone="13800000001",
        roles=[("boss", None)],
    )
    frontdesk = staff_create(
        organization=org,
        username="frontdesk",
        display_name="Front Desk",
        password=PASSWORD,
        phone="13800000002",
        roles=[("front_desk", clinic1)],
    )
    doctor = staff_create(
        organization=org,
        username="doctor",
        display_name="Dr. Li",
        password=PASSWORD,
        roles=[("doctor", clinic1)],
    )
    org_b = organization_create(slug="other", name="Other Chain")
    clinic_b = clinic_create(organization=org_b, code="b1", name="Other Clinic")
    boss_b = staff_create(
        organization=org_b,
        username="boss-b",
        display_name="Boss B",
        password=PASSWORD,
        roles=[("boss", None)],
    )
    return World(org, hq, clinic1, clinic2, boss, frontdesk, doctor, org_b, clinic_b, boss_b)


@pytest.fixture
def in_org_a(world: World) -> Iterator[Tenant]:
    """Run the test body as organization A, acting in clinic 1."""
    with tenant_scope(world.org, world.clinic1) as tenant:
        yield tenant


def is_postgres() -> bool:
    return connection.vendor == "postgresql"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    from django.conf import settings

    if "postgresql" in settings.DATABASES["default"]["ENGINE"]:
        return
    skip = pytest.mark.skip(
        reason="needs PostgreSQL (run with CHAIRSIDE_DATABASE_URL=postgres://...)"
    )
    for item in items:
        if "postgres" in item.keywords:
            item.add_marker(skip)
