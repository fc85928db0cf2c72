"""API of the booking windows a clinic holds back for members of a tier rank or higher
(M3 priority booking): list, add, move and remove them."""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Query, Router
from ninja.responses import Status

from chairside.core.api_auth import AUTH_ERRORS, access_of, error_responses
from chairside.core.schemas import PathId
from chairside.core.selectors import get_clinic
from chairside.membership.schemas.tiers import (
    WindowIn,
    WindowListOut,
    WindowOut,
    WindowQuery,
    WindowUpdateIn,
)
from chairside.membership.selectors import tiers as selectors
from chairside.membership.services import tiers as services

router = Router(tags=["membership"])

WRITE_ERRORS = error_responses(400, 401, 403, 404, 409)


@router.get(
    "/membership/windows",
    response={200: WindowListOut, **AUTH_ERRORS},
    summary="Booking windows held back for members",
)
def window_list(request: HttpRequest, filters: Query[WindowQuery]) -> WindowListOut:
    access = access_of(request)
    access.require("membership.view")
    names = selectors.tier_names_by_rank()
    windows = selectors.member_window_list(clinic_id=filters.clinic_id)
    return WindowListOut(items=[WindowOut.of(w, names) for w in windows])


@router.post(
    "/membership/windows",
    response={201: WindowOut, **WRITE_ERRORS},
    summary="Hold back a weekly booking window for members",
)
def window_create(request: HttpRequest, payload: WindowIn) -> Status[WindowOut]:
    access = access_of(request)
    access.require("membership.manage")
    window_clinic = (
        access.clinic if payload.clinic_id is None else get_clinic(clinic_id=payload.clinic_id)
    )
    window = services.member_window_create(
        actor=access.staff,
        clinic=access.clinic,
        window_clinic=window_clinic,
        weekday=payload.weekday,
        start=payload.start,
        end=payload.end,
        min_rank=payload.min_rank,
    )
    found = selectors.get_member_window(window_id=window.pk)
    return Status(201, WindowOut.of(found, selectors.tier_names_by_rank()))


@router.patch(
    "/membership/windows/{int:window_id}",
    response={200: WindowOut, **WRITE_ERRORS},
    summary="Move a members' booking window or change its lowest tier rank",
)
def window_update(request: HttpRequest, window_id: PathId, payload: WindowUpdateIn) -> WindowOut:
    access = access_of(request)
    access.require("membership.manage")
    window = selectors.get_member_window(window_id=window_id)
    changes = {k: v for k, v in payload.model_dump(exclude_unset=True).items() if v is not None}
    if "clinic_id" in changes:
        changes["window_clinic"] = get_clinic(clinic_id=changes.pop("clinic_id"))
    if changes:
        services.member_window_update(
            actor=access.staff, clinic=access.clinic, window=window, **changes
        )
    return WindowOut.of(
        selectors.get_member_window(window_id=window_id), selectors.tier_names_by_rank()
    )


@router.delete(
    "/membership/windows/{int:window_id}",
    response={204: None, **WRITE_ERRORS},
    summary="Stop holding a booking window back for members",
)
def window_delete(request: HttpRequest, window_id: PathId) -> Status[None]:
    access = access_of(request)
    access.require("membership.manage")
    window = selectors.get_member_window(window_id=window_id)
    services.member_window_delete(actor=access.staff, clinic=access.clinic, window=window)
    return Status(204, None)
