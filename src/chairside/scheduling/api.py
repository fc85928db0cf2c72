"""API of scheduling: chairs, appointment types, shifts and leave, appointments and their
lifecycle, free slots and today's board, all in the acting clinic (X-Clinic-Id).

Each handler checks its permission, looks objects up through the selectors (another
clinic's or organization's objects are 404, like missing ones) and makes one service call.
Staff who may only see their own schedule (doctors) get their own appointments, whatever
they filter by.
"""

from __future__ import annotations

from datetime import timedelta

from django.http import HttpRequest
from django.urls import reverse
from ninja import Query, Router
from ninja.responses import Status

from chairside.core.access import Access
from chairside.core.api_auth import AUTH_ERRORS, LOOKUP_ERRORS, access_of, error_responses
from chairside.core.clock import clinic_today
from chairside.core.models import Staff
from chairside.core.schemas import PathId
from chairside.core.selectors import get_clinic
from chairside.patients.selectors import get_patient
from chairside.scheduling import selectors, services
from chairside.scheduling.analytics import booking_analytics
from chairside.scheduling.analytics_schemas import (
    AnalyticsQuery,
    BookingAnalyticsOut,
    FollowUpCloseIn,
    FollowUpOut,
    FollowUpQuery,
)
from chairside.scheduling.models import (
    OPEN_RECALL_STATUSES,
    Appointment,
    CalendarFeed,
    Chair,
    Symptom,
)
from chairside.scheduling.notices import reminder_settings_for
from chairside.scheduling.schemas import (
    AppointmentDetailOut,
    AppointmentIn,
    AppointmentOut,
    AppointmentPage,
    AppointmentQuery,
    AppointmentTypeIn,
    AppointmentTypeOut,
    AppointmentTypeUpdateIn,
    BoardQuery,
    CalendarFeedIn,
    CalendarFeedOut,
    CancelIn,
    ChairIn,
    ChairOut,
    ChairUpdateIn,
    DoctorQuery,
    FreeSlotQuery,
    IncludeInactiveQuery,
    RecallBookIn,
    RecallNoteIn,
    RecallOut,
    RecallPage,
    RecallQuery,
    RecallRuleIn,
    RecallRuleOut,
    RecallRuleUpdateIn,
    ReminderSettingsIn,
    ReminderSettingsOut,
    RescheduleIn,
    ScheduleExceptionIn,
    ScheduleExceptionOut,
    ScheduleExceptionQuery,
    ShiftIn,
    ShiftOut,
    SlotOut,
    SuggestionOut,
    SymptomOut,
    TodayBoardOut,
    TriageIn,
    TriageRuleIn,
    TriageRuleOut,
    TriageRuleUpdateIn,
    WalkInIn,
)
from chairside.scheduling.services import follow_ups

router = Router(tags=["scheduling"])

# Writes that can meet a double booking, an overlap or a step the status does not allow.
CONFLICT_ERRORS = error_responses(400, 401, 403, 404, 409)


def _own_only(access: Access) -> Staff | None:
    """None for those who see the whole clinic; the caller, for those who see their own."""
    if access.can("schedule.view"):
        return None
    if not access.can("schedule.view_own"):
        access.require("schedule.view")
    return access.staff


def _doctor_filter(access: Access, doctor_id: int | None) -> Staff | None:
    own = _own_only(access)
    if own is not None:
        return own
    return None if doctor_id is None else selectors.get_doctor(doctor_id=doctor_id)


# --- chairs ---------------------------------------------------------------------------


@router.get("/chairs", response={200: list[ChairOut], **AUTH_ERRORS}, summary="List chairs")
def chair_list(request: HttpRequest, filters: Query[IncludeInactiveQuery]) -> list[ChairOut]:
    access = access_of(request)
    _own_only(access)
    chairs = selectors.chair_list(clinic=access.clinic, include_inactive=filters.include_inactive)
    return [ChairOut.of(c) for c in chairs]


@router.post("/chairs", response={201: ChairOut, **AUTH_ERRORS}, summary="Add a chair")
def chair_create(request: HttpRequest, payload: ChairIn) -> Status[ChairOut]:
    access = access_of(request)
    access.require("schedule.manage")
    chair = services.chair_create(actor=access.staff, clinic=access.clinic, **payload.model_dump())
    return Status(201, ChairOut.of(chair))


@router.patch(
    "/chairs/{int:chair_id}", response={200: ChairOut, **LOOKUP_ERRORS}, summary="Edit a chair"
)
def chair_update(request: HttpRequest, chair_id: PathId, payload: ChairUpdateIn) -> ChairOut:
    """Rename it, or take it out of service (is_active false); booked visits stay."""
    access = access_of(request)
    access.require("schedule.manage")
    chair = selectors.get_chair(clinic=access.clinic, chair_id=chair_id)
    chair = services.chair_update(
        actor=access.staff, chair=chair, **payload.model_dump(exclude_unset=True)
    )
    return ChairOut.of(chair)


