"""Failed sign-ins racing each other on PostgreSQL still lock the account."""

from __future__ import annotations

import pytest

from chairside.core.models import Staff
from chairside.core.services import MAX_FAILED_LOGINS, staff_sign_in
from tests.concurrency import run_concurrently
from tests.conftest import World

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_simultaneous_wrong_passwords_are_all_counted(world: World) -> None:
    def wrong(i: int) -> None:
        staff_sign_in(login="frontdesk", password=f"wrong-{i}")

    run_concurrently(wrong, MAX_FAILED_LOGINS)

    staff = Staff.all_tenants.get(pk=world.frontdesk.pk)
    assert staff.is_locked(), "every failure must count, none lost to a race"
