"""Pages of the booking windows a clinic holds back for members (M3 priority booking): the
list by tier, adding, editing and removing a window."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from chairside.core.console import ConsoleRequest, console_page, forbidden
from chairside.core.errors import DomainError
from chairside.membership.forms.points import WEEKDAYS, WindowForm
from chairside.membership.forms.tiers import attach_errors
from chairside.membership.models import MemberWindow, Tier
from chairside.membership.selectors.tiers import get_member_window, member_window_list, tier_list
from chairside.membership.services import tiers as services


@dataclass
class TierWindows:
    """The windows kept for one tier rank (and every tier above it)."""

    rank: int
    tier: Tier | None
    windows: list[MemberWindow] = field(default_factory=list)


def _tiers() -> list[Tier]:
    return list(tier_list())


def _choices(tiers: list[Tier]) -> list[tuple[int, str]]:
    return [(t.rank, t.name) for t in tiers if t.is_active]


def _groups(tiers: list[Tier]) -> list[TierWindows]:
    by_rank = {t.rank: t for t in tiers}
    groups: dict[int, TierWindows] = {}
    for window in member_window_list():
        group = groups.setdefault(
            window.min_rank, TierWindows(window.min_rank, by_rank.get(window.min_rank))
        )
        group.windows.append(window)
    return [groups[rank] for rank in sorted(groups)]


def _page(
    request: ConsoleRequest, form: WindowForm, tiers: list[Tier], status: int = 200
) -> HttpResponse:
    return render(
        request,
        "membership/windows.html",
        {
            "groups": _groups(tiers),
            "form": form,
            "weekdays": dict(WEEKDAYS),
            "can_manage": request.access.can("membership.manage"),
            "no_priority": [t for t in tiers if t.is_active and not t.priority_booking],
        },
        status=status,
    )


def _save(request: ConsoleRequest, form: WindowForm, window: MemberWindow | None) -> bool:
    values = dict(form.cleaned_data)
    values["window_clinic"] = values.pop("clinic")
    actor, clinic = request.access.staff, request.access.clinic
    try:
        if window is None:
            services.member_window_create(actor=actor, clinic=clinic, **values)
        else:
            services.member_window_update(actor=actor, clinic=clinic, window=window, **values)
    except DomainError as e:
        attach_errors(form, e)
        return False
    return True


@require_http_methods(["GET", "HEAD", "POST"])
@console_page("membership.view")
def windows_index(request: ConsoleRequest) -> HttpResponse:
    tiers = _tiers()
    if request.method != "POST":
        initial = {"clinic": request.access.clinic.pk}
        return _page(request, WindowForm(tiers=_choices(tiers), initial=initial), tiers)
    if not request.access.can("membership.manage"):
        return forbidden(request, "membership.manage")
    form = WindowForm(request.POST, tiers=_choices(tiers))
    if form.is_valid() and _save(request, form, None):
        messages.success(request, _("The booking window is held back for members."))
        return redirect("membership:windows")
    return _page(request, form, tiers, status=400)


@require_http_methods(["GET", "HEAD", "POST"])
@console_page("membership.manage")
def window_edit(request: ConsoleRequest, window_id: int) -> HttpResponse:
    window = get_member_window(window_id=window_id)
    choices = _choices(_tiers())
    form = WindowForm(request.POST or None, tiers=choices, window=window)
    if request.method == "POST":
        if form.is_valid() and _save(request, form, window):
            messages.success(request, _("The booking window is saved."))
            return redirect("membership:windows")
        status = 400
    else:
        status = 200
    return render(
        request, "membership/window_form.html", {"window": window, "form": form}, status=status
    )


@require_POST
@console_page("membership.manage")
def window_delete(request: ConsoleRequest, window_id: int) -> HttpResponse:
    window = get_member_window(window_id=window_id)
    services.member_window_delete(
        actor=request.access.staff, clinic=request.access.clinic, window=window
    )
    messages.success(request, _("The booking window is no longer held back."))
    return redirect("membership:windows")


urlpatterns = [
    path("windows/", windows_index, name="windows"),
    path("windows/<int:window_id>/", window_edit, name="window_edit"),
    path("windows/<int:window_id>/delete/", window_delete, name="window_delete"),
]