# --- appointment types ----------------------------------------------------------------


@router.get(
    "/appointment-types",
    response={200: list[AppointmentTypeOut], **AUTH_ERRORS},
    summary="List appointment types",
)
def appointment_type_list(
    request: HttpRequest, filters: Query[IncludeInactiveQuery]
) -> list[AppointmentTypeOut]:
    """The organization's types, shared by all its clinics."""
    _own_only(access_of(request))
    types = selectors.appointment_type_list(include_inactive=filters.include_inactive)
    return [AppointmentTypeOut.of(t) for t in types]


@router.post(
    "/appointment-types",
    response={201: AppointmentTypeOut, **AUTH_ERRORS},
    summary="Add an appointment type",
)
def appointment_type_create(
    request: HttpRequest, payload: AppointmentTypeIn
) -> Status[AppointmentTypeOut]:
    access = access_of(request)
    access.require("schedule.manage")
    appointment_type = services.appointment_type_create(actor=access.staff, **payload.model_dump())
    return Status(201, AppointmentTypeOut.of(appointment_type))


@router.patch(
    "/appointment-types/{int:appointment_type_id}",
    response={200: AppointmentTypeOut, **LOOKUP_ERRORS},
    summary="Edit an appointment type",
)
def appointment_type_update(
    request: HttpRequest, appointment_type_id: PathId, payload: AppointmentTypeUpdateIn
) -> AppointmentTypeOut:
    access = access_of(request)
    access.require("schedule.manage")
    appointment_type = selectors.get_appointment_type(appointment_type_id=appointment_type_id)
    appointment_type = services.appointment_type_update(
        actor=access.staff,
        appointment_type=appointment_type,
        **payload.model_dump(exclude_unset=True),
    )
    return AppointmentTypeOut.of(appointment_type)


# --- shifts and leave -----------------------------------------------------------------


@router.get("/shifts", response={200: list[ShiftOut], **LOOKUP_ERRORS}, summary="List shifts")
def shift_list(request: HttpRequest, filters: Query[DoctorQuery]) -> list[ShiftOut]:
    """The weekly shifts at the acting clinic, by doctor and weekday."""
    access = access_of(request)
    doctor = _doctor_filter(access, filters.doctor)
    return [ShiftOut.of(s) for s in selectors.shift_list(clinic=access.clinic, doctor=doctor)]


@router.post("/shifts", response={201: ShiftOut, **CONFLICT_ERRORS}, summary="Add a shift")
def shift_create(request: HttpRequest, payload: ShiftIn) -> Status[ShiftOut]:
    """A weekly shift of a doctor at the acting clinic; 409 if it overlaps another of theirs."""
    access = access_of(request)
    access.require("schedule.manage")
    doctor = selectors.get_doctor(doctor_id=payload.doctor_id)
    shift = services.shift_create(
        actor=access.staff,
        clinic=access.clinic,
        doctor=doctor,
        weekday=payload.weekday,
        start=payload.start,
        end=payload.end,
    )
    return Status(201, ShiftOut.of(shift))


@router.delete(
    "/shifts/{int:shift_id}", response={204: None, **LOOKUP_ERRORS}, summary="Remove a shift"
)
def shift_delete(request: HttpRequest, shift_id: PathId) -> Status[None]:
    access = access_of(request)
    access.require("schedule.manage")
    shift = selectors.get_shift(clinic=access.clinic, shift_id=shift_id)
    services.shift_delete(actor=access.staff, shift=shift)
    return Status(204, None)


@router.get(
    "/schedule-exceptions",
    response={200: list[ScheduleExceptionOut], **LOOKUP_ERRORS},
    summary="List leave and extra shifts",
)
def schedule_exception_list(
    request: HttpRequest, filters: Query[ScheduleExceptionQuery]
) -> list[ScheduleExceptionOut]:
    """At the acting clinic, from date_from (default today) to date_to (at most 62 days)."""
    access = access_of(request)
    doctor = _doctor_filter(access, filters.doctor)
    first = filters.date_from or clinic_today(access.clinic)
    exceptions = selectors.schedule_exception_list(
        clinic=access.clinic, date_from=first, date_to=filters.date_to or first, doctor=doctor
    )
    return [ScheduleExceptionOut.of(e) for e in exceptions]


@router.post(
    "/schedule-exceptions",
    response={201: ScheduleExceptionOut, **CONFLICT_ERRORS},
    summary="Add leave or an extra shift",
)
def schedule_exception_create(
    request: HttpRequest, payload: ScheduleExceptionIn
) -> Status[ScheduleExceptionOut]:
    """Leave over booked appointments is 409 until they are moved or cancelled."""
    access = access_of(request)
    access.require("schedule.manage")
    doctor = selectors.get_doctor(doctor_id=payload.doctor_id)
    exception = services.schedule_exception_create(
        actor=access.staff,
        clinic=access.clinic,
        doctor=doctor,
        day=payload.date,
        kind=payload.kind,
        start=payload.start,
        end=payload.end,
        reason=payload.reason,
    )
    return Status(201, ScheduleExceptionOut.of(exception))


