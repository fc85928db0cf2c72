"""Online self-booking (S4): clinic → service → doctor → free time → confirm.

The choices so far travel in the query string (`clinic`, `type`, `doctor` = an id or "any",
`start`), so every step is a plain link, the back button works, and a recall SMS can open
the flow with the clinic and service chosen (`?clinic=2&type=5&recall=<token>`).

Auto-triage (S6): on the service step the patient may say what is bothering them
(`complaint=` text and repeated `symptom=` codes). The clinic's triage rules then put the
suggested services first, the doctor step marks the suggested doctors, and the complaint
goes into the booking's note.

Booking with a voucher (K4): `voucher=<coupon id>` (and `entitlement=<id>` for one service
of a combo card) names one of the household's service vouchers. The flow then offers the
clinics the voucher is valid at and the services it covers, only the days it is valid on,
the voucher's holder as the patient, and the booking reserves the voucher. The patient
picks it on the voucher step (`book/voucher/`) or comes from My coupons.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_safe

from chairside.core.clock import clinic_zone, local
from chairside.core.errors import DomainError, NotFound
from chairside.core.models import Clinic, Staff
from chairside.portal import selectors, services
from chairside.portal.errors import PortalErrorCode, is_for_patients
from chairside.portal.forms import BookingForm
from chairside.portal.rules import SlotChoice
from chairside.portal.selectors import SlotDay
from chairside.portal.views.common import SignedInRequest, portal_page, portal_url
from chairside.promotions.selectors.coupons import last_valid_day
from chairside.promotions.selectors.vouchers import (
    VoucherOption,
    find_voucher,
    household_vouchers,
    voucher_clinic_ids,
    voucher_days,
)
from chairside.promotions.services.vouchers import VOUCHER_ERRORS
from chairside.scheduling.models import AppointmentType, Symptom
from chairside.scheduling.selectors import Suggestion, shift_list, triage_suggest

ANY_DOCTOR = "any"
START_FORMAT = "%Y-%m-%dT%H:%M"  # the clinic's wall-clock time: short, and no "+" to escape
NOTE_LIMIT = 200  # as the booking form's note


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value else None
    except ValueError:
        return None


def parse_start(value: str | None, clinic: Clinic) -> datetime | None:
    """A `start` parameter as the clinic's wall-clock time (None if it is not one)."""
    try:
        wall = datetime.strptime(value or "", START_FORMAT).replace(tzinfo=clinic_zone(clinic))
    except ValueError:
        return None
    return local(wall, clinic)


def start_param(value: datetime) -> str:
    return value.strftime(START_FORMAT)


@dataclass(frozen=True)
class BoardDay:
    """A day of the free-time board: its chip and its slots, morning and afternoon apart."""

    day: date
    url: str  # the board with this day selected (the chip's link without JavaScript)
    count: int
    groups: list[tuple[str, list[tuple[SlotChoice, str]]]]


def slot_board(
    days: list[SlotDay],
    *,
    slot_url: Callable[[SlotChoice], str],
    day_url: Callable[[date], str],
    wanted: str = "",
) -> tuple[list[BoardDay], str]:
    """The board and the day shown first: `wanted` if bookable, else the first with room."""
    board = [
        BoardDay(
            day=d.day,
            url=day_url(d.day),
            count=len(d.slots),
            groups=[
                (str(label), [(slot, slot_url(slot)) for slot in slots])
                for label, slots in ((_("Morning"), d.morning), (_("Afternoon"), d.afternoon))
                if slots
            ],
        )
        for d in days
    ]
    isos = [b.day.isoformat() for b in board]
    first_free = next((b.day.isoformat() for b in board if b.count), isos[0] if isos else "")
    return board, wanted if wanted in isos else first_free


@dataclass(frozen=True)
class Choices:
    """What the patient has chosen so far; anything invalid in the address is dropped."""

    clinic: Clinic | None = None
    appointment_type: AppointmentType | None = None
    doctor: Staff | None = None
    any_doctor: bool = False
    recall: str = ""
    complaint: str = ""
    symptoms: tuple[str, ...] = ()
    voucher: VoucherOption | None = None

    @property
    def described(self) -> bool:
        """Whether the patient said what is bothering them (so triage is asked)."""
        return bool(self.complaint or self.symptoms)

    @property
    def doctor_chosen(self) -> bool:
        return self.any_doctor or self.doctor is not None

    def query(self, **changes: Any) -> dict[str, Any]:
        choice = replace(self, **changes)
        return {
            "clinic": choice.clinic.pk if choice.clinic else None,
            "type": choice.appointment_type.pk if choice.appointment_type else None,
            "doctor": ANY_DOCTOR
            if choice.any_doctor
            else (choice.doctor.pk if choice.doctor else None),
            "recall": choice.recall,
            "complaint": choice.complaint,
            "symptom": list(choice.symptoms),
            **(choice.voucher.query() if choice.voucher else {}),
        }


