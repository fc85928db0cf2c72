"""API schemas of scheduling: what clients send and what they get back.

Times go out on the clinic's clock (with its offset); times coming in without an offset
are read as the clinic's wall-clock time.
"""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Annotated, Literal

from ninja import Schema
from pydantic import Field, PlainSerializer, WithJsonSchema

from chairside.core.clock import local
from chairside.core.models import Clinic, Staff
from chairside.core.schemas import ObjectId, PageOut, PageQuery, Text
from chairside.scheduling.models import (
    Appointment,
    AppointmentEvent,
    AppointmentStatus,
    AppointmentType,
    CalendarFeed,
    Chair,
    DoctorShift,
    Recall,
    RecallRule,
    RecallStatus,
    ReminderSettings,
    ScheduleException,
    Symptom,
    TriageRule,
)
from chairside.scheduling.selectors import (
    BoardColumn,
    Count,
    Slot,
    Suggestion,
    TodayBoard,
    recall_portal_url,
)

Day = Annotated[date, Field(ge=date(2000, 1, 1), le=date(2100, 12, 31))]
Minutes = Annotated[int, Field(ge=5, le=480)]
_AT = "An ISO 8601 time; without an offset it is the clinic's wall-clock time."
# A time of day on the clinic's clock: HH:MM out; HH:MM (or HH:MM:SS) in, never an offset.
_WALL_TIME_SCHEMA = WithJsonSchema(
    {
        "type": "string",
        "pattern": r"^([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9])?$",
        "examples": ["18:00"],
    }
)
WallTime = Annotated[time, _WALL_TIME_SCHEMA]
WallTimeOut = Annotated[
    time, PlainSerializer(lambda value: value.strftime("%H:%M"), return_type=str), _WALL_TIME_SCHEMA
]

# --- input ----------------------------------------------------------------------------


class IncludeInactiveQuery(Schema):
    include_inactive: bool = Field(False, description="Also list those out of service.")


class ChairIn(Schema):
    name: Text = Field(max_length=50)
    room: Text = Field("", max_length=50)
    is_active: bool = True


class ChairUpdateIn(Schema):
    """Only the fields sent are changed."""

    name: Text | None = Field(None, max_length=50)
    room: Text | None = Field(None, max_length=50)
    is_active: bool | None = None


class AppointmentTypeIn(Schema):
    code: Text = Field(max_length=40, description="Stable code, e.g. cleaning.")
    name: Text = Field(max_length=50)
    duration_minutes: Minutes = 30
    color: Text = Field("#2563eb", max_length=7, description="Hex colour, e.g. #2563eb.")
    department: Text = Field("", max_length=50)
    service_codes: list[Annotated[Text, Field(max_length=40)]] = Field(
        default_factory=list, max_length=50, description="Services the visit leads to."
    )
    is_active: bool = True


class AppointmentTypeUpdateIn(Schema):
    """Only the fields sent are changed; the code never changes."""

    name: Text | None = Field(None, max_length=50)
    duration_minutes: Minutes | None = None
    color: Text | None = Field(None, max_length=7)
    department: Text | None = Field(None, max_length=50)
    service_codes: list[Annotated[Text, Field(max_length=40)]] | None = Field(None, max_length=50)
    is_active: bool | None = None


class DoctorQuery(Schema):
    doctor: ObjectId | None = Field(None, description="Only this doctor.")


class ShiftIn(Schema):
    doctor_id: ObjectId
    weekday: int = Field(ge=0, le=6, description="0 is Monday, 6 is Sunday.")
    start: time = Field(description="Wall-clock time, e.g. 09:00.")
    end: time = Field(description="Wall-clock time, e.g. 12:00.")


class RangeQuery(Schema):
    date_from: Day | None = Field(None, description="First day (default: today).")
    date_to: Day | None = Field(None, description="Last day (default: the first day).")


class ScheduleExceptionQuery(RangeQuery, DoctorQuery):
    pass