@router.delete(
    "/schedule-exceptions/{int:exception_id}",
    response={204: None, **LOOKUP_ERRORS},
    summary="Remove leave or an extra shift",
)
def schedule_exception_delete(request: HttpRequest, exception_id: PathId) -> Status[None]:
    access = access_of(request)
    access.require("schedule.manage")
    exception = selectors.get_schedule_exception(clinic=access.clinic, exception_id=exception_id)
    services.schedule_exception_delete(actor=access.staff, exception=exception)
    return Status(204, None)


# --- appointments ---------------------------------------------------------------------


@router.get(
    "/appointments",
    response={200: AppointmentPage, **LOOKUP_ERRORS},
    summary="List appointments",
)
def appointment_list(request: HttpRequest, filters: Query[AppointmentQuery]) -> AppointmentPage:
    """The acting clinic's appointments starting from date_from (default today) to date_to
    (default date_from; at most 62 days), by start time, a page at a time."""
    access = access_of(request)
    doctor = _doctor_filter(access, filters.doctor)
    chair = (
        selectors.get_chair(clinic=access.clinic, chair_id=filters.chair) if filters.chair else None
    )
    first = filters.date_from or clinic_today(access.clinic)
    appointments = selectors.appointment_list(
        clinic=access.clinic,
        date_from=first,
        date_to=filters.date_to or first,
        doctor=doctor,
        chair=chair,
        statuses=[filters.status] if filters.status else (),
    )
    page = selectors.paginate(appointments, page=filters.page, page_size=filters.page_size)
    return AppointmentPage.of(
        page,
        [AppointmentOut.of(a) for a in page.items],
    )


@router.post(
    "/appointments",
    response={201: AppointmentOut, **CONFLICT_ERRORS},
    summary="Book an appointment",
)
def appointment_create(request: HttpRequest, payload: AppointmentIn) -> Status[AppointmentOut]:
    """409 names the clash when the doctor or the chair is already booked."""
    access = access_of(request)
    access.require("schedule.book")
    appointment = services.appointment_book(
        clinic=access.clinic,
        patient=get_patient(patient_id=payload.patient_id, include_archived=False),
        doctor=selectors.get_doctor(doctor_id=payload.doctor_id),
        start=payload.start,
        end=payload.end,
        chair=(
            selectors.get_chair(clinic=access.clinic, chair_id=payload.chair_id)
            if payload.chair_id
            else None
        ),
        appointment_type=(
            selectors.get_appointment_type(appointment_type_id=payload.appointment_type_id)
            if payload.appointment_type_id
            else None
        ),
        source=payload.source,
        note=payload.note,
        actor=access.staff,
        allow_outside_hours=payload.allow_outside_hours,
    )
    return Status(201, AppointmentOut.of(appointment))


@router.post(
    "/appointments/walk-in",
    response={201: AppointmentOut, **CONFLICT_ERRORS},
    summary="Register a walk-in",
)
def appointment_walk_in(request: HttpRequest, payload: WalkInIn) -> Status[AppointmentOut]:
    """A patient without an appointment: booked from now and checked in at once."""
    access = access_of(request)
    access.require("schedule.book")
    appointment = services.appointment_walk_in(
        clinic=access.clinic,
        patient=get_patient(patient_id=payload.patient_id, include_archived=False),
        doctor=selectors.get_doctor(doctor_id=payload.doctor_id),
        chair=(
            selectors.get_chair(clinic=access.clinic, chair_id=payload.chair_id)
            if payload.chair_id
            else None
        ),
        appointment_type=(
            selectors.get_appointment_type(appointment_type_id=payload.appointment_type_id)
            if payload.appointment_type_id
            else None
        ),
        minutes=payload.minutes,
        note=payload.note,
        actor=access.staff,
    )
    return Status(201, AppointmentOut.of(appointment))


@router.get(
    "/appointments/{int:appointment_id}",
    response={200: AppointmentDetailOut, **LOOKUP_ERRORS},
    summary="Get an appointment with its history",
)
def appointment_detail(request: HttpRequest, appointment_id: PathId) -> AppointmentDetailOut:
    access = access_of(request)
    appointment = selectors.get_appointment(
        clinic=access.clinic, appointment_id=appointment_id, doctor=_own_only(access)
    )
    history = selectors.appointment_history(appointment=appointment)
    return AppointmentDetailOut.of_history(appointment, history)


def _for_desk(request: HttpRequest, appointment_id: int) -> tuple[Access, Appointment]:
    access = access_of(request)
    access.require("schedule.book")
    return access, selectors.get_appointment(clinic=access.clinic, appointment_id=appointment_id)


