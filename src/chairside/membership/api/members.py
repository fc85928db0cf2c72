"""API of members: the list with filters, enrolment, detail, renewal, the points ledger,
adjustments, activity points, gift redemption, and the renewal report."""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Query, Router
from ninja.responses import Status

from chairside.core.api_auth import AUTH_ERRORS, LOOKUP_ERRORS, access_of, error_responses
from chairside.core.clock import clinic_today
from chairside.core.pagination import paginate
from chairside.core.schemas import PathId
from chairside.membership.discounts import used_this_year
from chairside.membership.models import Member, PointsEntry
from chairside.membership.schemas.members import (
    ActivityIn,
    AdjustIn,
    BenefitUseOut,
    EnrolIn,
    MemberDetailOut,
    MemberOut,
    MemberPage,
    MemberQuery,
    PointsEntryOut,
    PointsPage,
    PointsQuery,
    RedeemIn,
    RenewalReportOut,
    RenewIn,
    TierChangeOut,
)
from chairside.membership.selectors import members as selectors
from chairside.membership.selectors.tiers import get_gift, get_tier
from chairside.membership.services import members as services
from chairside.membership.services import points as points_services
from chairside.patients.selectors import get_patient

router = Router(tags=["membership"])

WRITE_ERRORS = error_responses(400, 401, 403, 404, 409)


def _detail(member: Member, today_year: int) -> MemberDetailOut:
    member = selectors.get_member(member_id=member.pk)
    base = MemberOut.of(member).model_dump()
    left = max(0, member.tier.free_cleanings_per_year - used_this_year(member, today_year))
    return MemberDetailOut(
        **base,
        free_cleanings_left=left,
        tier_changes=[TierChangeOut.of(c) for c in selectors.tier_history(member=member)[:50]],
        benefits_used=[BenefitUseOut.of(u) for u in selectors.benefits_used(member=member)[:50]],
    )


@router.get(
    "/membership/members", response={200: MemberPage, **AUTH_ERRORS}, summary="Search members"
)
def member_list(request: HttpRequest, filters: Query[MemberQuery]) -> MemberPage:
    access = access_of(request)
    access.require("membership.view")
    members = selectors.member_list(
        tier_id=filters.tier_id,
        status=filters.status,
        expiring_before=filters.expiring_before,
        query=filters.q,
    )
    page = paginate(members, page=filters.page, page_size=filters.page_size)
    return MemberPage.of(page, [MemberOut.of(m) for m in page.items])


@router.post(
    "/membership/members",
    response={201: MemberDetailOut, **WRITE_ERRORS},
    summary="Enrol a patient as a member",
)
def member_enrol(request: HttpRequest, payload: EnrolIn) -> Status[MemberDetailOut]:
    """The tier's fee goes on the patient's bill of the day; the member is active at once."""
    access = access_of(request)
    access.require("membership.enrol")
    patient = get_patient(patient_id=payload.patient_id)
    tier = get_tier(tier_id=payload.tier_id)
    member = services.member_enrol(
        actor=access.staff, clinic=access.clinic, patient=patient, tier=tier
    )
    return Status(201, _detail(member, clinic_today(access.clinic).year))


@router.get(
    "/membership/members/{int:member_id}",
    response={200: MemberDetailOut, **LOOKUP_ERRORS},
    summary="A member with tier history and benefits used",
)
def member_detail(request: HttpRequest, member_id: PathId) -> MemberDetailOut:
    access = access_of(request)
    access.require("membership.view")
    member = selectors.get_member(member_id=member_id)
    return _detail(member, clinic_today(access.clinic).year)


