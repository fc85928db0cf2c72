"""Pages of member tiers: the list, and adding or editing a tier with its discounts."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_safe

from chairside.core.console import ConsoleRequest, console_page
from chairside.core.errors import DomainError
from chairside.membership.forms.tiers import BenefitsForm, TierForm, attach_errors
from chairside.membership.models import Tier
from chairside.membership.selectors.tiers import get_tier, tier_list
from chairside.membership.services import tiers as services


@require_safe
@console_page("membership.view")
def tiers_index(request: ConsoleRequest) -> HttpResponse:
    tiers = list(tier_list())
    return render(
        request,
        "membership/tiers.html",
        {"tiers": tiers, "can_manage": request.access.can("membership.manage")},
    )


def _form_page(
    request: ConsoleRequest,
    tier: Tier | None,
    form: TierForm,
    benefits: BenefitsForm,
    status: int = 200,
) -> HttpResponse:
    return render(
        request,
        "membership/tier_form.html",
        {"tier": tier, "form": form, "benefits": benefits},
        status=status,
    )


@require_http_methods(["GET", "HEAD", "POST"])
@console_page("membership.manage")
def tier_create(request: ConsoleRequest) -> HttpResponse:
    if request.method != "POST":
        return _form_page(request, None, TierForm(), BenefitsForm())
    form = TierForm(request.POST)
    benefits = BenefitsForm(request.POST)
    if form.is_valid() and benefits.is_valid():
        rates = benefits.rates()
        if not benefits.errors:
            try:
                tier = services.tier_create(
                    actor=request.access.staff,
                    clinic=request.access.clinic,
                    **form.service_values(),
                )
                services.tier_benefits_set(
                    actor=request.access.staff, clinic=request.access.clinic, tier=tier, rates=rates
                )
            except DomainError as e:
                attach_errors(form, e)
            else:
                messages.success(request, _("Tier %(name)s is added.") % {"name": tier.name})
                return redirect("membership:tier_edit", tier_id=tier.pk)
    return _form_page(request, None, form, benefits, status=400)


@require_http_methods(["GET", "HEAD", "POST"])
@console_page("membership.manage")
def tier_edit(request: ConsoleRequest, tier_id: int) -> HttpResponse:
    tier = get_tier(tier_id=tier_id)
    if request.method != "POST":
        return _form_page(request, tier, TierForm(tier=tier), BenefitsForm(tier=tier))
    form = TierForm(request.POST, tier=tier)
    benefits = BenefitsForm(request.POST, tier=tier)
    if form.is_valid() and benefits.is_valid():
        rates = benefits.rates()
        if not benefits.errors:
            values = form.service_values()
            values.pop("code", None)
            try:
                services.tier_update(
                    actor=request.access.staff, clinic=request.access.clinic, tier=tier, **values
                )
                services.tier_benefits_set(
                    actor=request.access.staff, clinic=request.access.clinic, tier=tier, rates=rates
                )
            except DomainError as e:
                attach_errors(form, e)
            else:
                messages.success(request, _("Tier %(name)s is saved.") % {"name": values["name"]})
                return redirect("membership:tier_edit", tier_id=tier.pk)
    return _form_page(request, tier, form, benefits, status=400)


urlpatterns = [
    path("tiers/", tiers_index, name="tiers"),
    path("tiers/new/", tier_create, name="tier_create"),
    path("tiers/<int:tier_id>/", tier_edit, name="tier_edit"),
]