def _for_doctor(request: HttpRequest, appointment_id: int) -> tuple[Access, Appointment]:
    """Doctors start and complete their own patients; those who see the clinic, anyone's."""
    access = access_of(request)
    access.require("schedule.treat")
    doctor = None if access.can("schedule.view") else access.staff
    appointment = selectors.get_appointment(
        clinic=access.clinic, appointment_id=appointment_id, doctor=doctor
    )
    return access, appointment


@router.post(
    "/appointments/{int:appointment_id}/confirm",
    response={200: AppointmentOut, **CONFLICT_ERRORS},
    summary="Confirm an appointment",
)
def appointment_confirm(request: HttpRequest, appointment_id: PathId) -> AppointmentOut:
    access, appointment = _for_desk(request, appointment_id)
    return AppointmentOut.of(
        services.appointment_confirm(appointment=appointment, actor=access.staff)
    )


@router.post(
    "/appointments/{int:appointment_id}/check-in",
    response={200: AppointmentOut, **CONFLICT_ERRORS},
    summary="Check a patient in",
)
def appointment_check_in(request: HttpRequest, appointment_id: PathId) -> AppointmentOut:
    """The patient has arrived (only on the appointment's day)."""
    access, appointment = _for_desk(request, appointment_id)
    return AppointmentOut.of(
        services.appointment_check_in(appointment=appointment, actor=access.staff)
    )


@router.post(
    "/appointments/{int:appointment_id}/start",
    response={200: AppointmentOut, **CONFLICT_ERRORS},
    summary="Start treatment",
)
def appointment_start(request: HttpRequest, appointment_id: PathId) -> AppointmentOut:
    access, appointment = _for_doctor(request, appointment_id)
    return AppointmentOut.of(
        services.appointment_start(appointment=appointment, actor=access.staff)
    )


@router.post(
    "/appointments/{int:appointment_id}/complete",
    response={200: AppointmentOut, **CONFLICT_ERRORS},
    summary="Complete treatment",
)
def appointment_complete(request: HttpRequest, appointment_id: PathId) -> AppointmentOut:
    access, appointment = _for_doctor(request, appointment_id)
    return AppointmentOut.of(
        services.appointment_complete(appointment=appointment, actor=access.staff)
    )


@router.post(
    "/appointments/{int:appointment_id}/cancel",
    response={200: AppointmentOut, **CONFLICT_ERRORS},
    summary="Cancel an appointment",
)
def appointment_cancel(
    request: HttpRequest, appointment_id: PathId, payload: CancelIn
) -> AppointmentOut:
    access, appointment = _for_desk(request, appointment_id)
    return AppointmentOut.of(
        services.appointment_cancel(
            appointment=appointment, actor=access.staff, reason=payload.reason
        )
    )


@router.post(
    "/appointments/{int:appointment_id}/no-show",
    response={200: AppointmentOut, **CONFLICT_ERRORS},
    summary="Mark a no-show",
)
def appointment_no_show(request: HttpRequest, appointment_id: PathId) -> AppointmentOut:
    """Only once the appointment's start time has passed."""
    access, appointment = _for_desk(request, appointment_id)
    return AppointmentOut.of(
        services.appointment_mark_no_show(appointment=appointment, actor=access.staff)
    )


@router.post(
    "/appointments/{int:appointment_id}/reschedule",
    response={200: AppointmentOut, **CONFLICT_ERRORS},
    summary="Move an appointment",
)
def appointment_reschedule(
    request: HttpRequest, appointment_id: PathId, payload: RescheduleIn
) -> AppointmentOut:
    """New time, doctor or chair; the old ones stay in the history. 409 names any clash."""
    access, appointment = _for_desk(request, appointment_id)
    chair: Chair | services.Keep | None = services.KEEP
    if "chair_id" in payload.model_fields_set:
        chair = (
            selectors.get_chair(clinic=access.clinic, chair_id=payload.chair_id)
            if payload.chair_id
            else None
        )
    moved = services.appointment_reschedule(
        appointment=appointment,
        start=payload.start,
        end=payload.end,
        doctor=selectors.get_doctor(doctor_id=payload.doctor_id) if payload.doctor_id else None,
        chair=chair,
        actor=access.staff,
        allow_outside_hours=payload.allow_outside_hours,
        reason=payload.reason,
    )
    return AppointmentOut.of(moved)


# --- free slots and the day's board ---------------------------------------------------