class ScheduleExceptionIn(Schema):
    doctor_id: ObjectId
    date: Day
    kind: ScheduleException.Kind
    start: time | None = Field(None, description="Empty with end: leave for the whole day.")
    end: time | None = None
    reason: Text = Field("", max_length=200)


class AppointmentQuery(PageQuery, RangeQuery):
    doctor: ObjectId | None = Field(None, description="Only this doctor's appointments.")
    chair: ObjectId | None = Field(None, description="Only appointments in this chair.")
    status: AppointmentStatus | None = None


StaffSource = Literal["front_desk", "phone", "recall"]


class AppointmentIn(Schema):
    patient_id: ObjectId
    doctor_id: ObjectId
    start: datetime = Field(description=_AT)
    end: datetime | None = Field(None, description="Default: start + the type's duration.")
    chair_id: ObjectId | None = None
    appointment_type_id: ObjectId | None = None
    source: StaffSource = "front_desk"
    note: Text = Field("", max_length=2000)
    allow_outside_hours: bool = Field(
        False, description="Book outside the doctor's working hours (front desk override)."
    )


class WalkInIn(Schema):
    patient_id: ObjectId
    doctor_id: ObjectId
    chair_id: ObjectId | None = None
    appointment_type_id: ObjectId | None = None
    minutes: Minutes | None = Field(None, description="Default: the type's duration, or 30.")
    note: Text = Field("", max_length=2000)


class CancelIn(Schema):
    reason: Text = Field(max_length=200)


class RescheduleIn(Schema):
    start: datetime = Field(description=_AT)
    end: datetime | None = Field(None, description="Default: keep the length.")
    doctor_id: ObjectId | None = Field(None, description="Default: keep the doctor.")
    chair_id: ObjectId | None = Field(
        None, description="Leave out to keep the chair; null for no chair."
    )
    allow_outside_hours: bool = False
    reason: Text = Field("", max_length=200)


class FreeSlotQuery(RangeQuery):
    appointment_type: ObjectId | None = Field(None, description="Its duration is the length.")
    minutes: Minutes | None = Field(None, description="The length, instead of a type's.")
    doctor: ObjectId | None = Field(None, description="Only this doctor.")
    patient: ObjectId | None = Field(
        None, description="Apply priority windows as they are for this patient."
    )
    step: int = Field(15, ge=5, le=240, description="Minutes between possible starts.")


class BoardQuery(Schema):
    date: Day | None = Field(None, description="Default: today.")


class ReminderSettingsIn(Schema):
    """All five settings, as they are to be from now on."""

    reminder_enabled: bool = Field(description="Send a reminder the day before.")
    reminder_time: WallTime = Field(
        description="When the reminder goes out the day before, on the clinic's clock "
        "(no offset), e.g. 18:00."
    )
    confirmation_enabled: bool = Field(description="Confirm new bookings.")
    change_notices_enabled: bool = Field(
        description="Tell patients when an appointment is moved or cancelled."
    )
    no_show_follow_up_enabled: bool = Field(description="Open a follow-up task for a no-show.")


# --- output ---------------------------------------------------------------------------


class StaffRef(Schema):
    id: int
    name: str

    @staticmethod
    def of(staff: Staff | None) -> StaffRef | None:
        return None if staff is None else StaffRef(id=staff.pk, name=str(staff))


class ChairOut(Schema):
    id: int
    clinic_id: int
    name: str
    room: str
    is_active: bool

    @staticmethod
    def of(chair: Chair) -> ChairOut:
        return ChairOut.model_validate(chair, from_attributes=True)


class ChairRef(Schema):
    id: int
    name: str

    @staticmethod
    def of(chair: Chair | None) -> ChairRef | None:
        return None if chair is None else ChairRef(id=chair.pk, name=chair.name)