def hidden_fields(query: dict[str, Any]) -> list[tuple[str, Any]]:
    """A query as (name, value) pairs for hidden inputs; lists repeat their name."""
    pairs: list[tuple[str, Any]] = []
    for key, value in query.items():
        for item in value if isinstance(value, list) else [value]:
            if item not in (None, ""):
                pairs.append((key, item))
    return pairs


def complaint_note(complaint: str, note: str) -> str:
    """The booking's note: the complaint said on the service step first, then the note."""
    if not complaint:
        return note
    said = _("Complaint: %(text)s") % {"text": complaint}
    return "\n".join(part for part in (said, note.strip()) if part)[:NOTE_LIMIT]


def _suggestions(choices: Choices) -> list[Suggestion]:
    if choices.clinic is None or not choices.described:
        return []
    return triage_suggest(clinic=choices.clinic, text=choices.complaint, symptoms=choices.symptoms)


def service_options(
    types: list[AppointmentType], suggestions: list[Suggestion]
) -> list[tuple[AppointmentType, Suggestion | None]]:
    """The services with the suggested ones first (best suggestion first), each with the
    suggestion that named it."""
    named: dict[int, Suggestion] = {}
    for suggestion in suggestions:
        kind = suggestion.appointment_type
        if kind is not None and kind.pk not in named:
            named[kind.pk] = suggestion
    order = list(named)
    first = sorted((t for t in types if t.pk in named), key=lambda t: order.index(t.pk))
    return [(t, named[t.pk]) for t in first] + [(t, None) for t in types if t.pk not in named]


def suggested_doctor_ids(
    suggestions: list[Suggestion], appointment_type: AppointmentType
) -> set[int]:
    """The doctors suggested for the chosen service (by rules naming it or no service)."""
    return {
        doctor.pk
        for s in suggestions
        if s.appointment_type is None or s.appointment_type.pk == appointment_type.pk
        for doctor in s.doctors
    }


def _doctor_at(clinic: Clinic, doctor_id: int | None) -> Staff | None:
    return next(
        (
            s.doctor
            for s in shift_list(clinic=clinic)
            if s.doctor_id == doctor_id and s.doctor.is_active
        ),
        None,
    )


def _params(request: SignedInRequest) -> Any:
    return request.GET if request.method in ("GET", "HEAD") else request.POST


def wanted_voucher(request: SignedInRequest) -> tuple[int, int | None] | None:
    """The voucher the address names (coupon id, entitlement id), if any."""
    params = _params(request)
    coupon_id = _int(params.get("voucher"))
    if coupon_id is None:
        return None
    return coupon_id, _int(params.get("entitlement"))


def covered_types(types: list[AppointmentType], voucher: VoucherOption) -> list[AppointmentType]:
    """The services a voucher can be booked for: those linked to a catalogue item it pays
    for; if none is, those not linked to the catalogue at all."""
    codes = voucher.item_codes
    covered = [t for t in types if set(t.service_codes or []) & codes]
    return covered or [t for t in types if not t.service_codes]


def read_choices(
    request: SignedInRequest, clinics: list[Clinic], voucher: VoucherOption | None = None
) -> Choices:
    params = _params(request)
    clinic_id = _int(params.get("clinic"))
    clinic = next((c for c in clinics if c.pk == clinic_id), None)
    if clinic is None and len(clinics) == 1:
        clinic = clinics[0]
    appointment_type = None
    type_id = _int(params.get("type"))
    if type_id is not None:
        try:
            appointment_type = selectors.get_bookable_type(appointment_type_id=type_id)
        except NotFound:
            appointment_type = None
    doctor_param = params.get("doctor", "")
    any_doctor = doctor_param == ANY_DOCTOR
    doctor = None if any_doctor or clinic is None else _doctor_at(clinic, _int(doctor_param))
    known = set(Symptom.values)
    return Choices(
        clinic=clinic,
        appointment_type=appointment_type,
        doctor=doctor,
        any_doctor=any_doctor,
        recall=(params.get("recall") or "")[:64],
        complaint=" ".join((params.get("complaint") or "").split())[:NOTE_LIMIT],
        symptoms=tuple(s for s in dict.fromkeys(params.getlist("symptom")) if s in known),
        voucher=voucher,
    )