@router.get(
    "/free-slots", response={200: list[SlotOut], **LOOKUP_ERRORS}, summary="Find free slots"
)
def free_slots(request: HttpRequest, filters: Query[FreeSlotQuery]) -> list[SlotOut]:
    """Where an appointment of the type's duration (or `minutes`) fits at the acting clinic,
    from date_from (default today) to date_to (at most 31 days). Public holidays skip the
    weekly shifts; make-up workdays use their weekday's. With `patient`, time held back for
    priority patients is left out unless that patient may use it."""
    access = access_of(request)
    doctor = _doctor_filter(access, filters.doctor)
    first = filters.date_from or clinic_today(access.clinic)
    slots = selectors.free_slots(
        clinic=access.clinic,
        date_from=first,
        date_to=filters.date_to or first,
        appointment_type=(
            selectors.get_appointment_type(appointment_type_id=filters.appointment_type)
            if filters.appointment_type
            else None
        ),
        minutes=filters.minutes,
        doctor=doctor,
        step_minutes=filters.step,
        patient=get_patient(patient_id=filters.patient) if filters.patient else None,
        honour_priority=filters.patient is not None,
    )
    return [SlotOut.of(s) for s in slots]


@router.get("/today-board", response={200: TodayBoardOut, **AUTH_ERRORS}, summary="Today's work")
def today_board(request: HttpRequest, filters: Query[BoardQuery]) -> TodayBoardOut:
    """Per doctor and for the clinic: arrived and not yet arrived, as visits (人次) and
    persons (人数), with the appointments."""
    access = access_of(request)
    board = selectors.today_board(
        clinic=access.clinic,
        day=filters.date or clinic_today(access.clinic),
        doctor=_own_only(access),
    )
    return TodayBoardOut.of(board)


# --- auto-triage (S6) -----------------------------------------------------------------

TRIAGE = ["triage"]


def _triage_rule_refs(payload: TriageRuleIn | TriageRuleUpdateIn) -> dict[str, object]:
    """The objects a rule names, looked up in the organization (404 for anyone else's)."""
    fields = payload.model_fields_set
    refs: dict[str, object] = {}
    if "appointment_type_id" in fields or isinstance(payload, TriageRuleIn):
        type_id = payload.appointment_type_id
        refs["appointment_type"] = (
            selectors.get_appointment_type(appointment_type_id=type_id) if type_id else None
        )
    if "clinic_id" in fields or isinstance(payload, TriageRuleIn):
        refs["clinic"] = (
            get_clinic(clinic_id=payload.clinic_id) if payload.clinic_id is not None else None
        )
    if payload.doctor_ids is not None:
        refs["doctors"] = [selectors.get_doctor(doctor_id=i) for i in payload.doctor_ids]
    return refs


@router.get(
    "/triage/symptoms",
    response={200: list[SymptomOut], **AUTH_ERRORS},
    tags=TRIAGE,
    summary="List symptoms",
)
def triage_symptoms(request: HttpRequest) -> list[SymptomOut]:
    """The symptoms a complaint can tick, with their labels in the request's language."""
    _own_only(access_of(request))
    return [SymptomOut(code=s.value, label=str(s.label)) for s in Symptom]


@router.post(
    "/triage",
    response={200: list[SuggestionOut], **AUTH_ERRORS},
    tags=TRIAGE,
    summary="Suggest department, type and doctors",
)
def triage(request: HttpRequest, payload: TriageIn) -> list[SuggestionOut]:
    """From a complaint's words and ticked symptoms, best first; doctors of the acting clinic."""
    access = access_of(request)
    access.require("schedule.view")
    suggestions = selectors.triage_suggest(
        clinic=access.clinic, text=payload.text, symptoms=payload.symptoms
    )
    return [SuggestionOut.of(s) for s in suggestions]


@router.get(
    "/triage-rules",
    response={200: list[TriageRuleOut], **AUTH_ERRORS},
    tags=TRIAGE,
    summary="List triage rules",
)
def triage_rule_list(request: HttpRequest) -> list[TriageRuleOut]:
    """Every rule of the organization, in priority order."""
    access_of(request).require("schedule.manage")
    return [TriageRuleOut.of(r) for r in selectors.triage_rule_list()]


@router.post(
    "/triage-rules",
    response={201: TriageRuleOut, **LOOKUP_ERRORS},
    tags=TRIAGE,
    summary="Add a triage rule",
)
def triage_rule_create(request: HttpRequest, payload: TriageRuleIn) -> Status[TriageRuleOut]:
    access = access_of(request)
    access.require("schedule.manage")
    rule = services.triage_rule_create(
        actor=access.staff,
        name=payload.name,
        keywords=payload.keywords,
        symptoms=payload.symptoms,
        department=payload.department,
        priority=payload.priority,
        is_active=payload.is_active,
        **_triage_rule_refs(payload),  # type: ignore[arg-type]
    )
    return Status(201, TriageRuleOut.of(selectors.get_triage_rule(rule_id=rule.pk)))


@router.get(
    "/triage-rules/{int:rule_id}",
    response={200: TriageRuleOut, **LOOKUP_ERRORS},
    tags=TRIAGE,
    summary="Get a triage rule",
)
def triage_rule_detail(request: HttpRequest, rule_id: PathId) -> TriageRuleOut:
    access_of(request).require("schedule.manage")
    return TriageRuleOut.of(selectors.get_triage_rule(rule_id=rule_id))