class AppointmentTypeOut(Schema):
    id: int
    code: str
    name: str
    duration_minutes: int
    color: str
    department: str
    service_codes: list[str]
    is_active: bool

    @staticmethod
    def of(appointment_type: AppointmentType) -> AppointmentTypeOut:
        return AppointmentTypeOut.model_validate(appointment_type, from_attributes=True)


class TypeRef(Schema):
    id: int
    code: str
    name: str
    color: str


class ShiftOut(Schema):
    id: int
    clinic_id: int
    doctor: StaffRef
    weekday: int
    start: time
    end: time

    @staticmethod
    def of(shift: DoctorShift) -> ShiftOut:
        return ShiftOut(
            id=shift.pk,
            clinic_id=shift.clinic_id,
            doctor=StaffRef(id=shift.doctor.pk, name=str(shift.doctor)),
            weekday=shift.weekday,
            start=shift.start,
            end=shift.end,
        )


class ScheduleExceptionOut(Schema):
    id: int
    clinic_id: int
    doctor: StaffRef
    date: date
    kind: str
    start: time | None
    end: time | None
    reason: str

    @staticmethod
    def of(exception: ScheduleException) -> ScheduleExceptionOut:
        return ScheduleExceptionOut(
            id=exception.pk,
            clinic_id=exception.clinic_id,
            doctor=StaffRef(id=exception.doctor.pk, name=str(exception.doctor)),
            date=exception.date,
            kind=exception.kind,
            start=exception.start,
            end=exception.end,
            reason=exception.reason,
        )


class PatientRef(Schema):
    id: int
    name: str
    record_no: str


def _on_clock(value: datetime | None, clinic: Clinic) -> datetime | None:
    return None if value is None else local(value, clinic)


class AppointmentOut(Schema):
    id: int
    clinic_id: int
    patient: PatientRef
    doctor: StaffRef
    chair: ChairRef | None
    appointment_type: TypeRef | None
    start: datetime
    end: datetime
    status: AppointmentStatus
    source: str
    note: str
    booked_by: StaffRef | None
    arrived_at: datetime | None
    started_at: datetime | None
    completed_at: datetime | None
    cancel_reason: str
    created_at: datetime

    @staticmethod
    def fields_of(appointment: Appointment) -> dict[str, object]:
        clinic = appointment.clinic
        kind = appointment.appointment_type
        return {
            "id": appointment.pk,
            "clinic_id": appointment.clinic_id,
            "patient": PatientRef(
                id=appointment.patient.pk,
                name=appointment.patient.name,
                record_no=appointment.patient.record_no,
            ),
            "doctor": StaffRef(id=appointment.doctor.pk, name=str(appointment.doctor)),
            "chair": ChairRef.of(appointment.chair),
            "appointment_type": None
            if kind is None
            else TypeRef(id=kind.pk, code=kind.code, name=kind.name, color=kind.color),
            "start": local(appointment.start, clinic),
            "end": local(appointment.end, clinic),
            "status": appointment.status,
            "source": appointment.source,
            "note": appointment.note,
            "booked_by": StaffRef.of(appointment.booked_by),
            "arrived_at": _on_clock(appointment.arrived_at, clinic),
            "started_at": _on_clock(appointment.started_at, clinic),
            "completed_at": _on_clock(appointment.completed_at, clinic),
            "cancel_reason": appointment.cancel_reason,
            "created_at": local(appointment.created_at, clinic),
        }

    @staticmethod
    def of(appointment: Appointment) -> AppointmentOut:
        return AppointmentOut(**AppointmentOut.fields_of(appointment))  # type: ignore[arg-type]


