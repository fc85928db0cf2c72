"""Console pages of scheduling (S2, S3): the calendar by day and by week, booking and walk-ins
from it, the appointment drawer with its lifecycle buttons, and today's work.

htmx asks for fragments: the calendar (#schedule), the drawer (#drawer) and today's board
(#today-board). Without htmx every address answers a whole page, so each also works as a
plain link or form. A change made in the drawer fires the `schedule-changed` event, which
the calendar and today's board listen to and reload themselves on.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from chairside.core.clock import (
    FIRST_YEAR,
    LAST_YEAR,
    clinic_now,
    clinic_today,
    clinic_zone,
    local,
)
from chairside.core.console import ConsoleRequest, console_page
from chairside.core.errors import DomainError, NotFound, ValidationFailed
from chairside.core.models import Clinic, Staff
from chairside.core.panels import panels_for
from chairside.patients import selectors as patient_selectors
from chairside.patients.ages import age_on
from chairside.patients.models import Patient
from chairside.scheduling import calendar, selectors, services
from chairside.scheduling.forms import (
    DEFAULT_MINUTES,
    AppointmentForm,
    CancelForm,
    RescheduleForm,
    WalkInForm,
    attach_errors,
    initial_date,
    initial_time,
)
from chairside.scheduling.models import (
    NOT_ARRIVED_STATUSES,
    RELEASED_STATUSES,
    Appointment,
    AppointmentEvent,
    AppointmentSource,
    AppointmentStatus,
    Chair,
)

VIEW_PERMISSIONS = ("schedule.view", "schedule.view_own")
CHANGED = "schedule-changed"
DAY, WEEK = "day", "week"
DRAWER = "scheduling/_drawer_appointment.html"


# --- helpers ---------------------------------------------------------------------------


def schedule_page(
    view: Callable[..., HttpResponse],
) -> Callable[..., HttpResponse]:
    """A console page for those who see the clinic's schedule or only their own."""

    @functools.wraps(view)
    def check(request: ConsoleRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not any(request.access.can(p) for p in VIEW_PERMISSIONS):
            context = {"permission": VIEW_PERMISSIONS[0]}
            return render(request, "console/forbidden.html", context, status=403)
        return view(request, *args, **kwargs)

    return console_page()(check)


def _own_only(request: ConsoleRequest) -> Staff | None:
    """None for those who see the whole clinic; the staff member, for those who see their own."""
    access = request.access
    return None if access.can("schedule.view") else access.staff


def _is_htmx(request: HttpRequest) -> bool:
    return bool(getattr(request, "htmx", False))


def _is_partial(request: HttpRequest) -> bool:
    """An htmx swap asks for the fragment; a history restore needs the whole page."""
    htmx = getattr(request, "htmx", None)
    return bool(htmx) and not getattr(htmx, "history_restore_request", False)


def _render(
    request: ConsoleRequest, template: str, context: dict[str, Any], *, status: int = 200
) -> HttpResponse:
    # Times are shown on the clinic's clock, whatever the server's zone.
    with timezone.override(clinic_zone(request.access.clinic)):
        response = render(request, template, context, status=status)
    patch_vary_headers(response, ["HX-Request"])
    return response


def _drawer(
    request: ConsoleRequest,
    template: str,
    context: dict[str, Any],
    *,
    title: str,
    status: int = 200,
) -> HttpResponse:
    """The drawer's content for htmx; a page holding it otherwise."""
    if _is_partial(request):
        return _render(request, template, context, status=status)
    page = {**context, "drawer_template": template, "page_title": title, "drawer_static": True}
    return _render(request, "scheduling/drawer_page.html", page, status=status)


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


def _day(value: str | None, clinic: Clinic) -> date:
    day = initial_date(value)
    if day is None or not FIRST_YEAR <= day.year <= LAST_YEAR:
        return clinic_today(clinic)
    return day


def _span(start: datetime, end: datetime, clinic: Clinic) -> str:
    return f"{local(start, clinic):%H:%M}–{local(end, clinic):%H:%M}"


def _where(
    start: datetime | None,
    end: datetime | None,
    doctor: Staff | None,
    chair: Chair | None,
    clinic: Clinic,
) -> str:
    parts = []
    if start is not None and end is not None:
        parts.append(f"{local(start, clinic):%Y-%m-%d} {_span(start, end, clinic)}")
    if doctor is not None:
        parts.append(str(doctor))
    if chair is not None:
        parts.append(chair.name)
    return " · ".join(parts)


# --- the calendar ----------------------------------------------------------------------


@dataclass(frozen=True)
class CalendarState:
    """What the calendar shows, as it is written in the address."""

    day: date
    view: str = DAY
    by: str = calendar.BY_DOCTOR
    doctor: Staff | None = None
    released: bool = False

    def url(self, **changes: Any) -> str:
        state = replace(self, **changes)
        params: dict[str, Any] = {"date": state.day.isoformat()}
        if state.view != DAY:
            params["view"] = state.view
        if state.by != calendar.BY_DOCTOR:
            params["by"] = state.by
        if state.doctor is not None:
            params["doctor"] = state.doctor.pk
        if state.released:
            params["released"] = "1"
        return f"{reverse('scheduling:calendar')}?{urlencode(params)}"


@require_safe
@schedule_page
def calendar_page(request: ConsoleRequest) -> HttpResponse:
    """The clinic's appointments by day (a column per doctor or chair) or by week."""
    access = request.access
    clinic = access.clinic
    own = _own_only(request)
    doctors = [own] if own is not None else calendar.clinic_doctors(clinic=clinic)
    wanted = _int(request.GET.get("doctor"))
    state = CalendarState(
        day=_day(request.GET.get("date"), clinic),
        view=WEEK if request.GET.get("view") == WEEK else DAY,
        by=calendar.BY_CHAIR if request.GET.get("by") == calendar.BY_CHAIR else calendar.BY_DOCTOR,
        doctor=own or next((d for d in doctors if d.pk == wanted), None),
        released=request.GET.get("released") == "1",
    )
    step = timedelta(days=7 if state.view == WEEK else 1)
    today = clinic_today(clinic)
    context: dict[str, Any] = {
        "state": state,
        "doctors": doctors,
        "own_only": own is not None,
        "today": today,
        "can_book": access.can("schedule.book"),
        "urls": {
            "self": state.url(),
            "prev": state.url(day=state.day - step),
            "next": state.url(day=state.day + step),
            "today": state.url(day=today),
            "day": state.url(view=DAY),
            "week": state.url(view=WEEK),
            "by_doctor": state.url(by=calendar.BY_DOCTOR),
            "by_chair": state.url(by=calendar.BY_CHAIR),
            "released": state.url(released=not state.released),
        },
    }
    if state.view == WEEK:
        week = calendar.week_grid(
            clinic=clinic, day=state.day, doctor=state.doctor, show_released=state.released
        )
        context["week"] = week
        context["week_days"] = [(d, state.url(view=DAY, day=d.day)) for d in week.days]
        context["hidden"] = week.hidden
    else:
        grid = calendar.day_grid(
            clinic=clinic,
            day=state.day,
            by=state.by,
            doctor=state.doctor,
            show_released=state.released,
        )
        context["grid"] = grid
        context["columns"] = [(c, _slot_values(grid.day, c)) for c in grid.columns]
        context["next_day_url"] = state.url(day=state.day + timedelta(days=1))
        context["hidden"] = grid.hidden
    context["statuses"] = AppointmentStatus.choices
    template = "scheduling/_calendar.html" if _is_partial(request) else "scheduling/calendar.html"
    return _render(request, template, context)


def _slot_values(day: date, column: calendar.DayColumn) -> str:
    """What a click on an empty slot of `column` pre-fills in the booking form (hx-vals)."""
    values: dict[str, Any] = {"date": day.isoformat()}
    if column.doctor is not None:
        values["doctor"] = column.doctor.pk
    if column.chair is not None:
        values["chair"] = column.chair.pk
    return json.dumps(values)


# --- the appointment drawer ------------------------------------------------------------


@dataclass(frozen=True)
class HistoryLine:
    at: datetime
    title: str
    detail: str
    actor: str


def _event_where(event: AppointmentEvent, side: str, clinic: Clinic) -> str:
    """Where the appointment was ("old") or went ("new") in one line of its history."""
    return _where(
        getattr(event, f"{side}_start"),
        getattr(event, f"{side}_end"),
        getattr(event, f"{side}_doctor"),
        getattr(event, f"{side}_chair"),
        clinic,
    )


def _history(appointment: Appointment, clinic: Clinic) -> list[HistoryLine]:
    lines = []
    labels = dict(AppointmentStatus.choices)
    for event in selectors.appointment_history(appointment=appointment):
        if event.actor is not None:
            actor = str(event.actor)
        elif appointment.source == AppointmentSource.PORTAL:
            actor = _("The patient, online")
        else:
            actor = _("System")
        if event.kind == AppointmentEvent.Kind.CREATED:
            title = _("Booked")
            detail = _event_where(event, "new", clinic)
        elif event.kind == AppointmentEvent.Kind.RESCHEDULED:
            title = _("Moved")
            detail = _("from %(old)s to %(new)s") % {
                "old": _event_where(event, "old", clinic),
                "new": _event_where(event, "new", clinic),
            }
        else:
            title = str(labels.get(event.to_status, event.to_status))
            detail = ""
        if event.note:
            detail = f"{detail} · {event.note}" if detail else event.note
        lines.append(HistoryLine(at=event.at, title=title, detail=detail, actor=actor))
    return lines


def _actions(request: ConsoleRequest, appointment: Appointment) -> dict[str, bool]:
    """The buttons the drawer offers: what the status allows and the staff member may do."""
    access = request.access
    book, treat = access.can("schedule.book"), access.can("schedule.treat")
    status = appointment.status
    waiting = status in NOT_ARRIVED_STATUSES
    on_the_day = local(appointment.start, appointment.clinic).date() == clinic_today(
        appointment.clinic
    )
    return {
        "confirm": book and status == AppointmentStatus.BOOKED,
        "check_in": book and waiting and on_the_day,
        "no_show": book and waiting and appointment.start <= timezone.now(),
        "cancel": book and waiting,
        "move": book and waiting,
        "start": treat and status == AppointmentStatus.ARRIVED,
        "complete": treat and status == AppointmentStatus.IN_TREATMENT,
    }


def _move_form(appointment: Appointment, data: Any = None) -> RescheduleForm:
    clinic = appointment.clinic
    doctors = calendar.clinic_doctors(clinic=clinic)
    if all(d.pk != appointment.doctor_id for d in doctors):
        doctors.append(appointment.doctor)
    start = local(appointment.start, clinic)
    initial = {
        "date": start.date(),
        "start": start.time().replace(second=0, microsecond=0),
        "minutes": int((appointment.end - appointment.start).total_seconds() // 60),
        "doctor_id": appointment.doctor_id,
        "chair_id": appointment.chair_id,
    }
    chairs = list(selectors.chair_list(clinic=clinic))
    return RescheduleForm(data, initial=initial, doctors=doctors, chairs=chairs)


def _detail_context(
    request: ConsoleRequest,
    appointment: Appointment,
    *,
    error: str = "",
    notice: str = "",
    open_form: str = "",
    move_form: RescheduleForm | None = None,
    cancel_form: CancelForm | None = None,
) -> dict[str, Any]:
    clinic = appointment.clinic
    patient = appointment.patient
    actions = _actions(request, appointment)
    return {
        "appointment": appointment,
        "span": _span(appointment.start, appointment.end, clinic),
        "minutes": int((appointment.end - appointment.start).total_seconds() // 60),
        "patient": patient,
        "age": age_on(patient.birth_date, clinic_today(clinic)),
        "tags": patient_selectors.patient_tags(patient=patient),
        "last_visit": calendar.last_visit(patient=patient, before=appointment.start),
        "history": _history(appointment, clinic),
        "actions": actions,
        "any_action": any(actions.values()),
        "move_form": (move_form or _move_form(appointment)) if actions["move"] else None,
        "cancel_form": cancel_form or CancelForm(),
        "open_form": open_form,
        "error": error,
        "notice": notice,
        "can_view_patients": request.access.can("patients.view"),
        "calendar_url": CalendarState(day=local(appointment.start, clinic).date()).url(),
    }


def _appointment(request: ConsoleRequest, appointment_id: int) -> Appointment:
    """The acting clinic's appointment (only one's own, for those who see only theirs)."""
    return selectors.get_appointment(
        clinic=request.access.clinic, appointment_id=appointment_id, doctor=_own_only(request)
    )


@require_safe
@schedule_page
def appointment_detail(request: ConsoleRequest, appointment_id: int) -> HttpResponse:
    appointment = _appointment(request, appointment_id)
    return _drawer(request, DRAWER, _detail_context(request, appointment), title=_("Appointment"))


def _after(
    request: ConsoleRequest,
    appointment_id: int,
    *,
    done: Appointment | None = None,
    error: DomainError | None = None,
    notice: str = "",
) -> HttpResponse:
    """Answer a lifecycle step: the drawer again, or today's board when the step was taken
    there; the error in place if it failed."""
    back_to_today = request.POST.get("back") == "today"
    if not _is_htmx(request):
        if error is not None:
            messages.error(request, str(error.message))
        else:
            messages.success(request, notice)
        if back_to_today:
            return redirect("scheduling:today")
        return redirect("scheduling:detail", appointment_id=appointment_id)
    status = error.status if error is not None else 200
    message = str(error.message) if error is not None else ""
    if back_to_today:
        context = _today_context(request, request.POST.get("doctor", ""))
        context.update(error=message, notice=notice)
        return _render(request, "scheduling/_today_board.html", context, status=status)
    # After a failure, read it again: someone else may have changed it meanwhile.
    appointment = done or _appointment(request, appointment_id)
    context = _detail_context(request, appointment, error=message, notice=notice)
    response = _render(request, DRAWER, context, status=status)
    if error is None:
        response["HX-Trigger"] = CHANGED
    return response


def _step(
    request: ConsoleRequest,
    appointment_id: int,
    step: Callable[[Appointment, Staff], Appointment],
    done: str,
) -> HttpResponse:
    appointment = _appointment(request, appointment_id)
    try:
        changed = step(appointment, request.access.staff)
    except DomainError as e:
        return _after(request, appointment_id, error=e)
    return _after(
        request,
        appointment_id,
        done=changed,
        notice=done % {"patient": changed.patient.name},
    )


@require_POST
@console_page("schedule.book")
def appointment_confirm(request: ConsoleRequest, appointment_id: int) -> HttpResponse:
    return _step(
        request,
        appointment_id,
        lambda a, staff: services.appointment_confirm(appointment=a, actor=staff),
        _("%(patient)s is confirmed."),
    )


@require_POST
@console_page("schedule.book")
def appointment_check_in(request: ConsoleRequest, appointment_id: int) -> HttpResponse:
    return _step(
        request,
        appointment_id,
        lambda a, staff: services.appointment_check_in(appointment=a, actor=staff),
        _("%(patient)s is checked in."),
    )


@require_POST
@console_page("schedule.book")
def appointment_no_show(request: ConsoleRequest, appointment_id: int) -> HttpResponse:
    return _step(
        request,
        appointment_id,
        lambda a, staff: services.appointment_mark_no_show(appointment=a, actor=staff),
        _("%(patient)s is marked as a no-show."),
    )


@require_POST
@console_page("schedule.treat")
def appointment_start(request: ConsoleRequest, appointment_id: int) -> HttpResponse:
    return _step(
        request,
        appointment_id,
        lambda a, staff: services.appointment_start(appointment=a, actor=staff),
        _("Treatment of %(patient)s has started."),
    )


@require_POST
@console_page("schedule.treat")
def appointment_complete(request: ConsoleRequest, appointment_id: int) -> HttpResponse:
    return _step(
        request,
        appointment_id,
        lambda a, staff: services.appointment_complete(appointment=a, actor=staff),
        _("Treatment of %(patient)s is completed."),
    )


@require_POST
@console_page("schedule.book")
def appointment_cancel(request: ConsoleRequest, appointment_id: int) -> HttpResponse:
    appointment = _appointment(request, appointment_id)
    form = CancelForm(request.POST)
    status = 400
    if form.is_valid():
        try:
            cancelled = services.appointment_cancel(
                appointment=appointment,
                actor=request.access.staff,
                reason=form.cleaned_data["reason"],
            )
        except DomainError as e:
            if not e.fields:
                return _after(request, appointment_id, error=e)
            attach_errors(form, e)
            status = e.status
        else:
            notice = _("The appointment of %(patient)s is cancelled.") % {
                "patient": cancelled.patient.name
            }
            return _after(request, appointment_id, done=cancelled, notice=notice)
    context = _detail_context(request, appointment, cancel_form=form, open_form="cancel")
    return _drawer(request, DRAWER, context, title=_("Appointment"), status=status)


@require_POST
@console_page("schedule.book")
def appointment_move(request: ConsoleRequest, appointment_id: int) -> HttpResponse:
    """Reschedule to a new day, time, doctor or chair; the history keeps where it was."""
    appointment = _appointment(request, appointment_id)
    form = _move_form(appointment, request.POST)
    status = 400
    if form.is_valid():
        start, end = form.period()
        chair_id = form.cleaned_data["chair_id"]
        try:
            moved = services.appointment_reschedule(
                appointment=appointment,
                start=start,
                end=end,
                doctor=form.doctors[form.cleaned_data["doctor_id"]],
                chair=form.chairs.get(chair_id) if chair_id else None,
                actor=request.access.staff,
                allow_outside_hours=form.cleaned_data["allow_outside_hours"],
                reason=form.cleaned_data["reason"],
            )
        except DomainError as e:
            attach_errors(form, e)
            status = e.status
        else:
            notice = _("Moved to %(when)s.") % {
                "when": _where(moved.start, moved.end, moved.doctor, None, moved.clinic)
            }
            return _after(request, appointment_id, done=moved, notice=notice)
    context = _detail_context(request, appointment, move_form=form, open_form="move")
    return _drawer(request, DRAWER, context, title=_("Appointment"), status=status)


# --- booking and walk-ins --------------------------------------------------------------


def _booking_lists(clinic: Clinic) -> dict[str, Any]:
    return {
        "doctors": calendar.clinic_doctors(clinic=clinic),
        "chairs": list(selectors.chair_list(clinic=clinic)),
        "types": list(selectors.appointment_type_list()),
    }


def _patient(patient_id: int) -> Patient:
    """The patient picked; another organization's is "not found" at the picker, not a 404."""
    try:
        return patient_selectors.get_patient(patient_id=patient_id, include_archived=False)
    except NotFound as e:
        raise ValidationFailed(e.message, field="patient_id") from e


def _picked(form: AppointmentForm | WalkInForm) -> Patient | None:
    """The patient chosen in the picker, to show their name again."""
    patient_id = _int(str(form["patient_id"].value() or ""))
    if patient_id is None:
        return None
    try:
        return patient_selectors.get_patient(patient_id=patient_id, include_archived=False)
    except NotFound:
        return None


def _booked(request: ConsoleRequest, appointment: Appointment, notice: str) -> HttpResponse:
    """The new appointment's drawer, and the calendar told to show it."""
    if not _is_htmx(request):
        messages.success(request, notice)
        day = local(appointment.start, appointment.clinic).date()
        return redirect(CalendarState(day=day).url())
    response = _render(request, DRAWER, _detail_context(request, appointment, notice=notice))
    response["HX-Trigger"] = CHANGED
    return response


def _book_form_page(
    request: ConsoleRequest,
    form: AppointmentForm | WalkInForm,
    *,
    template: str,
    title: str,
    status: int = 200,
) -> HttpResponse:
    context = {
        "form": form,
        "patient": _picked(form),
        "types": list(form.types.values()),
    }
    return _drawer(request, template, context, title=title, status=status)


@require_http_methods(["GET", "POST"])
@console_page("schedule.book")
def appointment_new(request: ConsoleRequest) -> HttpResponse:
    """Book from the calendar: the slot clicked (day, time, doctor or chair) is pre-filled."""
    access = request.access
    clinic = access.clinic
    lists = _booking_lists(clinic)
    template, title = "scheduling/_drawer_book.html", _("New appointment")
    if request.method != "POST":
        query = request.GET
        kind = next(
            (t for t in lists["types"] if t.pk == _int(query.get("appointment_type"))), None
        )
        initial = {
            "date": _day(query.get("date"), clinic),
            "start": initial_time(query.get("time")) or _next_quarter(clinic),
            "doctor_id": _int(query.get("doctor")),
            "chair_id": _int(query.get("chair")),
            "patient_id": _int(query.get("patient")),
            "appointment_type_id": kind.pk if kind else None,
            "minutes": kind.duration_minutes if kind else DEFAULT_MINUTES,
        }
        form = AppointmentForm(initial=initial, **lists)
        return _book_form_page(request, form, template=template, title=title)
    form = AppointmentForm(request.POST, **lists)
    status = 400
    if form.is_valid():
        data = form.cleaned_data
        try:
            patient = _patient(data["patient_id"])
            start, end = form.period()
            appointment = services.appointment_book(
                clinic=clinic,
                patient=patient,
                start=start,
                end=end,
                note=data["note"],
                actor=access.staff,
                allow_outside_hours=data["allow_outside_hours"],
                **form.parties(),
            )
        except DomainError as e:
            attach_errors(form, e)
            status = e.status
        else:
            notice = _("%(patient)s is booked for %(when)s.") % {
                "patient": patient.name,
                "when": _where(
                    appointment.start, appointment.end, appointment.doctor, None, clinic
                ),
            }
            return _booked(request, appointment, notice)
    return _book_form_page(request, form, template=template, title=title, status=status)


@require_http_methods(["GET", "POST"])
@console_page("schedule.book")
def walk_in(request: ConsoleRequest) -> HttpResponse:
    """A patient without an appointment: booked from now and checked in at once."""
    access = request.access
    clinic = access.clinic
    lists = _booking_lists(clinic)
    template, title = "scheduling/_drawer_walk_in.html", _("Walk-in visit")
    if request.method != "POST":
        initial = {
            "doctor_id": _int(request.GET.get("doctor")),
            "patient_id": _int(request.GET.get("patient")),
        }
        form = WalkInForm(initial=initial, **lists)
        return _book_form_page(request, form, template=template, title=title)
    form = WalkInForm(request.POST, **lists)
    status = 400
    if form.is_valid():
        data = form.cleaned_data
        try:
            patient = _patient(data["patient_id"])
            appointment = services.appointment_walk_in(
                clinic=clinic,
                patient=patient,
                note=data["note"],
                actor=access.staff,
                **form.parties(),
            )
        except DomainError as e:
            attach_errors(form, e)
            status = e.status
        else:
            notice = _("%(patient)s is checked in with %(doctor)s.") % {
                "patient": patient.name,
                "doctor": appointment.doctor,
            }
            return _booked(request, appointment, notice)
    return _book_form_page(request, form, template=template, title=title, status=status)


def _next_quarter(clinic: Clinic) -> Any:
    """The next quarter hour on the clinic's clock: where a booking for today usually goes."""
    now = clinic_now(clinic).replace(second=0, microsecond=0)
    now += timedelta(minutes=-now.minute % calendar.SLOT_MINUTES)
    return now.time()


# --- today's work ----------------------------------------------------------------------


@dataclass(frozen=True)
class TodayRow:
    appointment: Appointment
    late_minutes: int = 0

    @property
    def late_hours(self) -> int:
        return self.late_minutes // 60


def _today_context(request: ConsoleRequest, wanted: str) -> dict[str, Any]:
    """Today's board: counts for the clinic and per doctor (the staff member's own first),
    and the lists, of one doctor when `wanted` names one ("mine" or an id)."""
    access = request.access
    clinic = access.clinic
    own = _own_only(request)
    day = clinic_today(clinic)
    board = selectors.today_board(clinic=clinic, day=day, doctor=own)
    me = access.staff
    columns = sorted(board.doctors, key=lambda c: c.doctor is None or c.doctor.pk != me.pk)
    i_work = any(c.doctor is not None and c.doctor.pk == me.pk for c in columns)
    selected = own
    if selected is None and wanted == "mine" and i_work:
        selected = me
    elif selected is None and _int(wanted) is not None:
        selected = next(
            (c.doctor for c in columns if c.doctor is not None and c.doctor.pk == _int(wanted)),
            None,
        )
    appointments = board.clinic.appointments
    if selected is not None:
        appointments = [a for a in appointments if a.doctor_id == selected.pk]
    now = timezone.now()

    def rows(*statuses: str) -> list[TodayRow]:
        return [
            TodayRow(a, max(0, int((now - a.start).total_seconds() // 60)))
            for a in appointments
            if a.status in statuses
        ]

    waiting = rows(AppointmentStatus.ARRIVED)
    in_treatment = rows(AppointmentStatus.IN_TREATMENT)
    completed = rows(AppointmentStatus.COMPLETED)
    if selected is None:
        filter_value = ""
    elif selected.pk == me.pk and own is None:
        filter_value = "mine"
    else:
        filter_value = str(selected.pk)
    today_url = reverse("scheduling:today")
    filters = [] if own is not None else [("", _("All doctors"))]
    if i_work and own is None:
        filters.append(("mine", _("Mine")))
    if own is None:
        filters += [(str(c.doctor.pk), str(c.doctor)) for c in columns if c.doctor is not None]
    return {
        "day": day,
        "board": board,
        "columns": columns,
        "selected": selected,
        "own_only": own is not None,
        "me": me,
        "filter": filter_value,
        "filters": [
            (value, label, f"{today_url}?{urlencode({'doctor': value})}" if value else today_url)
            for value, label in filters
        ],
        "poll_url": (
            f"{today_url}?{urlencode({'doctor': filter_value})}" if filter_value else today_url
        ),
        "not_arrived": rows(*NOT_ARRIVED_STATUSES),
        "waiting": waiting,
        "in_treatment": in_treatment,
        "completed": completed,
        "arrived_count": len(waiting) + len(in_treatment) + len(completed),
        "released": rows(*RELEASED_STATUSES),
        "updated_at": clinic_now(clinic),
        "can_book": access.can("schedule.book"),
        "can_treat": access.can("schedule.treat"),
        "calendar_url": CalendarState(day=day).url(),
    }


@require_safe
@schedule_page
def today(request: ConsoleRequest) -> HttpResponse:
    """Today's work (今日工作): who has arrived and who is still expected, as visits and as
    persons; refreshed by htmx every 30 seconds."""
    context = _today_context(request, request.GET.get("doctor", ""))
    if _is_partial(request):
        return _render(request, "scheduling/_today_board.html", context)
    # Other apps' panels below the board (today's treatment plans).
    context["panels"] = panels_for("CHAIRSIDE_TODAY_PANELS", request, context["day"])
    return _render(request, "scheduling/today.html", context)