@router.patch(
    "/triage-rules/{int:rule_id}",
    response={200: TriageRuleOut, **LOOKUP_ERRORS},
    tags=TRIAGE,
    summary="Edit a triage rule",
)
def triage_rule_update(
    request: HttpRequest, rule_id: PathId, payload: TriageRuleUpdateIn
) -> TriageRuleOut:
    access = access_of(request)
    access.require("schedule.manage")
    rule = selectors.get_triage_rule(rule_id=rule_id)
    plain = payload.model_dump(
        exclude_unset=True, exclude={"appointment_type_id", "clinic_id", "doctor_ids"}
    )
    services.triage_rule_update(
        actor=access.staff,
        rule=rule,
        **plain,
        **_triage_rule_refs(payload),  # type: ignore[arg-type]
    )
    return TriageRuleOut.of(selectors.get_triage_rule(rule_id=rule_id))


@router.delete(
    "/triage-rules/{int:rule_id}",
    response={204: None, **LOOKUP_ERRORS},
    tags=TRIAGE,
    summary="Remove a triage rule",
)
def triage_rule_delete(request: HttpRequest, rule_id: PathId) -> Status[None]:
    access = access_of(request)
    access.require("schedule.manage")
    services.triage_rule_delete(actor=access.staff, rule=selectors.get_triage_rule(rule_id=rule_id))
    return Status(204, None)


# --- recall (S7) ----------------------------------------------------------------------

RECALL = ["recall"]
RECALL_CONFLICT_ERRORS = error_responses(400, 401, 403, 404, 409)


def _recall_rule_refs(payload: RecallRuleIn | RecallRuleUpdateIn) -> dict[str, object]:
    refs: dict[str, object] = {}
    if payload.recall_type_id is not None:
        refs["recall_type"] = selectors.get_appointment_type(
            appointment_type_id=payload.recall_type_id
        )
    if payload.trigger_type_ids is not None:
        refs["trigger_types"] = [
            selectors.get_appointment_type(appointment_type_id=i) for i in payload.trigger_type_ids
        ]
    return refs


@router.get(
    "/recall-rules",
    response={200: list[RecallRuleOut], **AUTH_ERRORS},
    tags=RECALL,
    summary="List recall rules",
)
def recall_rule_list(request: HttpRequest) -> list[RecallRuleOut]:
    _own_only(access_of(request))
    return [RecallRuleOut.of(r) for r in selectors.recall_rule_list()]


@router.post(
    "/recall-rules",
    response={201: RecallRuleOut, **LOOKUP_ERRORS},
    tags=RECALL,
    summary="Add a recall rule",
)
def recall_rule_create(request: HttpRequest, payload: RecallRuleIn) -> Status[RecallRuleOut]:
    """E.g. six months after a cleaning, recall for a cleaning. Recalls are made daily."""
    access = access_of(request)
    access.require("schedule.manage")
    plain = payload.model_dump(exclude={"recall_type_id", "trigger_type_ids"})
    rule = services.recall_rule_create(
        actor=access.staff,
        **plain,
        **_recall_rule_refs(payload),  # type: ignore[arg-type]
    )
    return Status(201, RecallRuleOut.of(selectors.get_recall_rule(rule_id=rule.pk)))


@router.patch(
    "/recall-rules/{int:rule_id}",
    response={200: RecallRuleOut, **LOOKUP_ERRORS},
    tags=RECALL,
    summary="Edit a recall rule",
)
def recall_rule_update(
    request: HttpRequest, rule_id: PathId, payload: RecallRuleUpdateIn
) -> RecallRuleOut:
    access = access_of(request)
    access.require("schedule.manage")
    rule = selectors.get_recall_rule(rule_id=rule_id)
    plain = payload.model_dump(exclude_unset=True, exclude={"recall_type_id", "trigger_type_ids"})
    plain = {k: v for k, v in plain.items() if v is not None}
    services.recall_rule_update(
        actor=access.staff,
        rule=rule,
        **plain,
        **_recall_rule_refs(payload),  # type: ignore[arg-type]
    )
    return RecallRuleOut.of(selectors.get_recall_rule(rule_id=rule_id))


@router.delete(
    "/recall-rules/{int:rule_id}",
    response={204: None, **RECALL_CONFLICT_ERRORS},
    tags=RECALL,
    summary="Remove a recall rule",
)
def recall_rule_delete(request: HttpRequest, rule_id: PathId) -> Status[None]:
    """409 once it has made recalls: switch it off instead."""
    access = access_of(request)
    access.require("schedule.manage")
    services.recall_rule_delete(actor=access.staff, rule=selectors.get_recall_rule(rule_id=rule_id))
    return Status(204, None)