class AppointmentEventOut(Schema):
    kind: str
    at: datetime
    actor: StaffRef | None = Field(description="null: the patient or the system.")
    from_status: str
    to_status: str
    old_start: datetime | None
    old_end: datetime | None
    old_doctor: StaffRef | None
    old_chair: ChairRef | None
    new_start: datetime | None
    new_end: datetime | None
    new_doctor: StaffRef | None
    new_chair: ChairRef | None
    note: str

    @staticmethod
    def of(event: AppointmentEvent, clinic: Clinic) -> AppointmentEventOut:
        return AppointmentEventOut(
            kind=event.kind,
            at=local(event.at, clinic),
            actor=StaffRef.of(event.actor),
            from_status=event.from_status,
            to_status=event.to_status,
            old_start=_on_clock(event.old_start, clinic),
            old_end=_on_clock(event.old_end, clinic),
            old_doctor=StaffRef.of(event.old_doctor),
            old_chair=ChairRef.of(event.old_chair),
            new_start=_on_clock(event.new_start, clinic),
            new_end=_on_clock(event.new_end, clinic),
            new_doctor=StaffRef.of(event.new_doctor),
            new_chair=ChairRef.of(event.new_chair),
            note=event.note,
        )


class AppointmentDetailOut(AppointmentOut):
    history: list[AppointmentEventOut] = Field(description="Oldest first.")

    @staticmethod
    def of_history(
        appointment: Appointment, history: list[AppointmentEvent]
    ) -> AppointmentDetailOut:
        clinic = appointment.clinic
        return AppointmentDetailOut(
            **AppointmentOut.fields_of(appointment),  # type: ignore[arg-type]
            history=[AppointmentEventOut.of(e, clinic) for e in history],
        )


class AppointmentPage(PageOut):
    items: list[AppointmentOut]


class SlotOut(Schema):
    doctor: StaffRef
    start: datetime
    end: datetime

    @staticmethod
    def of(slot: Slot) -> SlotOut:
        doctor = StaffRef(id=slot.doctor.pk, name=str(slot.doctor))
        return SlotOut(doctor=doctor, start=slot.start, end=slot.end)


class CountOut(Schema):
    visits: int = Field(description="Appointments (人次).")
    persons: int = Field(description="Distinct patients (人数).")

    @staticmethod
    def of(count: Count) -> CountOut:
        return CountOut(visits=count.visits, persons=count.persons)


class BoardColumnOut(Schema):
    doctor: StaffRef | None = Field(description="null: the whole clinic.")
    arrived: CountOut = Field(description="Arrived, in treatment or completed.")
    not_arrived: CountOut = Field(description="Booked or confirmed.")
    appointments: list[AppointmentOut]

    @staticmethod
    def of(column: BoardColumn) -> BoardColumnOut:
        return BoardColumnOut(
            doctor=StaffRef.of(column.doctor),
            arrived=CountOut.of(column.arrived),
            not_arrived=CountOut.of(column.not_arrived),
            appointments=[AppointmentOut.of(a) for a in column.appointments],
        )


class TodayBoardOut(Schema):
    date: date
    clinic: BoardColumnOut
    doctors: list[BoardColumnOut]

    @staticmethod
    def of(board: TodayBoard) -> TodayBoardOut:
        return TodayBoardOut(
            date=board.day,
            clinic=BoardColumnOut.of(board.clinic),
            doctors=[BoardColumnOut.of(c) for c in board.doctors],
        )


# --- auto-triage (S6) -----------------------------------------------------------------

Keyword = Annotated[Text, Field(min_length=1, max_length=30)]


class TriageRuleIn(Schema):
    name: Text = Field(max_length=100)
    keywords: list[Keyword] = Field(
        default_factory=list, max_length=50, description="Words found in the complaint text."
    )
    symptoms: list[Symptom] = Field(default_factory=list, max_length=10)
    department: Text = Field("", max_length=50)
    appointment_type_id: ObjectId | None = None
    doctor_ids: list[ObjectId] = Field(default_factory=list, max_length=20)
    clinic_id: ObjectId | None = Field(None, description="Only at this clinic (null: all).")
    priority: int = Field(100, ge=0, le=32767, description="Lower first, among equal hits.")
    is_active: bool = True