@router.post(
    "/membership/members/{int:member_id}/renew",
    response={200: MemberDetailOut, **WRITE_ERRORS},
    summary="Renew a membership",
)
def member_renew(request: HttpRequest, member_id: PathId, payload: RenewIn) -> MemberDetailOut:
    access = access_of(request)
    access.require("membership.enrol")
    member = selectors.get_member(member_id=member_id)
    tier = None if payload.tier_id is None else get_tier(tier_id=payload.tier_id)
    member = services.member_renew(
        actor=access.staff, clinic=access.clinic, member=member, tier=tier
    )
    return _detail(member, clinic_today(access.clinic).year)


@router.get(
    "/membership/members/{int:member_id}/points",
    response={200: PointsPage, **LOOKUP_ERRORS},
    summary="A member's points ledger",
)
def points_ledger(
    request: HttpRequest, member_id: PathId, filters: Query[PointsQuery]
) -> PointsPage:
    access = access_of(request)
    access.require("membership.view")
    member = selectors.get_member(member_id=member_id)
    entries = selectors.points_ledger(member=member, kind=filters.kind)
    page = paginate(entries, page=filters.page, page_size=filters.page_size)
    return PointsPage.of(page, [PointsEntryOut.of(e) for e in page.items])


@router.post(
    "/membership/members/{int:member_id}/points/adjust",
    response={201: PointsEntryOut, **WRITE_ERRORS},
    summary="Add or take points by hand",
)
def points_adjust(
    request: HttpRequest, member_id: PathId, payload: AdjustIn
) -> Status[PointsEntryOut]:
    access = access_of(request)
    access.require("membership.points")
    member = selectors.get_member(member_id=member_id)
    entry = points_services.points_adjust(
        actor=access.staff,
        clinic=access.clinic,
        member=member,
        points=payload.points,
        reason=payload.reason,
        kind=payload.kind,
    )
    return Status(201, PointsEntryOut.of(entry))


@router.post(
    "/membership/members/{int:member_id}/points/activity",
    response={201: PointsEntryOut, **WRITE_ERRORS},
    summary="Award points for taking part in an activity",
)
def points_activity(
    request: HttpRequest, member_id: PathId, payload: ActivityIn
) -> Status[PointsEntryOut]:
    """Points for an activity (a check-in, a shared article, a completed profile ...), with
    the reason on the ledger; they expire like earned points. Only for an active card."""
    access = access_of(request)
    access.require("membership.points")
    member = selectors.get_member(member_id=member_id)
    entry = points_services.points_adjust(
        actor=access.staff,
        clinic=access.clinic,
        member=member,
        points=payload.points,
        reason=payload.reason,
        kind=PointsEntry.Kind.ACTIVITY,
    )
    return Status(201, PointsEntryOut.of(entry))


@router.post(
    "/membership/members/{int:member_id}/points/redeem",
    response={201: PointsEntryOut, **WRITE_ERRORS},
    summary="Redeem points for a gift",
)
def points_redeem(
    request: HttpRequest, member_id: PathId, payload: RedeemIn
) -> Status[PointsEntryOut]:
    access = access_of(request)
    access.require("membership.points")
    member = selectors.get_member(member_id=member_id)
    gift = get_gift(gift_id=payload.gift_id)
    entry = points_services.points_redeem(
        actor=access.staff,
        clinic=access.clinic,
        member=member,
        gift=gift,
        quantity=payload.quantity,
    )
    return Status(201, PointsEntryOut.of(entry))


@router.get(
    "/membership/renewals",
    response={200: RenewalReportOut, **AUTH_ERRORS},
    summary="Renewal report: due, reminded, renewed, lapsed",
)
def renewal_report(request: HttpRequest) -> RenewalReportOut:
    access = access_of(request)
    access.require("membership.view")
    report = selectors.renewal_report(today=clinic_today(access.clinic))
    return RenewalReportOut(
        today=report.today,
        window_days=report.window_days,
        due=[MemberOut.of(m) for m in report.due],
        reminded=[MemberOut.of(m) for m in report.reminded],
        renewed=[MemberOut.of(m) for m in report.renewed],
        lapsed=[MemberOut.of(m) for m in report.lapsed],
    )
