"""Reads of scheduling: lookups (the same 404 for missing and foreign), appointment lists,
free slots and today's board. Scoped to the current organization and free of N+1.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Collection, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from urllib.parse import urlencode

from django.db.models import Q, QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from chairside.core.clock import check_year, clinic_zone, day_bounds
from chairside.core.errors import NotFound, ValidationFailed
from chairside.core.models import Clinic, Staff
from chairside.core.pagination import Page as Page  # re-exported for the API
from chairside.core.pagination import paginate as paginate
from chairside.patients.models import Patient
from chairside.scheduling.availability import (
    Interval,
    busy_time,
    staff_working_in,
    subtract,
    working_time,
)
from chairside.scheduling.models import (
    ARRIVED_STATUSES,
    NOT_ARRIVED_STATUSES,
    Appointment,
    AppointmentEvent,
    AppointmentType,
    CalendarFeed,
    Chair,
    DoctorShift,
    FollowUpTask,
    Recall,
    RecallRule,
    ScheduleException,
    Symptom,
    TriageRule,
)
from chairside.scheduling.priority import closed_windows

# The longest span one request may ask for: a calendar shows at most two months.
MAX_RANGE_DAYS = 62
# Free slots are computed step by step; a month is as far as anyone books online.
MAX_SLOT_RANGE_DAYS = 31
DEFAULT_STEP_MINUTES = 15


def check_range(first: date, last: date, *, longest: int = MAX_RANGE_DAYS) -> None:
    """A date range the way every list accepts it: ordered, in 2000-2100, at most `longest`."""
    check_year(first, "date_from")
    check_year(last, "date_to")
    if last < first:
        raise ValidationFailed(_("The end date is before the start date."), field="date_to")
    if (last - first).days >= longest:
        raise ValidationFailed(
            gettext("Ask for at most %(days)d days at a time.") % {"days": longest},
            field="date_to",
        )


# --- lookups --------------------------------------------------------------------------


def get_chair(*, clinic: Clinic, chair_id: int) -> Chair:
    chair = Chair.objects.filter(clinic=clinic, pk=chair_id).select_related("clinic").first()
    if chair is None:
        raise NotFound(_("Chair not found."))
    return chair


def get_appointment_type(*, appointment_type_id: int) -> AppointmentType:
    appointment_type = AppointmentType.objects.filter(pk=appointment_type_id).first()
    if appointment_type is None:
        raise NotFound(_("Appointment type not found."))
    return appointment_type


def get_doctor(*, doctor_id: int) -> Staff:
    """A staff member of the organization (whether they work in a clinic is the service's
    question, answered with a reason rather than a 404)."""
    doctor = Staff.objects.filter(pk=doctor_id).first()
    if doctor is None:
        raise NotFound(_("Doctor not found."))
    return doctor


def get_shift(*, clinic: Clinic, shift_id: int) -> DoctorShift:
    shift = (
        DoctorShift.objects.filter(clinic=clinic, pk=shift_id)
        .select_related("clinic", "doctor")
        .first()
    )
    if shift is None:
        raise NotFound(_("Shift not found."))
    return shift


def get_schedule_exception(*, clinic: Clinic, exception_id: int) -> ScheduleException:
    exception = (
        ScheduleException.objects.filter(clinic=clinic, pk=exception_id)
        .select_related("clinic", "doctor")
        .first()
    )
    if exception is None:
        raise NotFound(_("Schedule exception not found."))
    return exception


def _with_relations(appointments: QuerySet[Appointment]) -> QuerySet[Appointment]:
    return appointments.select_related(
        "clinic", "patient", "doctor", "chair", "appointment_type", "booked_by"
    )


def get_appointment(
    *, clinic: Clinic, appointment_id: int, doctor: Staff | None = None
) -> Appointment:
    """An appointment of `clinic` (and of `doctor`, for those who see only their own)."""
    appointments = Appointment.objects.filter(clinic=clinic, pk=appointment_id)
    if doctor is not None:
        appointments = appointments.filter(doctor=doctor)
    appointment = _with_relations(appointments).first()
    if appointment is None:
        raise NotFound(_("Appointment not found."))
    return appointment


def appointment_history(*, appointment: Appointment) -> list[AppointmentEvent]:
    """What happened to the appointment, oldest first."""
    return list(
        AppointmentEvent.objects.filter(appointment=appointment)
        .select_related("actor", "old_doctor", "new_doctor", "old_chair", "new_chair")
        .order_by("at", "id")
    )


# --- lists ----------------------------------------------------------------------------


def chair_list(*, clinic: Clinic, include_inactive: bool = False) -> QuerySet[Chair]:
    chairs = Chair.objects.filter(clinic=clinic)
    if not include_inactive:
        chairs = chairs.filter(is_active=True)
    return chairs.order_by("name", "id")


def appointment_type_list(*, include_inactive: bool = False) -> QuerySet[AppointmentType]:
    types = AppointmentType.objects.all()
    if not include_inactive:
        types = types.filter(is_active=True)
    return types.order_by("name", "id")


def shift_list(*, clinic: Clinic, doctor: Staff | None = None) -> QuerySet[DoctorShift]:
    shifts = DoctorShift.objects.filter(clinic=clinic).select_related("doctor")
    if doctor is not None:
        shifts = shifts.filter(doctor=doctor)
    return shifts.order_by("doctor__display_name", "doctor_id", "weekday", "start")


def schedule_exception_list(
    *, clinic: Clinic, date_from: date, date_to: date, doctor: Staff | None = None
) -> QuerySet[ScheduleException]:
    check_range(date_from, date_to)
    exceptions = ScheduleException.objects.filter(
        clinic=clinic, date__gte=date_from, date__lte=date_to
    ).select_related("doctor")
    if doctor is not None:
        exceptions = exceptions.filter(doctor=doctor)
    return exceptions.order_by("date", "start", "id")


def appointment_list(
    *,
    clinic: Clinic,
    date_from: date,
    date_to: date | None = None,
    doctor: Staff | None = None,
    chair: Chair | None = None,
    statuses: Collection[str] = (),
) -> QuerySet[Appointment]:
    """The clinic's appointments starting on the days `date_from`..`date_to` (the clinic's
    days; one day when no end is given), by start time."""
    date_to = date_from if date_to is None else date_to
    check_range(date_from, date_to)
    start, end = day_bounds(date_from, date_to, clinic)
    appointments = Appointment.objects.filter(clinic=clinic, start__gte=start, start__lt=end)
    if doctor is not None:
        appointments = appointments.filter(doctor=doctor)
    if chair is not None:
        appointments = appointments.filter(chair=chair)
    if statuses:
        appointments = appointments.filter(status__in=statuses)
    return _with_relations(appointments).order_by("start", "id")


# --- free slots -----------------------------------------------------------------------


@dataclass(frozen=True)
class Slot:
    doctor: Staff
    start: datetime
    end: datetime


def _slot_starts(
    free: Interval, length: timedelta, step: timedelta, earliest: datetime
) -> Iterator[datetime]:
    """Starts on the step grid (counted from the clinic's midnight) where `length` fits;
    `earliest` is on the clinic's clock."""
    begin = max(free.start, earliest).astimezone(earliest.tzinfo)
    midnight = begin.replace(hour=0, minute=0, second=0, microsecond=0)
    offset = begin - midnight
    steps = -(-offset // step)  # round up to the grid
    start = midnight + steps * step
    while start + length <= free.end:
        yield start
        start += step


def free_slots(
    *,
    clinic: Clinic,
    date_from: date,
    date_to: date,
    appointment_type: AppointmentType | None = None,
    minutes: int | None = None,
    doctor: Staff | None = None,
    step_minutes: int = DEFAULT_STEP_MINUTES,
    patient: Patient | None = None,
    honour_priority: bool = True,
) -> list[Slot]:
    """Times an appointment of `minutes` (default: the type's duration) could start at
    `clinic`, per doctor, from now on, on a grid of `step_minutes` from midnight.

    Built from the doctors' shifts, extra shifts and leave (public holidays skip the weekly
    shifts, see `workdays`), less their active appointments in any clinic, less time held
    back by the priority windows unless `patient` may use it. Staff booking by hand pass
    `honour_priority=False` to see every free minute.
    """
    check_range(date_from, date_to, longest=MAX_SLOT_RANGE_DAYS)
    if minutes is None:
        if appointment_type is None:
            raise ValidationFailed(_("Give a duration or an appointment type."), field="minutes")
        minutes = appointment_type.duration_minutes
    length, step = timedelta(minutes=minutes), timedelta(minutes=step_minutes)
    working = staff_working_in(clinic=clinic)
    if doctor is not None:
        working &= {doctor.pk}
    windows = working_time(clinic=clinic, first=date_from, last=date_to, doctor_ids=working)
    doctor_ids = {doctor_id for doctor_id, _day in windows}
    doctors = {d.pk: d for d in Staff.objects.filter(pk__in=doctor_ids)}
    range_start, range_end = day_bounds(date_from, date_to, clinic)
    busy = busy_time(doctor_ids=doctor_ids, start=range_start, end=range_end)
    earliest = timezone.now().astimezone(clinic_zone(clinic))
    slots: list[Slot] = []
    for (doctor_id, day), work in sorted(windows.items(), key=lambda item: item[0][1]):
        taken = list(busy.get(doctor_id, []))
        if honour_priority:
            held = closed_windows(
                clinic=clinic, doctor=doctors[doctor_id], day=day, patient=patient
            )
            taken += [Interval(w.start, w.end) for w in held]
        for free in subtract(work, taken):
            slots.extend(
                Slot(doctors[doctor_id], start, start + length)
                for start in _slot_starts(free, length, step, earliest)
            )
    slots.sort(key=lambda s: (s.start, s.doctor.display_name, s.doctor.pk))
    return slots


# --- today's board --------------------------------------------------------------------


@dataclass
class Count:
    """Visits (人次: appointments) and persons (人数: distinct patients)."""

    visits: int = 0
    persons: int = 0


@dataclass
class BoardColumn:
    """Arrived and not-yet-arrived patients of one doctor, or of the clinic (doctor None)."""

    doctor: Staff | None
    arrived: Count = field(default_factory=Count)
    not_arrived: Count = field(default_factory=Count)
    appointments: list[Appointment] = field(default_factory=list)


@dataclass
class TodayBoard:
    day: date
    clinic: BoardColumn
    doctors: list[BoardColumn]


def _column(doctor: Staff | None, appointments: list[Appointment]) -> BoardColumn:
    arrived = [a for a in appointments if a.status in ARRIVED_STATUSES]
    waiting = [a for a in appointments if a.status in NOT_ARRIVED_STATUSES]
    return BoardColumn(
        doctor=doctor,
        arrived=Count(len(arrived), len({a.patient_id for a in arrived})),
        not_arrived=Count(len(waiting), len({a.patient_id for a in waiting})),
        appointments=appointments,
    )


def today_board(*, clinic: Clinic, day: date, doctor: Staff | None = None) -> TodayBoard:
    """The day's work (今日工作, S3): per doctor and for the clinic, who has arrived
    (arrived, in treatment, completed) and who is still expected (booked, confirmed), as
    visits and as persons, with the day's appointments (cancelled and no-shows listed, not
    counted). Doctors working that day appear even with no appointment. Four queries.
    """
    appointments = list(appointment_list(clinic=clinic, date_from=day, doctor=doctor))
    working = working_time(
        clinic=clinic, first=day, last=day, doctor_ids=None if doctor is None else [doctor.pk]
    )
    doctors = {a.doctor_id: a.doctor for a in appointments}
    missing = {doctor_id for doctor_id, _day in working} - set(doctors)
    if missing:
        doctors.update({d.pk: d for d in Staff.objects.filter(pk__in=missing)})
    columns = [
        _column(d, [a for a in appointments if a.doctor_id == d.pk])
        for d in sorted(doctors.values(), key=lambda d: (d.display_name, d.pk))
    ]
    return TodayBoard(day=day, clinic=_column(None, appointments), doctors=columns)


# --- follow-up tasks (S5) -------------------------------------------------------------


def _follow_ups() -> QuerySet[FollowUpTask]:
    return FollowUpTask.objects.select_related(
        "clinic", "patient", "appointment", "appointment__doctor", "assigned_to", "done_by"
    )


def get_follow_up(*, clinic: Clinic, follow_up_id: int) -> FollowUpTask:
    task = _follow_ups().filter(clinic=clinic, pk=follow_up_id).first()
    if task is None:
        raise NotFound(_("Follow-up not found."))
    return task


def follow_up_list(*, clinic: Clinic, status: str | None = None) -> QuerySet[FollowUpTask]:
    """The clinic's follow-up tasks, soonest due first; all of them, or those of `status`."""
    tasks = _follow_ups().filter(clinic=clinic)
    if status:
        tasks = tasks.filter(status=status)
    return tasks.order_by("due_at", "id")


# --- auto-triage (S6) -----------------------------------------------------------------


def get_triage_rule(*, rule_id: int) -> TriageRule:
    rule = (
        TriageRule.objects.filter(pk=rule_id)
        .select_related("clinic", "appointment_type")
        .prefetch_related("doctors")
        .first()
    )
    if rule is None:
        raise NotFound(_("Triage rule not found."))
    return rule


def triage_rule_list(*, clinic: Clinic | None = None) -> QuerySet[TriageRule]:
    """The organization's rules (with `clinic`: those that apply there), in priority order."""
    rules = TriageRule.objects.select_related("clinic", "appointment_type").prefetch_related(
        "doctors"
    )
    if clinic is not None:
        rules = rules.filter(Q(clinic__isnull=True) | Q(clinic=clinic))
    return rules.order_by("priority", "id")


@dataclass(frozen=True)
class Suggestion:
    """One triage rule that matched a complaint, with what it matched and suggests."""

    rule: TriageRule
    hits: int
    matched_keywords: list[str]
    matched_symptoms: list[str]
    department: str
    appointment_type: AppointmentType | None
    doctors: list[Staff]


def _words(text: str) -> str:
    return unicodedata.normalize("NFKC", text).casefold()


def triage_suggest(
    *, clinic: Clinic, text: str = "", symptoms: Collection[str] = ()
) -> list[Suggestion]:
    """Departments, appointment types and doctors for a complaint (自动分诊), best first.

    A rule scores a hit per keyword found in `text` (case-insensitive; full-width letters
    count as ASCII) and per symptom code ticked; rules with more hits come first, then by
    priority. Only active rules of the organization or of `clinic`, only active appointment
    types, and only doctors working at `clinic` are suggested. Three queries.
    """
    haystack = _words(text or "")
    ticked = set(symptoms) & set(Symptom.values)
    if not haystack.strip() and not ticked:
        return []
    working = staff_working_in(clinic=clinic)
    suggestions = []
    for rule in triage_rule_list(clinic=clinic).filter(is_active=True):
        keywords = [k for k in rule.keywords if _words(k) and _words(k) in haystack]
        matched = [s for s in rule.symptoms if s in ticked]
        if not keywords and not matched:
            continue
        kind = rule.appointment_type
        suggestions.append(
            Suggestion(
                rule=rule,
                hits=len(keywords) + len(matched),
                matched_keywords=keywords,
                matched_symptoms=matched,
                department=rule.department or (kind.department if kind else ""),
                appointment_type=kind if kind is not None and kind.is_active else None,
                doctors=[d for d in rule.doctors.all() if d.is_active and d.pk in working],
            )
        )
    suggestions.sort(key=lambda s: (-s.hits, s.rule.priority, s.rule.pk))
    return suggestions


# --- recall (S7) ----------------------------------------------------------------------


def get_recall_rule(*, rule_id: int) -> RecallRule:
    rule = (
        RecallRule.objects.filter(pk=rule_id)
        .select_related("recall_type")
        .prefetch_related("trigger_types")
        .first()
    )
    if rule is None:
        raise NotFound(_("Recall rule not found."))
    return rule


def recall_rule_list() -> QuerySet[RecallRule]:
    return RecallRule.objects.select_related("recall_type").prefetch_related("trigger_types")


def _recall_relations(recalls: QuerySet[Recall]) -> QuerySet[Recall]:
    return recalls.select_related(
        "organization",
        "clinic",
        "patient",
        "rule",
        "rule__recall_type",
        "source_appointment",
        "source_appointment__appointment_type",
        "booked_appointment",
        "contacted_by",
    )


def get_recall(*, clinic: Clinic, recall_id: int) -> Recall:
    """A recall of `clinic` (the clinic of the visit it came from)."""
    recall = _recall_relations(Recall.objects.filter(clinic=clinic, pk=recall_id)).first()
    if recall is None:
        raise NotFound(_("Recall not found."))
    return recall


def recall_list(
    *,
    clinic: Clinic,
    status: str | Collection[str] | None = None,
    due_before: date | None = None,
    due_from: date | None = None,
) -> QuerySet[Recall]:
    """The recalls of `clinic` by due date: with `status` (one or several), due on or after
    `due_from` and before `due_before`. One query, whatever its length."""
    recalls = Recall.objects.filter(clinic=clinic)
    if isinstance(status, str):
        recalls = recalls.filter(status=status)
    elif status:
        recalls = recalls.filter(status__in=list(status))
    if due_from is not None:
        recalls = recalls.filter(due_date__gte=due_from)
    if due_before is not None:
        recalls = recalls.filter(due_date__lt=due_before)
    return _recall_relations(recalls).order_by("due_date", "id")


def get_org_appointment(*, appointment_id: int) -> Appointment:
    """An appointment in any clinic of the organization (a recall may be booked elsewhere)."""
    appointment = _with_relations(Appointment.objects.filter(pk=appointment_id)).first()
    if appointment is None:
        raise NotFound(_("Appointment not found."))
    return appointment


def recall_for_token(*, token: str) -> Recall | None:
    """The recall of a patient's booking link in the current organization (the portal's),
    or None. Any status: only open ones (`recall.is_open`) can still be booked."""
    if not token or len(token) > 64:
        return None
    return _recall_relations(Recall.objects.filter(token=token)).first()


def recall_portal_url(recall: Recall) -> str:
    """The path of the patient's booking link for `recall` (the portal's booking page with
    the recall's token, the type to book and the clinic preselected)."""
    query = urlencode(
        {"recall": recall.token, "type": recall.rule.recall_type_id, "clinic": recall.clinic_id}
    )
    return f"{reverse('portal:book', kwargs={'org_slug': recall.organization.slug})}?{query}"


# --- calendar feeds -------------------------------------------------------------------

# What a feed shows, around today.
FEED_DAYS_BACK = 30
FEED_DAYS_AHEAD = 90
FEED_MAX_EVENTS = 3000


def calendar_feed_list(*, doctor: Staff) -> QuerySet[CalendarFeed]:
    """The doctor's feeds that still work (at most one, as creating one rotates)."""
    return CalendarFeed.objects.filter(doctor=doctor, revoked_at__isnull=True).select_related(
        "doctor"
    )


def get_calendar_feed(*, feed_id: int, doctor: Staff | None = None) -> CalendarFeed:
    """A feed of the organization (of `doctor`, for those who manage only their own)."""
    feeds = CalendarFeed.objects.filter(pk=feed_id).select_related("doctor")
    if doctor is not None:
        feeds = feeds.filter(doctor=doctor)
    feed = feeds.first()
    if feed is None:
        raise NotFound(_("Calendar feed not found."))
    return feed


def calendar_feed_for_token(*, token: str) -> CalendarFeed | None:
    """The working feed of a token, in whichever organization, for the public .ics address
    (which has no tenant until the feed names one); None for unknown or revoked tokens."""
    if not token or len(token) > 64:
        return None
    return (
        CalendarFeed.all_tenants.filter(
            token=token, revoked_at__isnull=True, doctor__is_active=True
        )
        .select_related("doctor", "organization")
        .first()
    )


def calendar_feed_appointments(*, feed: CalendarFeed) -> list[Appointment]:
    """The feed doctor's appointments in every clinic of the organization, from 30 days ago
    to 90 days ahead, cancelled ones included (so subscribed calendars drop them)."""
    now = timezone.now()
    appointments = Appointment.objects.filter(
        doctor_id=feed.doctor_id,
        start__gte=now - timedelta(days=FEED_DAYS_BACK),
        start__lt=now + timedelta(days=FEED_DAYS_AHEAD),
    ).select_related("clinic", "patient", "appointment_type")
    return list(appointments.order_by("start", "id")[:FEED_MAX_EVENTS])