def _links(request: SignedInRequest, choices: Choices, single_clinic: bool) -> dict[str, str]:
    """Where each "change" link of the summary goes."""
    links = {
        "service": portal_url(
            request, "book", **choices.query(appointment_type=None, doctor=None, any_doctor=False)
        ),
        "doctor": portal_url(request, "book", **choices.query(doctor=None, any_doctor=False)),
    }
    if not single_clinic:
        links["clinic"] = portal_url(
            request, "book", **choices.query(clinic=None, doctor=None, any_doctor=False)
        )
    if choices.voucher is not None:
        links["voucher"] = portal_url(request, "book_voucher")
        if len(covered_types(selectors.bookable_types(), choices.voucher)) == 1:
            # The voucher chose the service: going back to it is going back to the voucher.
            links["service"] = links["voucher"]
    return links


@dataclass(frozen=True)
class VoucherSetup:
    """The voucher a booking page works with, and the clinics it may be booked at."""

    voucher: VoucherOption | None
    clinics: list[Clinic]


def voucher_setup(request: SignedInRequest) -> VoucherSetup | HttpResponse:
    """The voucher named by the address (refused with a message if the household cannot
    book it now) and the portal clinics it is valid at."""
    clinics = selectors.portal_clinics()
    wanted = wanted_voucher(request)
    if wanted is None:
        return VoucherSetup(None, clinics)
    voucher = find_voucher(household_vouchers(patients=request.household.members), *wanted)
    if voucher is None or voucher.available < 1:
        messages.warning(
            request,
            _("This voucher cannot be booked now: it is used up, expired or already booked."),
        )
        return redirect(portal_url(request, "book_voucher"))
    allowed = voucher_clinic_ids(voucher)
    return VoucherSetup(voucher, [c for c in clinics if not allowed or c.pk in allowed])


def within_voucher(
    days: list[SlotDay], voucher: VoucherOption | None, clinic: Clinic
) -> list[SlotDay]:
    """The days of the board a visit booked with `voucher` may fall on."""
    if voucher is None:
        return days
    first, last = voucher_days(voucher, clinic)
    return [
        d for d in days if (first is None or d.day >= first) and (last is None or d.day <= last)
    ]


@dataclass(frozen=True)
class VoucherRow:
    option: VoucherOption
    url: str  # empty when nothing is left to book
    last_day: date | None


@require_safe
@portal_page()
def book_voucher(request: SignedInRequest) -> HttpResponse:
    """Book with a voucher: the household's service vouchers and combo-card services."""
    options = household_vouchers(patients=request.household.members)
    rows = [
        VoucherRow(
            option=option,
            url=portal_url(request, "book", **option.query()) if option.available else "",
            last_day=last_valid_day(option.coupon, option.coupon.issued_clinic),
        )
        for option in options
    ]
    return render(
        request,
        "portal/book_voucher.html",
        {
            "rows": rows,
            "show_names": len(request.household.members) > 1,
            "plain_url": portal_url(request, "book"),
        },
    )


@require_safe
@portal_page()
def book(request: SignedInRequest) -> HttpResponse:
    setup = voucher_setup(request)
    if isinstance(setup, HttpResponse):
        return setup
    clinics = setup.clinics
    choices = read_choices(request, clinics, setup.voucher)
    context: dict[str, Any] = {
        "choices": choices,
        "links": _links(request, choices, single_clinic=len(clinics) == 1),
    }
    if choices.voucher is None and choices.appointment_type is None:
        # The way in to booking with a voucher, while the service is still to choose.
        context["voucher_count"] = sum(
            1 for o in household_vouchers(patients=request.household.members) if o.available
        )
        context["voucher_url"] = portal_url(request, "book_voucher")
    if choices.clinic is None:
        context["options"] = [
            (clinic, portal_url(request, "book", **choices.query(clinic=clinic)))
            for clinic in clinics
        ]
        return render(request, "portal/book_clinic.html", {**context, "step": 1})
    clinic = choices.clinic
    rules = selectors.clinic_rules(clinic=clinic)
    if choices.appointment_type is None:
        suggestions = _suggestions(choices)
        types = selectors.bookable_types()
        if choices.voucher is not None:
            types = covered_types(types, choices.voucher)
            if len(types) == 1:  # the voucher names the service: nothing to choose
                return redirect(
                    portal_url(request, "book", **choices.query(appointment_type=types[0]))
                )
        context["options"] = [
            (t, portal_url(request, "book", **choices.query(appointment_type=t)), suggestion)
            for t, suggestion in service_options(types, suggestions)
        ]
        context["suggested"] = any(s for _t, _u, s in context["options"])
        context["symptoms"] = Symptom.choices
        context["hidden"] = hidden_fields({"clinic": clinic.pk, "recall": choices.recall})
        context["clear_url"] = portal_url(
            request, "book", **choices.query(complaint="", symptoms=())
        )
        return render(request, "portal/book_service.html", {**context, "step": 2})
    patient = request.household.default_patient
    if choices.voucher is not None and choices.voucher.coupon.holder is not None:
        patient = choices.voucher.coupon.holder  # the visit is the voucher holder's
    if not choices.doctor_chosen:
        doctors = selectors.doctor_choices(
            clinic=clinic, rules=rules, patient=patient, appointment_type=choices.appointment_type
        )
        suggested = suggested_doctor_ids(_suggestions(choices), choices.appointment_type)
        context["any_url"] = portal_url(request, "book", **choices.query(any_doctor=True))
        context["any_free"] = any(d.next_free for d in doctors)
        options = [
            (
                d,
                portal_url(request, "book", **choices.query(doctor=d.doctor)),
                d.doctor.pk in suggested,
            )
            for d in doctors
        ]
        context["options"] = sorted(options, key=lambda option: not option[2])
        return render(request, "portal/book_doctor.html", {**context, "step": 3})
    days = selectors.slot_days(
        clinic=clinic,
        rules=rules,
        patient=patient,
        appointment_type=choices.appointment_type,
        doctor=choices.doctor,
    )
    days = within_voucher(days, choices.voucher, clinic)
    query = choices.query()
    context["board"], context["selected_day"] = slot_board(
        days,
        slot_url=lambda slot: portal_url(
            request, "book_confirm", **query, start=start_param(slot.start)
        ),
        day_url=lambda day: portal_url(request, "book", **query, day=day.isoformat()),
        wanted=request.GET.get("day", ""),
    )
    context["rules"] = rules
    return render(request, "portal/book_slot.html", {**context, "step": 4})


