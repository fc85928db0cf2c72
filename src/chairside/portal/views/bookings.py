"""My bookings: the household's upcoming and past visits; cancel and move within the rules."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from chairside.core.errors import DomainError
from chairside.portal import selectors, services
from chairside.portal.errors import PortalErrorCode, is_for_patients
from chairside.portal.forms import CancelForm
from chairside.portal.views.booking import parse_start, slot_board, start_param
from chairside.portal.views.common import SignedInRequest, portal_page, portal_url


@require_safe
@portal_page()
def booking_list(request: SignedInRequest) -> HttpResponse:
    upcoming, history = selectors.household_appointments(household=request.household)
    return render(
        request,
        "portal/bookings.html",
        {
            "upcoming": upcoming,
            "history": history,
            "show_names": len(request.household.members) > 1,
        },
    )


@require_safe
@portal_page()
def booking_detail(request: SignedInRequest, appointment_id: int) -> HttpResponse:
    appointment = selectors.get_household_appointment(
        household=request.household, appointment_id=appointment_id
    )
    refusal = services.change_refusal(appointment)
    return render(
        request,
        "portal/booking_detail.html",
        {
            "appointment": appointment,
            "refusal": refusal.message if refusal is not None else "",
            "changeable": appointment.status in selectors.CHANGEABLE_STATUSES,
            "cancel_form": CancelForm(),
            "rules": selectors.clinic_rules(clinic=appointment.clinic),
        },
    )


def _show(request: SignedInRequest, error: DomainError) -> None:
    if not is_for_patients(error):
        raise error
    messages.error(request, str(error.message))


@require_POST
@portal_page()
def booking_cancel(request: SignedInRequest, appointment_id: int) -> HttpResponse:
    appointment = selectors.get_household_appointment(
        household=request.household, appointment_id=appointment_id
    )
    form = CancelForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose why you are cancelling."))
    else:
        try:
            services.online_appointment_cancel(appointment=appointment, reason=form.reason_text())
        except DomainError as e:
            _show(request, e)
        else:
            messages.success(request, _("Your booking is cancelled."))
    return redirect(portal_url(request, "booking", appointment.pk))


@require_http_methods(["GET", "HEAD", "POST"])
@portal_page()
def booking_reschedule(request: SignedInRequest, appointment_id: int) -> HttpResponse:
    """The doctor's free times; a chosen time is confirmed (old and new side by side)."""
    appointment = selectors.get_household_appointment(
        household=request.household, appointment_id=appointment_id
    )
    detail_url = portal_url(request, "booking", appointment.pk)
    refusal = services.change_refusal(appointment)
    if refusal is not None:
        messages.error(request, str(refusal.message))
        return redirect(detail_url)
    clinic = appointment.clinic
    params = request.POST if request.method == "POST" else request.GET
    start = parse_start(params.get("start"), clinic)
    if request.method == "POST" and start is not None:
        try:
            services.online_appointment_reschedule(appointment=appointment, start=start)
        except DomainError as e:
            _show(request, e)
            if e.code == PortalErrorCode.SLOT_TAKEN:
                return redirect(portal_url(request, "reschedule", appointment.pk))
        else:
            messages.success(request, _("Your booking is moved."))
            return redirect(detail_url)
    rules = selectors.clinic_rules(clinic=clinic)
    minutes = int((appointment.end - appointment.start).total_seconds() // 60)
    days = selectors.slot_days(
        clinic=clinic,
        rules=rules,
        patient=appointment.patient,
        minutes=minutes,
        doctor=appointment.doctor,
    )
    board, selected_day = slot_board(
        days,
        slot_url=lambda slot: portal_url(
            request, "reschedule", appointment.pk, start=start_param(slot.start)
        ),
        day_url=lambda day: portal_url(request, "reschedule", appointment.pk, day=day.isoformat()),
        wanted=start.date().isoformat() if start else request.GET.get("day", ""),
    )
    context: dict[str, Any] = {
        "appointment": appointment,
        "board": board,
        "selected_day": selected_day,
        "chosen": start,
        "chosen_param": start_param(start) if start else "",
        "detail_url": detail_url,
        "rules": rules,
    }
    return render(request, "portal/reschedule.html", context)
