"""Pages of the points set-up: the referral reward, the earning rules and the gifts, each
rule and gift added, edited, deactivated, or removed when nothing refers to it; and
activity points awarded from a member's page."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from chairside.core.console import ConsoleRequest, console_page
from chairside.core.errors import DomainError
from chairside.membership.forms.points import ActivityForm, GiftForm, PointsRuleForm, ReferralForm
from chairside.membership.forms.tiers import attach_errors
from chairside.membership.models import PointsEntry, PointsGift, PointsRule
from chairside.membership.selectors.members import get_member
from chairside.membership.selectors.tiers import (
    get_gift,
    get_points_rule,
    gift_list,
    points_rule_list,
)
from chairside.membership.services import points as points_services
from chairside.membership.services import tiers as services
from chairside.membership.services.common import membership_settings


def _index(request: ConsoleRequest, referral: ReferralForm | None = None) -> HttpResponse:
    settings = membership_settings(request.access.organization.pk)
    return render(
        request,
        "membership/points_setup.html",
        {
            "rules": list(points_rule_list()),
            "gifts": list(gift_list()),
            "settings": settings,
            "referral": referral or ReferralForm(settings=settings),
            "can_manage": request.access.can("membership.manage"),
        },
        status=400 if referral is not None else 200,
    )


@require_safe
@console_page("membership.view")
def points_setup(request: ConsoleRequest) -> HttpResponse:
    return _index(request)


@require_POST
@console_page("membership.manage")
def referral_update(request: ConsoleRequest) -> HttpResponse:
    form = ReferralForm(request.POST)
    if form.is_valid():
        try:
            services.membership_settings_update(
                actor=request.access.staff,
                clinic=request.access.clinic,
                referral_points=form.cleaned_data["referral_points"],
            )
        except DomainError as e:
            attach_errors(form, e)
        else:
            messages.success(request, _("The referral reward is saved."))
            return redirect("membership:points_setup")
    return _index(request, referral=form)


# --- rules --------------------------------------------------------------------------------


def _rule_page(
    request: ConsoleRequest, rule: PointsRule | None, form: PointsRuleForm, status: int = 200
) -> HttpResponse:
    return render(
        request, "membership/points_rule_form.html", {"rule": rule, "form": form}, status=status
    )


@require_http_methods(["GET", "HEAD", "POST"])
@console_page("membership.manage")
def rule_edit(request: ConsoleRequest, rule_id: int | None = None) -> HttpResponse:
    rule = None if rule_id is None else get_points_rule(rule_id=rule_id)
    if request.method != "POST":
        return _rule_page(request, rule, PointsRuleForm(rule=rule))
    form = PointsRuleForm(request.POST, rule=rule)
    if form.is_valid():
        values = form.cleaned_data
        actor, clinic = request.access.staff, request.access.clinic
        try:
            if rule is None:
                services.points_rule_create(actor=actor, clinic=clinic, **values)
            else:
                services.points_rule_update(actor=actor, clinic=clinic, rule=rule, **values)
        except DomainError as e:
            attach_errors(form, e)
        else:
            messages.success(
                request, _("Points rule %(name)s is saved.") % {"name": values["name"]}
            )
            return redirect("membership:points_setup")
    return _rule_page(request, rule, form, status=400)


@require_POST
@console_page("membership.manage")
def rule_delete(request: ConsoleRequest, rule_id: int) -> HttpResponse:
    rule = get_points_rule(rule_id=rule_id)
    try:
        services.points_rule_delete(
            actor=request.access.staff, clinic=request.access.clinic, rule=rule
        )
    except DomainError as e:
        messages.error(request, str(e.message))
    else:
        messages.success(request, _("Points rule %(name)s is removed.") % {"name": rule.name})
    return redirect("membership:points_setup")


# --- gifts --------------------------------------------------------------------------------


def _gift_page(
    request: ConsoleRequest, gift: PointsGift | None, form: GiftForm, status: int = 200
) -> HttpResponse:
    return render(request, "membership/gift_form.html", {"gift": gift, "form": form}, status=status)


@require_http_methods(["GET", "HEAD", "POST"])
@console_page("membership.manage")
def gift_edit(request: ConsoleRequest, gift_id: int | None = None) -> HttpResponse:
    gift = None if gift_id is None else get_gift(gift_id=gift_id)
    if request.method != "POST":
        return _gift_page(request, gift, GiftForm(gift=gift))
    form = GiftForm(request.POST, gift=gift)
    if form.is_valid():
        values = form.cleaned_data
        actor, clinic = request.access.staff, request.access.clinic
        try:
            if gift is None:
                services.gift_create(actor=actor, clinic=clinic, **values)
            else:
                services.gift_update(actor=actor, clinic=clinic, gift=gift, **values)
        except DomainError as e:
            attach_errors(form, e)
        else:
            messages.success(request, _("Gift %(name)s is saved.") % {"name": values["name"]})
            return redirect("membership:points_setup")
    return _gift_page(request, gift, form, status=400)


@require_POST
@console_page("membership.manage")
def gift_delete(request: ConsoleRequest, gift_id: int) -> HttpResponse:
    gift = get_gift(gift_id=gift_id)
    try:
        services.gift_delete(actor=request.access.staff, clinic=request.access.clinic, gift=gift)
    except DomainError as e:
        messages.error(request, str(e.message))
    else:
        messages.success(request, _("Gift %(name)s is removed.") % {"name": gift.name})
    return redirect("membership:points_setup")


# --- activity points on a member's page ----------------------------------------------------


@require_POST
@console_page("membership.points")
def member_activity(request: ConsoleRequest, member_id: int) -> HttpResponse:
    member = get_member(member_id=member_id)
    form = ActivityForm(request.POST)
    if form.is_valid():
        try:
            entry = points_services.points_adjust(
                actor=request.access.staff,
                clinic=request.access.clinic,
                member=member,
                points=form.cleaned_data["points"],
                reason=form.cleaned_data["reason"],
                kind=PointsEntry.Kind.ACTIVITY,
            )
        except DomainError as e:
            messages.error(request, str(e.message))
        else:
            messages.success(
                request,
                _("%(points)d activity points added to card %(card)s.")
                % {"points": entry.points, "card": member.card_number},
            )
    else:
        problems = [str(m) for errors in form.errors.values() for m in errors]
        messages.error(request, " ".join(problems))
    return redirect(reverse("membership:member_detail", args=[member.pk]))


urlpatterns = [
    path("points/", points_setup, name="points_setup"),
    path("points/referral/", referral_update, name="referral_update"),
    path("points/rules/new/", rule_edit, name="rule_create"),
    path("points/rules/<int:rule_id>/", rule_edit, name="rule_edit"),
    path("points/rules/<int:rule_id>/delete/", rule_delete, name="rule_delete"),
    path("points/gifts/new/", gift_edit, name="gift_create"),
    path("points/gifts/<int:gift_id>/", gift_edit, name="gift_edit"),
    path("points/gifts/<int:gift_id>/delete/", gift_delete, name="gift_delete"),
    path("members/<int:member_id>/activity/", member_activity, name="member_activity"),
]
