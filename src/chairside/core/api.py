"""API of the core app: sign-in tokens, the caller, the organization's clinics and staff."""

from __future__ import annotations

from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from ninja import Query, Router

from chairside.core import selectors
from chairside.core.access import build_access
from chairside.core.api_auth import AUTH_ERRORS, LOOKUP_ERRORS, access_of, error_responses
from chairside.core.errors import PermissionDenied
from chairside.core.schemas import (
    ClinicOut,
    MeOut,
    ObjectId,
    OrganizationOut,
    PathId,
    StaffBrief,
    StaffOut,
    TokenIn,
    TokenOut,
)
from chairside.core.services import api_token_issue, staff_sign_in

router = Router(tags=["core"])


@router.post(
    "/auth/token",
    auth=None,
    response={200: TokenOut, **error_responses(400, 401, 403)},
    summary="Get an API token",
)
def token_create(request: HttpRequest, payload: TokenIn) -> TokenOut:
    """Exchange a username (or mobile) and password, plus the authenticator code when
    two-factor sign-in is on, for a bearer token valid for 30 days."""
    staff = staff_sign_in(login=payload.username, password=payload.password, otp=payload.otp)
    if build_access(staff) is None:
        raise PermissionDenied(_("Your account has no role in any clinic."))
    key, token = api_token_issue(staff=staff)
    return TokenOut(
        token=key,
        expires_at=token.expires_at,
        staff=StaffBrief.model_validate(staff, from_attributes=True),
    )


@router.get("/me", response={200: MeOut, **AUTH_ERRORS}, summary="The caller")
def me(request: HttpRequest) -> MeOut:
    access = access_of(request)
    return MeOut(
        staff=StaffBrief.model_validate(access.staff, from_attributes=True),
        organization=OrganizationOut.model_validate(access.organization, from_attributes=True),
        clinic=ClinicOut.of(access.clinic),
        clinics=[ClinicOut.of(c) for c in access.clinics],
        permissions=sorted(access.permissions),
    )


@router.get("/clinics", response={200: list[ClinicOut], **AUTH_ERRORS}, summary="List clinics")
def clinic_list(request: HttpRequest) -> list[ClinicOut]:
    """Every clinic of the organization, the headquarters office included."""
    access_of(request).require("clinics.view")
    return [ClinicOut.of(c) for c in selectors.clinic_list()]


@router.get(
    "/clinics/{int:clinic_id}", response={200: ClinicOut, **LOOKUP_ERRORS}, summary="Get a clinic"
)
def clinic_detail(request: HttpRequest, clinic_id: PathId) -> ClinicOut:
    access_of(request).require("clinics.view")
    return ClinicOut.of(selectors.get_clinic(clinic_id=clinic_id))


@router.get("/staff", response={200: list[StaffOut], **AUTH_ERRORS}, summary="List staff")
def staff_list(request: HttpRequest, clinic: Query[ObjectId | None] = None) -> list[StaffOut]:
    """Active staff of the organization with their roles; `clinic` keeps those working there."""
    access_of(request).require("staff.view")
    return [StaffOut.of(s) for s in selectors.staff_list(clinic_id=clinic)]


@router.get(
    "/staff/{int:staff_id}", response={200: StaffOut, **LOOKUP_ERRORS}, summary="Get a staff member"
)
def staff_detail(request: HttpRequest, staff_id: PathId) -> StaffOut:
    access_of(request).require("staff.view")
    return StaffOut.of(selectors.get_staff(staff_id=staff_id))