class TriageRuleUpdateIn(Schema):
    """Only the fields sent are changed; appointment_type_id and clinic_id may be null."""

    name: Text | None = Field(None, max_length=100)
    keywords: list[Keyword] | None = Field(None, max_length=50)
    symptoms: list[Symptom] | None = Field(None, max_length=10)
    department: Text | None = Field(None, max_length=50)
    appointment_type_id: ObjectId | None = None
    doctor_ids: list[ObjectId] | None = Field(None, max_length=20)
    clinic_id: ObjectId | None = None
    priority: int | None = Field(None, ge=0, le=32767)
    is_active: bool | None = None


class TriageRuleOut(Schema):
    id: int
    name: str
    keywords: list[str]
    symptoms: list[str]
    department: str
    appointment_type: TypeRef | None
    doctors: list[StaffRef]
    clinic_id: int | None
    priority: int
    is_active: bool

    @staticmethod
    def of(rule: TriageRule) -> TriageRuleOut:
        """`rule` with its doctors prefetched."""
        return TriageRuleOut(
            id=rule.pk,
            name=rule.name,
            keywords=rule.keywords,
            symptoms=rule.symptoms,
            department=rule.department,
            appointment_type=_type_ref(rule.appointment_type),
            doctors=[StaffRef(id=d.pk, name=str(d)) for d in rule.doctors.all()],
            clinic_id=rule.clinic_id,
            priority=rule.priority,
            is_active=rule.is_active,
        )


def _type_ref(kind: AppointmentType | None) -> TypeRef | None:
    if kind is None:
        return None
    return TypeRef(id=kind.pk, code=kind.code, name=kind.name, color=kind.color)


class SymptomOut(Schema):
    code: str
    label: str


class TriageIn(Schema):
    text: Text = Field("", max_length=2000, description="The complaint in the patient's words.")
    symptoms: list[Symptom] = Field(default_factory=list, max_length=10)


class SuggestionOut(Schema):
    rule_id: int
    rule_name: str
    hits: int = Field(description="Keywords found plus symptoms matched.")
    matched_keywords: list[str]
    matched_symptoms: list[str]
    department: str
    appointment_type: TypeRef | None
    doctors: list[StaffRef] = Field(description="Only doctors working at the acting clinic.")

    @staticmethod
    def of(suggestion: Suggestion) -> SuggestionOut:
        return SuggestionOut(
            rule_id=suggestion.rule.pk,
            rule_name=suggestion.rule.name,
            hits=suggestion.hits,
            matched_keywords=suggestion.matched_keywords,
            matched_symptoms=suggestion.matched_symptoms,
            department=suggestion.department,
            appointment_type=_type_ref(suggestion.appointment_type),
            doctors=[StaffRef(id=d.pk, name=str(d)) for d in suggestion.doctors],
        )


# --- recall (S7) ----------------------------------------------------------------------


class RecallRuleIn(Schema):
    name: Text = Field(max_length=100)
    recall_type_id: ObjectId = Field(description="The appointment type to book at recall.")
    trigger_type_ids: list[ObjectId] = Field(
        default_factory=list, max_length=50, description="Completed visits of these types..."
    )
    service_codes: list[Annotated[Text, Field(max_length=40)]] = Field(
        default_factory=list, max_length=50, description="...or of types leading to these."
    )
    interval: int = Field(6, ge=1, le=3660)
    interval_unit: RecallRule.Unit = RecallRule.Unit.MONTHS
    is_active: bool = True


class RecallRuleUpdateIn(Schema):
    """Only the fields sent are changed."""

    name: Text | None = Field(None, max_length=100)
    recall_type_id: ObjectId | None = None
    trigger_type_ids: list[ObjectId] | None = Field(None, max_length=50)
    service_codes: list[Annotated[Text, Field(max_length=40)]] | None = Field(None, max_length=50)
    interval: int | None = Field(None, ge=1, le=3660)
    interval_unit: RecallRule.Unit | None = None
    is_active: bool | None = None


