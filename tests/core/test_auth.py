"""Staff sign-in: password hashing, username or mobile, lock-out, TOTP and API tokens."""

from __future__ import annotations

import contextlib
import hashlib
from datetime import timedelta

import pyotp
import pytest
from django.contrib.auth import authenticate
from django.contrib.auth.hashers import make_password
from django.db import connection
from django.utils import timezone

import chairside.settings as project_settings
from chairside.core.models import ApiToken, Staff
from chairside.core.services import (
    MAX_FAILED_LOGINS,
    LockedOut,
    SignInFailed,
    api_token_issue,
    api_token_resolve,
    staff_create,
    staff_sign_in,
    staff_totp_begin,
    staff_totp_confirm,
)
from tests.conftest import PASSWORD, World


def _fresh(staff: Staff) -> Staff:
    return Staff.all_tenants.get(pk=staff.pk)


def test_argon2_hashes_new_passwords(world: World, settings: object) -> None:
    # The test suite swaps in a fast hasher; production settings must put Argon2 first.
    assert project_settings.PASSWORD_HASHERS[0].endswith("Argon2PasswordHasher")
    settings.PASSWORD_HASHERS = project_settings.PASSWORD_HASHERS  # type: ignore[attr-defined]

    staff = staff_create(
        organization=world.org, username="argon", display_name="Argon", password=PASSWORD
    )

    assert _fresh(staff).password.startswith("argon2")
    assert staff_sign_in(login="argon", password=PASSWORD).pk == staff.pk


def test_sign_in_by_username(world: World) -> None:
    assert staff_sign_in(login="frontdesk", password=PASSWORD) == world.frontdesk
    # What people type often has stray spaces around it
    assert staff_sign_in(login="  frontdesk ", password=PASSWORD) == world.frontdesk


def test_sign_in_by_mobile(world: World) -> None:
    assert staff_sign_in(login="13800000002", password=PASSWORD) == world.frontdesk


def test_sign_in_by_mobile_as_people_write_it(world: World) -> None:
    assert staff_sign_in(login="+86 138-0000-0002", password=PASSWORD) == world.frontdesk


def test_successful_sign_in_records_the_time(world: World) -> None:
    staff_sign_in(login="doctor", password=PASSWORD)
    assert _fresh(world.doctor).last_login is not None


@pytest.mark.parametrize("login", ["nobody", "", "13999999999"])
def test_unknown_login_fails_like_a_wrong_password(world: World, login: str) -> None:
    with pytest.raises(SignInFailed) as excinfo:
        staff_sign_in(login=login, password=PASSWORD)
    assert excinfo.value.status == 401


def test_deactivated_staff_cannot_sign_in(world: World) -> None:
    Staff.all_tenants.filter(pk=world.doctor.pk).update(is_active=False)
    with pytest.raises(SignInFailed):
        staff_sign_in(login="doctor", password=PASSWORD)


def test_wrong_passwords_lock_the_account_until_the_lock_passes(world: World) -> None:
    # Given four wrong passwords, each counted
    for attempt in range(1, MAX_FAILED_LOGINS):
        with pytest.raises(SignInFailed):
            staff_sign_in(login="frontdesk", password="wrong")
        assert _fresh(world.frontdesk).failed_logins == attempt
    assert not _fresh(world.frontdesk).is_locked()

    # When the fifth is wrong too
    with pytest.raises(SignInFailed):
        staff_sign_in(login="frontdesk", password="wrong")

    # Then the account is locked, even against the right password
    assert _fresh(world.frontdesk).is_locked()
    with pytest.raises(LockedOut) as excinfo:
        staff_sign_in(login="frontdesk", password=PASSWORD)
    assert excinfo.value.status == 403

    # And when the lock has passed the right password works and the count starts again
    Staff.all_tenants.filter(pk=world.frontdesk.pk).update(
        locked_until=timezone.now() - timedelta(seconds=1)
    )
    assert staff_sign_in(login="frontdesk", password=PASSWORD) == world.frontdesk
    fresh = _fresh(world.frontdesk)
    assert fresh.failed_logins == 0
    assert fresh.locked_until is None


def test_a_successful_sign_in_clears_earlier_failures(world: World) -> None:
    for _ in range(MAX_FAILED_LOGINS - 1):
        with pytest.raises(SignInFailed):
            staff_sign_in(login="doctor", password="wrong")

    staff_sign_in(login="doctor", password=PASSWORD)

    # So a later single mistake does not lock the account
    with pytest.raises(SignInFailed):
        staff_sign_in(login="doctor", password="wrong")
    assert not _fresh(world.doctor).is_locked()


def test_lock_out_counts_mobile_and_username_attempts_together(world: World) -> None:
    for login in ["frontdesk", "13800000002"] * 3:
        with contextlib.suppress(SignInFailed, LockedOut):
            staff_sign_in(login=login, password="wrong")
    assert _fresh(world.frontdesk).is_locked()


