"""Writes of the core app: organizations with their default roles, staff, sign-in, tokens."""

from __future__ import annotations

import contextlib
from datetime import timedelta

import pyotp
from django.contrib.auth.hashers import check_password, make_password
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from chairside.core.errors import DomainError, ErrorCode
from chairside.core.models import ApiToken, Clinic, Organization, Role, Staff, StaffRole
from chairside.core.permissions import DEFAULT_ROLES
from chairside.core.phone import normalize_mobile
from chairside.core.tenancy import tenant_scope

MAX_FAILED_LOGINS = 5
LOCK_OUT_FOR = timedelta(minutes=15)


class SignInFailed(DomainError):
    status = 401
    code = ErrorCode.NOT_AUTHENTICATED


class LockedOut(DomainError):
    status = 403
    code = ErrorCode.LOCKED_OUT


@transaction.atomic
def organization_create(*, slug: str, name: str) -> Organization:
    """A new chain with the default roles, ready for clinics and staff."""
    organization = Organization.objects.create(slug=slug, name=name)
    with tenant_scope(organization):
        for code, (role_name, spans, permissions) in DEFAULT_ROLES.items():
            Role.objects.create(
                organization=organization,
                code=code,
                name=str(role_name),
                spans_organization=spans,
                permissions=permissions,
            )
    return organization


def clinic_create(
    *,
    organization: Organization,
    code: str,
    name: str,
    kind: str = Clinic.Kind.CLINIC,
    address: str = "",
    phone: str = "",
) -> Clinic:
    with tenant_scope(organization):
        return Clinic.objects.create(
            organization=organization,
            code=code,
            name=name,
            kind=kind,
            address=address,
            phone=phone,
        )


@transaction.atomic
def staff_create(
    *,
    organization: Organization,
    username: str,
    display_name: str,
    password: str | None = None,
    password_hash: str | None = None,
    phone: str | None = None,
    title: str = "",
    roles: list[tuple[str, Clinic | None]] = (),  # type: ignore[assignment]
) -> Staff:
    """A staff member with roles, each granted in one clinic or (None) organization-wide.

    `password_hash` lets bulk loaders hash once for many accounts.
    """
    staff = Staff(
        organization=organization,
        username=username,
        display_name=display_name,
        phone=normalize_mobile(phone) if phone else None,
        title=title,
        password=password_hash or make_password(password),
    )
    staff.save()
    with tenant_scope(organization):
        for role_code, clinic in roles:
            StaffRole.objects.create(
                organization=organization,
                staff=staff,
                role=Role.objects.get(code=role_code),
                clinic=clinic,
            )
    return staff


def staff_sign_in(*, login: str, password: str, otp: str | None = None) -> Staff:
    """Check a sign-in by username or mobile (and the TOTP code when the account has one)."""
    staff = staff_check_password(login=login, password=password)
    if staff.totp_enabled:
        staff_check_second_factor(staff=staff, otp=otp)
    else:
        staff_signed_in(staff=staff)
    return staff


def staff_check_password(*, login: str, password: str) -> Staff:
    """Step one of a sign-in; lock the account after repeated failures.

    The caller must then check the second factor of an account with `totp_enabled`.
    """
    login = login.strip()
    match = Q(username=login) | Q(phone=login)
    # Staff type their mobile the way they write it ("+86 138-0013-8000"); phones are stored
    # in the 11-digit form.
    with contextlib.suppress(DomainError):
        match |= Q(phone=normalize_mobile(login))
    staff = Staff.all_tenants.filter(match, is_active=True).first()
    # Hash anyway when the user is unknown, so timing does not reveal which usernames exist.
    if staff is None:
        make_password(password)
        raise SignInFailed(_("Wrong username or password."))
    _refuse_if_locked(staff)
    if not check_password(password, staff.password):
        _record_failure(staff)
        raise SignInFailed(_("Wrong username or password."))
    return staff


def staff_check_second_factor(*, staff: Staff, otp: str | None) -> None:
    """Step two for accounts with an authenticator app; failures count toward the lock-out."""
    _refuse_if_locked(staff)
    if not (otp and pyotp.TOTP(staff.totp_secret).verify(str(otp), valid_window=1)):
        _record_failure(staff)
        raise SignInFailed(_("The verification code is wrong."), field="otp")
    staff_signed_in(staff=staff)


def _refuse_if_locked(staff: Staff) -> None:
    staff.refresh_from_db(fields=["locked_until"])
    if staff.is_locked():
        raise LockedOut(
            _("Too many failed attempts. Try again after %(time)s.")
            % {"time": timezone.localtime(staff.locked_until).strftime("%H:%M")}
        )


def staff_signed_in(*, staff: Staff) -> None:
    """A completed sign-in clears the failure count."""
    Staff.all_tenants.filter(pk=staff.pk).update(
        failed_logins=0, locked_until=None, last_login=timezone.now()
    )


def _record_failure(staff: Staff) -> None:
    with transaction.atomic():
        locked = Staff.all_tenants.select_for_update().get(pk=staff.pk)
        locked.failed_logins += 1
        if locked.failed_logins >= MAX_FAILED_LOGINS:
            locked.locked_until = timezone.now() + LOCK_OUT_FOR
            locked.failed_logins = 0
        locked.save(update_fields=["failed_logins", "locked_until"])


def staff_totp_begin(*, staff: Staff) -> str:
    """Start enrolment of an authenticator app; returns the provisioning URI for a QR code."""
    staff.totp_secret = pyotp.random_base32()
    staff.totp_enabled = False
    staff.save(update_fields=["totp_secret", "totp_enabled"])
    return pyotp.TOTP(staff.totp_secret).provisioning_uri(
        name=staff.username, issuer_name="Chairside"
    )


def staff_totp_confirm(*, staff: Staff, code: str) -> None:
    if not staff.totp_secret or not pyotp.TOTP(staff.totp_secret).verify(code, valid_window=1):
        raise SignInFailed(_("The verification code is wrong."), field="otp")
    staff.totp_enabled = True
    staff.save(update_fields=["totp_enabled"])


def api_token_issue(*, staff: Staff) -> tuple[str, ApiToken]:
    key = ApiToken.new_key()
    token = ApiToken.all_tenants.create(
        organization_id=staff.organization_id,
        staff=staff,
        key_hash=ApiToken.hash_key(key),
        expires_at=timezone.now() + ApiToken.LIFETIME,
    )
    return key, token


def api_token_resolve(*, key: str) -> Staff | None:
    token = (
        ApiToken.all_tenants.select_related("staff")
        .filter(key_hash=ApiToken.hash_key(key), expires_at__gt=timezone.now())
        .first()
    )
    if token is None or not token.staff.is_active:
        return None
    now = timezone.now()
    # Touch at most once a minute: a busy client should not write on every request.
    if token.last_used_at is None or now - token.last_used_at > timedelta(minutes=1):
        ApiToken.all_tenants.filter(pk=token.pk).update(last_used_at=now)
    return token.staff