class RecallRuleOut(Schema):
    id: int
    name: str
    recall_type: TypeRef
    trigger_types: list[TypeRef]
    service_codes: list[str]
    interval: int
    interval_unit: str
    is_active: bool

    @staticmethod
    def of(rule: RecallRule) -> RecallRuleOut:
        """`rule` with its recall type and trigger types loaded."""
        return RecallRuleOut(
            id=rule.pk,
            name=rule.name,
            recall_type=_type_ref(rule.recall_type),  # type: ignore[arg-type]
            trigger_types=[_type_ref(t) for t in rule.trigger_types.all()],  # type: ignore[misc]
            service_codes=rule.service_codes,
            interval=rule.interval,
            interval_unit=rule.interval_unit,
            is_active=rule.is_active,
        )


class RecallQuery(PageQuery):
    status: RecallStatus | None = Field(None, description="Default: due and contacted.")
    due_from: Day | None = Field(None, description="Due on or after this day.")
    due_before: Day | None = Field(None, description="Due before this day.")


class RecallNoteIn(Schema):
    note: Text = Field("", max_length=500)


class RecallBookIn(Schema):
    appointment_id: ObjectId = Field(description="The patient's appointment booked for it.")


class RecallRuleRef(Schema):
    id: int
    name: str


class RecallOut(Schema):
    id: int
    clinic_id: int
    patient: PatientRef
    phone: str
    rule: RecallRuleRef
    last_visit: date | None = Field(description="The completed visit the recall comes from.")
    due_date: date
    status: RecallStatus
    booked_appointment_id: int | None
    contacted_at: datetime | None
    contacted_by: StaffRef | None
    note: str
    portal_url: str = Field(description="The patient's booking link (path).")

    @staticmethod
    def of(recall: Recall) -> RecallOut:
        """`recall` as selectors.recall_list loads it."""
        source = recall.source_appointment
        return RecallOut(
            id=recall.pk,
            clinic_id=recall.clinic_id,
            patient=PatientRef(
                id=recall.patient.pk, name=recall.patient.name, record_no=recall.patient.record_no
            ),
            phone=recall.patient.phone,
            rule=RecallRuleRef(id=recall.rule.pk, name=recall.rule.name),
            last_visit=(
                local(source.completed_at, recall.clinic).date() if source.completed_at else None
            ),
            due_date=recall.due_date,
            status=RecallStatus(recall.status),
            booked_appointment_id=recall.booked_appointment_id,
            contacted_at=_on_clock(recall.contacted_at, recall.clinic),
            contacted_by=StaffRef.of(recall.contacted_by),
            note=recall.note,
            portal_url=recall_portal_url(recall),
        )


class RecallPage(PageOut):
    items: list[RecallOut]


# --- calendar feeds -------------------------------------------------------------------


class CalendarFeedIn(Schema):
    doctor_id: ObjectId | None = Field(
        None, description="Default: the caller. Another doctor needs schedule.manage."
    )


class CalendarFeedOut(Schema):
    id: int
    doctor: StaffRef
    url: str = Field(description="The .ics address to subscribe to; keep it private.")
    created_at: datetime
    revoked_at: datetime | None

    @staticmethod
    def of(feed: CalendarFeed, url: str) -> CalendarFeedOut:
        return CalendarFeedOut(
            id=feed.pk,
            doctor=StaffRef(id=feed.doctor.pk, name=str(feed.doctor)),
            url=url,
            created_at=feed.created_at,
            revoked_at=feed.revoked_at,
        )


class ReminderSettingsOut(Schema):
    clinic_id: int
    reminder_enabled: bool
    reminder_time: WallTimeOut = Field(
        description="When the reminder goes out the day before, on the clinic's clock."
    )
    confirmation_enabled: bool
    change_notices_enabled: bool
    no_show_follow_up_enabled: bool

    @staticmethod
    def of(settings: ReminderSettings) -> ReminderSettingsOut:
        return ReminderSettingsOut.model_validate(settings, from_attributes=True)