def test_django_authenticate_uses_the_same_rules(world: World) -> None:
    assert authenticate(None, username="boss", password=PASSWORD) == world.boss
    with pytest.raises(SignInFailed):
        authenticate(None, username="boss", password="wrong")


def _enable_totp(staff: Staff) -> pyotp.TOTP:
    uri = staff_totp_begin(staff=staff)
    assert uri.startswith("otpauth://totp/")
    totp = pyotp.TOTP(_fresh(staff).totp_secret)
    staff_totp_confirm(staff=staff, code=totp.now())
    return totp


def test_totp_is_required_once_enabled(world: World) -> None:
    # Given the boss has set up an authenticator app
    totp = _enable_totp(world.boss)
    assert _fresh(world.boss).totp_enabled

    # Then the password alone is not enough, and the error points at the code field
    with pytest.raises(SignInFailed) as excinfo:
        staff_sign_in(login="boss", password=PASSWORD)
    assert "otp" in excinfo.value.fields
    wrong = "000000" if totp.now() != "000000" else "111111"
    with pytest.raises(SignInFailed) as excinfo:
        staff_sign_in(login="boss", password=PASSWORD, otp=wrong)
    assert "otp" in excinfo.value.fields

    # And the current code lets them in
    assert staff_sign_in(login="boss", password=PASSWORD, otp=totp.now()) == world.boss


def test_totp_code_does_not_rescue_a_wrong_password(world: World) -> None:
    totp = _enable_totp(world.boss)
    with pytest.raises(SignInFailed) as excinfo:
        staff_sign_in(login="boss", password="wrong", otp=totp.now())
    assert "otp" not in excinfo.value.fields


def test_totp_is_not_enabled_by_a_wrong_confirmation_code(world: World) -> None:
    staff_totp_begin(staff=world.doctor)
    right = pyotp.TOTP(_fresh(world.doctor).totp_secret).now()
    wrong = "000000" if right != "000000" else "111111"

    with pytest.raises(SignInFailed):
        staff_totp_confirm(staff=world.doctor, code=wrong)

    assert not _fresh(world.doctor).totp_enabled
    assert staff_sign_in(login="doctor", password=PASSWORD) == world.doctor


def test_totp_secret_is_stored_encrypted(world: World) -> None:
    staff_totp_begin(staff=world.boss)
    secret = _fresh(world.boss).totp_secret

    with connection.cursor() as cursor:
        cursor.execute("SELECT totp_secret FROM core_staff WHERE id = %s", [world.boss.pk])
        (raw,) = cursor.fetchone()

    assert len(secret) >= 16
    assert secret not in raw


def test_an_issued_api_token_resolves_to_its_staff_member(world: World) -> None:
    key, token = api_token_issue(staff=world.frontdesk)

    assert api_token_resolve(key=key) == world.frontdesk
    assert token.organization_id == world.org.pk
    assert token.expires_at > timezone.now() + timedelta(days=29)


def test_only_a_hash_of_the_api_token_is_stored(world: World) -> None:
    key, token = api_token_issue(staff=world.frontdesk)

    stored = ApiToken.all_tenants.get(pk=token.pk)
    assert stored.key_hash == hashlib.sha256(key.encode()).hexdigest()
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM core_apitoken WHERE id = %s", [token.pk])
        row = cursor.fetchone()
    assert all(key not in str(value) for value in row)


def test_an_expired_api_token_does_not_resolve(world: World) -> None:
    key, token = api_token_issue(staff=world.frontdesk)
    ApiToken.all_tenants.filter(pk=token.pk).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )

    assert api_token_resolve(key=key) is None


def test_an_api_token_of_a_deactivated_staff_member_does_not_resolve(world: World) -> None:
    key, _token = api_token_issue(staff=world.frontdesk)
    Staff.all_tenants.filter(pk=world.frontdesk.pk).update(is_active=False)

    assert api_token_resolve(key=key) is None


@pytest.mark.parametrize("key", ["", "not-a-token", "a" * 43])
def test_a_made_up_api_token_does_not_resolve(world: World, key: str) -> None:
    api_token_issue(staff=world.frontdesk)
    assert api_token_resolve(key=key) is None


def test_each_api_token_is_different(world: World) -> None:
    keys = {api_token_issue(staff=world.boss)[0] for _ in range(5)}
    assert len(keys) == 5


def test_bulk_loaders_may_pass_a_precomputed_hash(world: World) -> None:
    password_hash = make_password("chairside-demo")
    staff_create(
        organization=world.org, username="bulk", display_name="Bulk", password_hash=password_hash
    )
    assert staff_sign_in(login="bulk", password="chairside-demo").username == "bulk"