@router.get(
    "/recalls", response={200: RecallPage, **AUTH_ERRORS}, tags=RECALL, summary="List recalls"
)
def recall_list(request: HttpRequest, filters: Query[RecallQuery]) -> RecallPage:
    """The acting clinic's recalls by due date (default: those still to work on)."""
    access = access_of(request)
    access.require("schedule.view")
    recalls = selectors.recall_list(
        clinic=access.clinic,
        status=filters.status or OPEN_RECALL_STATUSES,
        due_from=filters.due_from,
        due_before=filters.due_before,
    )
    page = selectors.paginate(recalls, page=filters.page, page_size=filters.page_size)
    return RecallPage.of(
        page,
        [RecallOut.of(r) for r in page.items],
    )


@router.get(
    "/recalls/{int:recall_id}",
    response={200: RecallOut, **LOOKUP_ERRORS},
    tags=RECALL,
    summary="Get a recall",
)
def recall_detail(request: HttpRequest, recall_id: PathId) -> RecallOut:
    access = access_of(request)
    access.require("schedule.view")
    return RecallOut.of(selectors.get_recall(clinic=access.clinic, recall_id=recall_id))


@router.post(
    "/recalls/{int:recall_id}/contacted",
    response={200: RecallOut, **RECALL_CONFLICT_ERRORS},
    tags=RECALL,
    summary="Mark a recall contacted",
)
def recall_contacted(request: HttpRequest, recall_id: PathId, payload: RecallNoteIn) -> RecallOut:
    """409 once it is booked, done or dismissed."""
    access = access_of(request)
    access.require("schedule.book")
    recall = selectors.get_recall(clinic=access.clinic, recall_id=recall_id)
    services.recall_mark_contacted(actor=access.staff, recall=recall, note=payload.note)
    return RecallOut.of(selectors.get_recall(clinic=access.clinic, recall_id=recall_id))


@router.post(
    "/recalls/{int:recall_id}/dismiss",
    response={200: RecallOut, **RECALL_CONFLICT_ERRORS},
    tags=RECALL,
    summary="Dismiss a recall",
)
def recall_dismiss(request: HttpRequest, recall_id: PathId, payload: RecallNoteIn) -> RecallOut:
    """409 once it is booked, done or dismissed."""
    access = access_of(request)
    access.require("schedule.book")
    recall = selectors.get_recall(clinic=access.clinic, recall_id=recall_id)
    services.recall_dismiss(actor=access.staff, recall=recall, note=payload.note)
    return RecallOut.of(selectors.get_recall(clinic=access.clinic, recall_id=recall_id))


@router.post(
    "/recalls/{int:recall_id}/book",
    response={200: RecallOut, **RECALL_CONFLICT_ERRORS},
    tags=RECALL,
    summary="Link a booking to a recall",
)
def recall_book(request: HttpRequest, recall_id: PathId, payload: RecallBookIn) -> RecallOut:
    """The patient's appointment (in any clinic of the organization) booked for the recall."""
    access = access_of(request)
    access.require("schedule.book")
    recall = selectors.get_recall(clinic=access.clinic, recall_id=recall_id)
    appointment = selectors.get_org_appointment(appointment_id=payload.appointment_id)
    services.recall_link_booking(recall=recall, appointment=appointment, actor=access.staff)
    return RecallOut.of(selectors.get_recall(clinic=access.clinic, recall_id=recall_id))


# --- calendar feeds -------------------------------------------------------------------

FEEDS = ["calendar feeds"]


def _feed_out(request: HttpRequest, feed: CalendarFeed) -> CalendarFeedOut:
    url = request.build_absolute_uri(reverse("scheduling:ical", args=[feed.token]))
    return CalendarFeedOut.of(feed, url)


def _require_own_schedule(access: Access) -> None:
    if not (access.can("schedule.view_own") or access.can("schedule.view")):
        access.require("schedule.view_own")


@router.get(
    "/calendar-feeds",
    response={200: list[CalendarFeedOut], **AUTH_ERRORS},
    tags=FEEDS,
    summary="List my calendar feeds",
)
def calendar_feed_list(request: HttpRequest) -> list[CalendarFeedOut]:
    """The caller's own feed (at most one works at a time)."""
    access = access_of(request)
    _require_own_schedule(access)
    return [_feed_out(request, f) for f in selectors.calendar_feed_list(doctor=access.staff)]


@router.post(
    "/calendar-feeds",
    response={201: CalendarFeedOut, **LOOKUP_ERRORS},
    tags=FEEDS,
    summary="Create or rotate a calendar feed",
)
def calendar_feed_create(request: HttpRequest, payload: CalendarFeedIn) -> Status[CalendarFeedOut]:
    """A new .ics address for the caller (or, with schedule.manage, for another doctor); the
    doctor's previous address stops working."""
    access = access_of(request)
    if payload.doctor_id is None or payload.doctor_id == access.staff.pk:
        _require_own_schedule(access)
        doctor = access.staff
    else:
        access.require("schedule.manage")
        doctor = selectors.get_doctor(doctor_id=payload.doctor_id)
    feed = services.calendar_feed_create(actor=access.staff, doctor=doctor)
    return Status(201, _feed_out(request, feed))