@require_http_methods(["GET", "HEAD", "POST"])
@portal_page()
def book_confirm(request: SignedInRequest) -> HttpResponse:
    setup = voucher_setup(request)
    if isinstance(setup, HttpResponse):
        return setup
    clinics = setup.clinics
    choices = read_choices(request, clinics, setup.voucher)
    voucher = choices.voucher
    params = _params(request)
    clinic, appointment_type = choices.clinic, choices.appointment_type
    start = parse_start(params.get("start"), clinic) if clinic else None
    if clinic is None or appointment_type is None or not choices.doctor_chosen or start is None:
        return redirect(portal_url(request, "book", **choices.query()))
    slots_url = portal_url(request, "book", **choices.query(), day=start.date().isoformat())
    household = request.household
    # Booked with a voucher, the visit is its holder's.
    holder = voucher.coupon.holder if voucher is not None else None
    patients = [holder] if holder is not None else list(household.members)
    form = BookingForm(
        request.POST or None,
        patients=[(p.pk, p.name) for p in patients],
        initial={"patient": (holder or household.default_patient).pk},
    )
    if request.method == "POST" and form.is_valid():
        try:
            appointment = services.online_appointment_book(
                clinic=clinic,
                patient=household.get(form.cleaned_data["patient"]),
                appointment_type=appointment_type,
                start=start,
                doctor=choices.doctor,
                note=complaint_note(choices.complaint, form.cleaned_data["note"]),
                recall_token=choices.recall,
                voucher=voucher.coupon if voucher is not None else None,
                entitlement=voucher.entitlement if voucher is not None else None,
            )
        except DomainError as e:
            if e.code == PortalErrorCode.SLOT_TAKEN:
                messages.warning(request, str(e.message))
                return redirect(slots_url)
            if not is_for_patients(e) and str(e.code) not in VOUCHER_ERRORS:
                raise
            form.add_error(None, str(e.message))
        else:
            if voucher is not None:
                messages.success(
                    request,
                    _("Your booking is made with your voucher %(name)s. See you then!")
                    % {"name": voucher.coupon.template.name},
                )
            else:
                messages.success(request, _("Your booking is made. See you then!"))
            return redirect(portal_url(request, "booking", appointment.pk))
    rules = selectors.clinic_rules(clinic=clinic)
    free = selectors.doctors_free_at(
        clinic=clinic,
        rules=rules,
        patient=holder or household.default_patient,
        start=start,
        appointment_type=appointment_type,
        doctor=choices.doctor,
    )
    if not free and request.method != "POST":
        messages.warning(request, str(services.SLOT_TAKEN_MESSAGE))
        return redirect(slots_url)
    return render(
        request,
        "portal/book_confirm.html",
        {
            "step": 5,
            "choices": choices,
            "links": _links(request, choices, single_clinic=len(clinics) == 1),
            "start": start,
            "voucher": voucher,
            "doctor": choices.doctor or (free[0] if free else None),
            "form": form,
            "rules": rules,
            "start_param": start_param(start),
            "slots_url": slots_url,
            "hidden": hidden_fields(choices.query()),
        },
    )
