"""Access: which clinics a staff member may act in, and with which permissions there."""

from __future__ import annotations

import pytest

from chairside.core.access import build_access
from chairside.core.errors import PermissionDenied
from chairside.core.models import Clinic, Staff
from chairside.core.permissions import DEFAULT_ROLES, PERMISSIONS
from chairside.core.services import clinic_create, staff_create
from chairside.core.tenancy import Tenant
from tests.conftest import PASSWORD, World


def test_boss_acts_in_every_clinic_but_not_the_hq_office_with_every_permission(
    world: World,
) -> None:
    access = build_access(world.boss)

    assert access is not None
    assert access.clinics == (world.clinic1, world.clinic2)
    assert access.clinic == world.clinic1  # the first clinic when none is chosen
    assert access.permissions == frozenset(PERMISSIONS)
    assert access.organization == world.org
    assert access.tenant == Tenant(world.org.pk, world.clinic1.pk)


def test_boss_can_switch_to_the_second_clinic(world: World) -> None:
    access = build_access(world.boss, world.clinic2.pk)

    assert access is not None
    assert access.clinic == world.clinic2
    assert access.tenant == Tenant(world.org.pk, world.clinic2.pk)


def test_nobody_acts_in_the_hq_office_as_a_clinic(world: World) -> None:
    assert build_access(world.boss, world.hq.pk) is None


def test_front_desk_works_only_in_their_clinic(world: World) -> None:
    access = build_access(world.frontdesk)

    assert access is not None
    assert access.clinics == (world.clinic1,)
    assert access.can("patients.create")
    assert build_access(world.frontdesk, world.clinic2.pk) is None


def test_doctor_cannot_manage_tags_or_register_patients(world: World) -> None:
    access = build_access(world.doctor)

    assert access is not None
    assert access.can("patients.view")
    assert not access.can("tags.manage")
    assert not access.can("patients.create")
    with pytest.raises(PermissionDenied) as excinfo:
        access.require("tags.manage")
    assert excinfo.value.status == 403


def test_permissions_follow_the_clinic_acted_in(world: World) -> None:
    # Given someone at the front desk of clinic 1 who also assists as a nurse in clinic 2
    staff = staff_create(
        organization=world.org,
        username="wang",
        display_name="Wang",
        password=PASSWORD,
        roles=[("front_desk", world.clinic1), ("nurse", world.clinic2)],
    )

    # When they act in each clinic
    in_clinic1 = build_access(staff, world.clinic1.pk)
    in_clinic2 = build_access(staff, world.clinic2.pk)

    # Then each clinic grants only what their role there allows
    assert in_clinic1 is not None
    assert in_clinic2 is not None
    assert in_clinic1.clinics == in_clinic2.clinics == (world.clinic1, world.clinic2)
    assert in_clinic1.permissions == frozenset(DEFAULT_ROLES["front_desk"][2])
    assert in_clinic2.permissions == frozenset(DEFAULT_ROLES["nurse"][2])
    assert not in_clinic2.can("patients.create")


def test_a_deactivated_staff_member_has_no_access(world: World) -> None:
    Staff.all_tenants.filter(pk=world.frontdesk.pk).update(is_active=False)
    world.frontdesk.refresh_from_db()

    assert build_access(world.frontdesk) is None
    assert build_access(world.frontdesk, world.clinic1.pk) is None


def test_staff_without_any_role_have_no_access(world: World) -> None:
    staff = staff_create(
        organization=world.org, username="new", display_name="New", password=PASSWORD
    )
    assert build_access(staff) is None


def test_staff_of_another_organization_cannot_get_access_to_its_clinics(world: World) -> None:
    for clinic in (world.clinic1, world.clinic2, world.hq):
        assert build_access(world.boss_b, clinic.pk) is None

    own = build_access(world.boss_b)
    assert own is not None
    assert own.clinics == (world.clinic_b,)
    assert own.organization == world.org_b


def test_a_closed_clinic_is_not_offered(world: World) -> None:
    Clinic.all_tenants.filter(pk=world.clinic2.pk).update(is_active=False)

    access = build_access(world.boss)

    assert access is not None
    assert access.clinics == (world.clinic1,)
    assert build_access(world.boss, world.clinic2.pk) is None


def test_an_hq_role_covers_clinics_opened_later(world: World) -> None:
    clinic3 = clinic_create(organization=world.org, code="c3", name="Airport Clinic")

    access = build_access(world.boss, clinic3.pk)

    assert access is not None
    assert access.clinic == clinic3
    assert access.can("patients.archive")
