"""Pages of members: the list with filters and pages, and one member's card: tier and its
history, points ledger, benefits used."""

from __future__ import annotations

from urllib.parse import urlencode

from django.http import HttpResponse
from django.shortcuts import render
from django.urls import path
from django.views.decorators.http import require_safe

from chairside.core.clock import clinic_today
from chairside.core.console import ConsoleRequest, console_page, page_number
from chairside.core.pagination import paginate
from chairside.membership.discounts import used_this_year
from chairside.membership.forms.points import ActivityForm
from chairside.membership.forms.tiers import MemberFilterForm
from chairside.membership.selectors.members import (
    benefits_used,
    get_member,
    member_list,
    points_ledger,
    tier_history,
)

PAGE_SIZE = 30


@require_safe
@console_page("membership.view")
def members_index(request: ConsoleRequest) -> HttpResponse:
    form = MemberFilterForm(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    tier = filters.get("tier")
    members = member_list(
        tier_id=tier.pk if tier else None,
        status=filters.get("status") or None,
        expiring_before=filters.get("expiring_before"),
        query=filters.get("q") or "",
    )
    page = paginate(members, page=page_number(request.GET.get("page")), page_size=PAGE_SIZE)
    raw = {k: request.GET.get(k, "") for k in ("q", "tier", "status", "expiring_before")}
    return render(
        request,
        "membership/members.html",
        {
            "form": form,
            "page": page,
            "members": page.items,
            "filtered": any(raw.values()),
            "querystring": urlencode({k: v for k, v in raw.items() if v}),
        },
    )


@require_safe
@console_page("membership.view")
def member_detail(request: ConsoleRequest, member_id: int) -> HttpResponse:
    member = get_member(member_id=member_id)
    year = clinic_today(request.access.clinic).year
    ledger = paginate(
        points_ledger(member=member), page=page_number(request.GET.get("page")), page_size=20
    )
    return render(
        request,
        "membership/member_detail.html",
        {
            "member": member,
            "ledger": ledger,
            "changes": list(tier_history(member=member)[:50]),
            "uses": list(benefits_used(member=member)[:50]),
            "cleanings_left": max(
                0, member.tier.free_cleanings_per_year - used_this_year(member, year)
            ),
            "can_award": request.access.can("membership.points")
            and member.status == member.Status.ACTIVE,
            "activity_form": ActivityForm(),
        },
    )


urlpatterns = [
    path("members/", members_index, name="members"),
    path("members/<int:member_id>/", member_detail, name="member_detail"),
]