@router.delete(
    "/calendar-feeds/{int:feed_id}",
    response={204: None, **LOOKUP_ERRORS},
    tags=FEEDS,
    summary="Revoke a calendar feed",
)
def calendar_feed_revoke(request: HttpRequest, feed_id: PathId) -> Status[None]:
    """One's own feed, or (with schedule.manage) anyone's; others' are 404."""
    access = access_of(request)
    _require_own_schedule(access)
    own = None if access.can("schedule.manage") else access.staff
    feed = selectors.get_calendar_feed(feed_id=feed_id, doctor=own)
    services.calendar_feed_revoke(actor=access.staff, feed=feed)
    return Status(204, None)


# --- follow-up tasks and booking analytics (S5) ---------------------------------------


@router.get(
    "/follow-ups",
    response={200: list[FollowUpOut], **AUTH_ERRORS},
    summary="List follow-up tasks",
)
def follow_up_list(request: HttpRequest, filters: Query[FollowUpQuery]) -> list[FollowUpOut]:
    """The acting clinic's tasks to call patients (e.g. after a no-show), soonest due first."""
    access = access_of(request)
    access.require("schedule.view")
    tasks = selectors.follow_up_list(clinic=access.clinic, status=filters.status)
    return [FollowUpOut.of(t) for t in tasks]


@router.post(
    "/follow-ups/{int:follow_up_id}/done",
    response={200: FollowUpOut, **CONFLICT_ERRORS},
    summary="Close a follow-up task as done",
)
def follow_up_done(
    request: HttpRequest, follow_up_id: PathId, payload: FollowUpCloseIn
) -> FollowUpOut:
    """409 when the task is already closed."""
    access = access_of(request)
    access.require("schedule.book")
    task = selectors.get_follow_up(clinic=access.clinic, follow_up_id=follow_up_id)
    return FollowUpOut.of(
        follow_ups.follow_up_done(task=task, actor=access.staff, note=payload.note)
    )


@router.post(
    "/follow-ups/{int:follow_up_id}/cancel",
    response={200: FollowUpOut, **CONFLICT_ERRORS},
    summary="Cancel a follow-up task",
)
def follow_up_cancel(
    request: HttpRequest, follow_up_id: PathId, payload: FollowUpCloseIn
) -> FollowUpOut:
    """409 when the task is already closed."""
    access = access_of(request)
    access.require("schedule.book")
    task = selectors.get_follow_up(clinic=access.clinic, follow_up_id=follow_up_id)
    return FollowUpOut.of(
        follow_ups.follow_up_cancel(task=task, actor=access.staff, note=payload.note)
    )


@router.get(
    "/schedule-analytics",
    response={200: BookingAnalyticsOut, **AUTH_ERRORS},
    summary="Booking analytics",
)
def schedule_analytics(request: HttpRequest, filters: Query[AnalyticsQuery]) -> BookingAnalyticsOut:
    """No-show and cancellation rates, booking lead time by source, and doctor and chair
    utilisation by day, for the acting clinic's appointments from date_from to date_to
    (default: the 30 days to today; at most 92 days)."""
    access = access_of(request)
    access.require("schedule.analytics")
    last = filters.date_to or clinic_today(access.clinic)
    first = filters.date_from or last - timedelta(days=29)
    figures = booking_analytics(clinic=access.clinic, date_from=first, date_to=last)
    return BookingAnalyticsOut.of(figures)


# --- reminder settings ----------------------------------------------------------------


@router.get(
    "/reminder-settings",
    response={200: ReminderSettingsOut, **AUTH_ERRORS},
    summary="Reminder settings",
)
def reminder_settings_get(request: HttpRequest) -> ReminderSettingsOut:
    """What the acting clinic sends patients about their appointments, and when the
    day-before reminder goes out; the defaults while the clinic has changed nothing."""
    access = access_of(request)
    access.require("schedule.view")
    return ReminderSettingsOut.of(reminder_settings_for(access.clinic))


@router.put(
    "/reminder-settings",
    response={200: ReminderSettingsOut, **AUTH_ERRORS},
    summary="Change the reminder settings",
)
def reminder_settings_put(request: HttpRequest, payload: ReminderSettingsIn) -> ReminderSettingsOut:
    """Replace the acting clinic's settings; reminders already queued keep their time."""
    access = access_of(request)
    access.require("schedule.manage")
    settings = follow_ups.reminder_settings_update(
        clinic=access.clinic, actor=access.staff, **payload.model_dump()
    )
    return ReminderSettingsOut.of(settings)
