"""Portal services: sign-in codes (hashing, expiry, tries, single use, rate limits, no
enumeration, no code in the logs) and the clinic's rules for booking, cancelling and moving."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pytest
from django.utils import translation
from pytest_django.fixtures import Settings

from chairside.core import ratelimit
from chairside.core.errors import Conflict, NotFound, ValidationFailed
from chairside.core.models import Clinic, Staff
from chairside.core.tenancy import TenantScopeError, tenant_scope
from chairside.messaging.models import OutboxMessage
from chairside.messaging.services import outbox_deliver_due
from chairside.patients.models import Patient
from chairside.portal import services
from chairside.portal.errors import RateLimited
from chairside.portal.models import PortalLoginCode, PortalSettings
from chairside.scheduling.models import Appointment, AppointmentStatus, Recall, RecallStatus
from chairside.scheduling.priority import Window
from chairside.scheduling.services import recall_rule_create
from tests.portal.conftest import (
    LI_MOBILE,
    MONDAY,
    TUESDAY,
    UNKNOWN_MOBILE,
    ZHANG_MOBILE,
    Portal,
    at,
    book_at,
    last_code,
    sent_codes,
)
from tests.scheduling.conftest import Clock

pytestmark = pytest.mark.usefixtures("in_org_a")


@pytest.fixture(autouse=True)
def _english() -> Iterator[None]:
    # Messages are asserted in their English source text.
    with translation.override("en"):
        yield


IP = "203.0.113.7"


def request_code(portal: Portal, phone: str = ZHANG_MOBILE, ip: str = IP) -> str:
    return services.login_code_request(organization=portal.org, phone=phone, client_ip=ip)


def verify(portal: Portal, code: str, phone: str = ZHANG_MOBILE, ip: str = IP) -> Any:
    return services.login_code_verify(organization=portal.org, phone=phone, code=code, client_ip=ip)


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


# --- sign-in codes ---------------------------------------------------------------------


def test_a_code_is_sent_by_sms_and_only_its_keyed_hash_is_kept(
    portal: Portal, sms_file: Path
) -> None:
    assert request_code(portal, "+86 139-0000-0001") == ZHANG_MOBILE

    code = last_code(portal.org, ZHANG_MOBILE)
    row = PortalLoginCode.objects.get()
    message = OutboxMessage.objects.get()
    assert len(code) == 6
    assert code.isdigit()
    assert code not in row.code_hash
    assert len(row.code_hash) == 64
    assert row.expires_at == row.created_at + timedelta(minutes=10)
    assert (message.kind, message.channel, message.template_code) == (
        "verification",
        "sms",
        "portal.login_code",
    )
    assert code in message.body
    assert "10" in message.body
    assert message.patient_id == portal.zhang.pk

    outbox_deliver_due()

    sms = [json.loads(line) for line in sms_file.read_text(encoding="utf-8").splitlines()]
    assert [(s["phone"], s["sign"]) for s in sms] == [(ZHANG_MOBILE, "微笑齿科")]
    assert code in sms[0]["text"]


def test_the_code_never_reaches_the_logs(portal: Portal, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)

    request_code(portal)
    outbox_deliver_due()
    verify(portal, last_code(portal.org, ZHANG_MOBILE))

    assert last_code(portal.org, ZHANG_MOBILE) not in caplog.text


def test_an_unknown_number_gets_the_same_answer_and_no_sms(portal: Portal) -> None:
    answer = request_code(portal, UNKNOWN_MOBILE)

    assert answer == UNKNOWN_MOBILE
    assert sent_codes(portal.org, UNKNOWN_MOBILE) == 0
    assert not PortalLoginCode.objects.exists()
    with pytest.raises(ValidationFailed) as unknown:
        verify(portal, "123456", UNKNOWN_MOBILE)
    request_code(portal)
    with pytest.raises(ValidationFailed) as known:
        verify(portal, wrong(last_code(portal.org, ZHANG_MOBILE)))
    # A wrong code for a known number reads exactly like any code for an unknown one.
    assert (str(unknown.value.message), unknown.value.code) == (
        str(known.value.message),
        known.value.code,
    )


def test_an_invalid_number_is_refused_before_anything_is_counted(portal: Portal) -> None:
    with pytest.raises(ValidationFailed) as refused:
        request_code(portal, "12345")

    assert refused.value.code == "invalid_phone"
    request_code(portal)  # the bad number did not use the address's allowance
    assert sent_codes(portal.org, ZHANG_MOBILE) == 1


def test_the_right_code_signs_in_everyone_with_the_mobile(portal: Portal) -> None:
    request_code(portal)

    who = verify(portal, last_code(portal.org, ZHANG_MOBILE))

    assert who.organization_id == portal.org.pk
    assert who.phone == ZHANG_MOBILE
    assert set(who.patient_ids) == {portal.zhang.pk, portal.baby.pk}  # not org B's 赵六


def test_a_code_is_single_use(portal: Portal) -> None:
    request_code(portal)
    code = last_code(portal.org, ZHANG_MOBILE)
    verify(portal, code)

    with pytest.raises(ValidationFailed):
        verify(portal, code)


def test_a_code_expires_after_ten_minutes(portal: Portal, clock: Clock) -> None:
    request_code(portal)
    code = last_code(portal.org, ZHANG_MOBILE)

    clock.set(clock.now + timedelta(minutes=10))

    with pytest.raises(ValidationFailed):
        verify(portal, code)


def test_a_code_is_dead_after_five_wrong_tries(portal: Portal) -> None:
    request_code(portal)
    code = last_code(portal.org, ZHANG_MOBILE)

    for _ in range(5):
        with pytest.raises(ValidationFailed):
            verify(portal, wrong(code))

    assert PortalLoginCode.objects.get().attempts == 5
    with pytest.raises(ValidationFailed):
        verify(portal, code)
    assert PortalLoginCode.objects.get().used_at is None


def test_four_wrong_tries_still_leave_the_right_code_usable(portal: Portal) -> None:
    request_code(portal)
    code = last_code(portal.org, ZHANG_MOBILE)
    for _ in range(4):
        with pytest.raises(ValidationFailed):
            verify(portal, wrong(code))

    assert verify(portal, code).phone == ZHANG_MOBILE


def test_a_malformed_code_costs_no_try(portal: Portal) -> None:
    request_code(portal)

    with pytest.raises(ValidationFailed) as refused:
        verify(portal, "12ab")

    assert refused.value.fields == {"code": [refused.value.message]}
    assert PortalLoginCode.objects.get().attempts == 0


def test_only_the_newest_code_counts(portal: Portal) -> None:
    request_code(portal)
    first = last_code(portal.org, ZHANG_MOBILE)
    ratelimit.reset(services.CODE_PER_PHONE_MINUTE, ZHANG_MOBILE)  # a minute passes
    request_code(portal)
    second = last_code(portal.org, ZHANG_MOBILE)
    if first == second:
        pytest.skip("the two random codes happen to be equal")

    with pytest.raises(ValidationFailed):
        verify(portal, first)
    assert verify(portal, second).phone == ZHANG_MOBILE


def test_a_code_of_one_organization_does_not_sign_in_at_another(portal: Portal) -> None:
    request_code(portal)
    code = last_code(portal.org, ZHANG_MOBILE)

    with tenant_scope(portal.world.org_b), pytest.raises(ValidationFailed):
        services.login_code_verify(
            organization=portal.world.org_b, phone=ZHANG_MOBILE, code=code, client_ip=IP
        )


def test_services_refuse_to_run_for_another_tenant(portal: Portal) -> None:
    with pytest.raises(TenantScopeError):
        services.login_code_request(
            organization=portal.world.org_b, phone=ZHANG_MOBILE, client_ip=IP
        )


# --- rate limits ----------------------------------------------------------------------


def test_one_code_a_minute_per_mobile(portal: Portal) -> None:
    request_code(portal)

    with pytest.raises(RateLimited) as refused:
        request_code(portal, ip="198.51.100.1")  # another address changes nothing

    assert refused.value.status == 429
    assert sent_codes(portal.org, ZHANG_MOBILE) == 1


def test_five_codes_an_hour_per_mobile(portal: Portal) -> None:
    for _ in range(5):
        request_code(portal)
        ratelimit.reset(services.CODE_PER_PHONE_MINUTE, ZHANG_MOBILE)  # a minute passes

    with pytest.raises(RateLimited):
        request_code(portal)
    assert sent_codes(portal.org, ZHANG_MOBILE) == 5


def test_unknown_numbers_are_limited_like_known_ones(portal: Portal) -> None:
    request_code(portal, UNKNOWN_MOBILE)

    with pytest.raises(RateLimited):
        request_code(portal, UNKNOWN_MOBILE)


def test_twenty_code_requests_an_hour_per_address(portal: Portal) -> None:
    for n in range(20):
        request_code(portal, f"1391234{n:04d}")

    with pytest.raises(RateLimited):
        request_code(portal, "13912349999")
    request_code(portal, "13912349999", ip="198.51.100.1")  # the refusal cost the number nothing


def test_thirty_code_checks_an_hour_per_address(portal: Portal) -> None:
    for _ in range(30):
        with pytest.raises(ValidationFailed):
            verify(portal, "000000", UNKNOWN_MOBILE)

    with pytest.raises(RateLimited):
        verify(portal, "000000", UNKNOWN_MOBILE)


def test_old_codes_are_purged(portal: Portal, clock: Clock) -> None:
    request_code(portal)
    clock.set(clock.now + timedelta(days=8))

    assert services.login_codes_purge() == 1
    assert not PortalLoginCode.objects.exists()


# --- online booking -------------------------------------------------------------------


def book(portal: Portal, start: datetime, **values: Any) -> Appointment:
    return services.online_appointment_book(
        **{
            "clinic": portal.world.clinic1,
            "patient": portal.zhang,
            "appointment_type": portal.cleaning,
            "start": start,
            "doctor": portal.world.doctor,
            **values,
        }
    )


def test_an_online_booking_is_a_portal_booking_by_nobody_on_staff(portal: Portal) -> None:
    appointment = book(portal, at(MONDAY, "09:00"), note="左下牙疼")

    assert appointment.source == "portal"
    assert appointment.booked_by is None
    assert appointment.status == AppointmentStatus.BOOKED
    assert appointment.end - appointment.start == timedelta(minutes=45)
    assert appointment.note == "左下牙疼"


def _recall_of(portal: Portal, patient: Patient) -> Recall:
    last_visit = book(portal, at(MONDAY, "14:00"), patient=patient)
    rule = recall_rule_create(
        actor=None,
        name="Cleaning every 6 months",
        recall_type=portal.cleaning,
        trigger_types=[portal.cleaning],
    )
    return Recall.objects.create(
        organization=portal.org,
        clinic=portal.world.clinic1,
        patient=patient,
        rule=rule,
        source_appointment=last_visit,
        due_date=MONDAY,
        token="recall-token-of-the-test",
    )


def test_a_booking_from_a_recall_link_closes_the_recall(portal: Portal) -> None:
    recall = _recall_of(portal, portal.zhang)

    appointment = book(portal, at(MONDAY, "09:00"), recall_token=recall.token)

    recall.refresh_from_db()
    assert recall.status == RecallStatus.BOOKED
    assert recall.booked_appointment == appointment


def test_a_recall_link_of_someone_else_books_but_leaves_their_recall_open(
    portal: Portal,
) -> None:
    recall = _recall_of(portal, portal.li)

    appointment = book(portal, at(MONDAY, "09:00"), recall_token=recall.token)

    recall.refresh_from_db()
    assert appointment.patient == portal.zhang
    assert recall.status == RecallStatus.DUE
    assert recall.booked_appointment is None


def test_booking_sooner_than_the_notice_is_refused(portal: Portal) -> None:
    with pytest.raises(ValidationFailed) as refused:
        book(portal, at(MONDAY, "08:30"))

    assert refused.value.code == "portal_too_soon"


def test_the_clinic_sets_the_notice(portal: Portal) -> None:
    services.portal_settings_save(
        actor=portal.world.boss, clinic=portal.world.clinic1, min_notice_minutes=24 * 60
    )

    with pytest.raises(ValidationFailed) as refused:
        book(portal, at(MONDAY, "15:00"))
    assert "24 hours" in str(refused.value.message)
    assert book(portal, at(TUESDAY, "09:00")).start == at(TUESDAY, "09:00")


def test_booking_beyond_the_horizon_is_refused(portal: Portal) -> None:
    # (The default 14 days end in the Mid-Autumn holiday, when nobody works.)
    services.portal_settings_save(
        actor=portal.world.boss, clinic=portal.world.clinic1, book_days_ahead=10
    )
    last_day = MONDAY + timedelta(days=9)

    assert book(portal, at(last_day, "09:00")).start == at(last_day, "09:00")
    with pytest.raises(ValidationFailed) as refused:
        book(portal, at(last_day + timedelta(days=1), "09:00"), patient=portal.baby)
    assert refused.value.code == "portal_too_far_ahead"


def test_a_clinic_with_online_booking_off_takes_none(portal: Portal) -> None:
    services.portal_settings_save(
        actor=portal.world.boss, clinic=portal.world.clinic1, portal_enabled=False
    )

    with pytest.raises(ValidationFailed) as refused:
        book(portal, at(MONDAY, "09:00"))
    assert refused.value.code == "portal_booking_closed"


def test_only_offered_times_can_be_booked(portal: Portal) -> None:
    with pytest.raises(Conflict) as off_grid:
        book(portal, at(MONDAY, "09:10"))
    with pytest.raises(Conflict) as lunch:
        book(portal, at(MONDAY, "12:00"))

    assert off_grid.value.code == lunch.value.code == "portal_slot_taken"
    assert not Appointment.objects.exists()


def test_a_taken_time_gives_a_message_naming_nobody(portal: Portal) -> None:
    book_at(portal, portal.wang, at(MONDAY, "09:00"))

    with pytest.raises(Conflict) as refused:
        book(portal, at(MONDAY, "09:00"))

    assert refused.value.code == "portal_slot_taken"
    assert "王五" not in str(refused.value.message)


def test_any_doctor_takes_whoever_is_free(portal: Portal) -> None:
    book_at(portal, portal.wang, at(MONDAY, "09:00"))

    appointment = book(portal, at(MONDAY, "09:00"), doctor=None)

    assert appointment.doctor == portal.doctor2


def test_any_doctor_falls_back_when_the_first_is_taken_meanwhile(
    portal: Portal, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The list was computed before another booking took Dr. Li: the booking moves on.
    from chairside.portal import rules

    real = rules.doctors_free_at

    def stale(**kwargs: Any) -> list[Staff]:
        free = real(**kwargs)
        book_at(portal, portal.wang, at(MONDAY, "09:00"), doctor=free[0])
        return free

    monkeypatch.setattr(rules, "doctors_free_at", stale)

    appointment = book(portal, at(MONDAY, "09:00"), doctor=None)

    assert Appointment.objects.filter(start=at(MONDAY, "09:00")).count() == 2
    assert appointment.patient == portal.zhang


def test_a_patient_is_not_booked_twice_at_once(portal: Portal) -> None:
    book(portal, at(MONDAY, "09:00"))

    with pytest.raises(ValidationFailed) as refused:
        book(portal, at(MONDAY, "09:30"), doctor=portal.doctor2)

    assert refused.value.code == "portal_patient_busy"
    assert book(portal, at(MONDAY, "09:30"), doctor=portal.doctor2, patient=portal.baby)


def test_at_most_three_upcoming_online_bookings_per_patient(portal: Portal) -> None:
    for hour in ("09:00", "10:00", "11:00"):
        book(portal, at(MONDAY, hour))

    with pytest.raises(ValidationFailed) as refused:
        book(portal, at(TUESDAY, "09:00"))
    assert refused.value.code == "portal_too_many_bookings"


def test_an_inactive_service_cannot_be_booked(portal: Portal) -> None:
    portal.cleaning.is_active = False

    with pytest.raises(NotFound):
        book(portal, at(MONDAY, "09:00"))


class GoldMorning:
    """Test double: 09:00-10:00 is kept for gold members (here: 李四)."""

    def held_back(self, *, clinic: Clinic, doctor: Staff, day: date) -> list[Window]:
        start = datetime.combine(day, time(9), tzinfo=at(day, "09:00").tzinfo)
        return [Window(start, start + timedelta(hours=1), "gold")]

    def may_use(self, *, patient: Patient, window: Window) -> bool:
        return patient.name == "李四"


def test_priority_windows_hold_times_back_from_other_patients(
    portal: Portal, settings: Settings
) -> None:
    settings.CHAIRSIDE_PRIORITY_WINDOWS = "tests.portal.test_services.GoldMorning"

    with pytest.raises(Conflict):
        book(portal, at(MONDAY, "09:00"))
    assert book(portal, at(MONDAY, "09:00"), patient=portal.li).patient == portal.li


# --- cancel and move ------------------------------------------------------------------


def test_the_patient_cancels_with_a_reason(portal: Portal) -> None:
    appointment = book_at(portal, portal.zhang, at(TUESDAY, "09:00"))

    cancelled = services.online_appointment_cancel(appointment=appointment, reason="临时有事")

    assert cancelled.status == AppointmentStatus.CANCELLED
    assert "临时有事" in cancelled.cancel_reason
    assert cancelled.events.last().actor is None


def test_cancelling_closes_before_the_visit(portal: Portal, clock: Clock) -> None:
    appointment = book_at(portal, portal.zhang, at(MONDAY, "10:00"))
    clock.set(at(MONDAY, "08:01"))

    with pytest.raises(ValidationFailed) as refused:
        services.online_appointment_cancel(appointment=appointment, reason="")

    assert refused.value.code == "portal_too_late_to_change"
    assert "2 hours" in str(refused.value.message)
    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.BOOKED


def test_the_clinic_sets_how_late_patients_may_cancel(portal: Portal, clock: Clock) -> None:
    services.portal_settings_save(
        actor=portal.world.boss, clinic=portal.world.clinic1, cancel_until_hours=0
    )
    appointment = book_at(portal, portal.zhang, at(MONDAY, "10:00"))
    clock.set(at(MONDAY, "09:59"))

    assert services.online_appointment_cancel(appointment=appointment, reason="").status == (
        AppointmentStatus.CANCELLED
    )


def test_a_visit_under_way_cannot_be_cancelled(portal: Portal) -> None:
    appointment = book_at(portal, portal.zhang, at(TUESDAY, "09:00"))
    Appointment.objects.filter(pk=appointment.pk).update(status=AppointmentStatus.ARRIVED)
    appointment.refresh_from_db()

    with pytest.raises(ValidationFailed) as refused:
        services.online_appointment_cancel(appointment=appointment, reason="")
    assert refused.value.code == "portal_not_changeable"


def test_the_patient_moves_a_booking_to_a_free_time_of_the_same_doctor(portal: Portal) -> None:
    appointment = book_at(portal, portal.zhang, at(TUESDAY, "09:00"))

    moved = services.online_appointment_reschedule(
        appointment=appointment, start=at(TUESDAY, "14:00")
    )

    assert (moved.start, moved.end, moved.doctor) == (
        at(TUESDAY, "14:00"),
        at(TUESDAY, "14:45"),
        portal.world.doctor,
    )
    event = moved.events.last()
    assert (event.kind, event.old_start, event.actor) == ("rescheduled", at(TUESDAY, "09:00"), None)


def test_moving_follows_the_booking_rules(portal: Portal, clock: Clock) -> None:
    appointment = book_at(portal, portal.zhang, at(TUESDAY, "09:00"))
    book_at(portal, portal.wang, at(TUESDAY, "14:00"))

    with pytest.raises(Conflict) as taken:
        services.online_appointment_reschedule(appointment=appointment, start=at(TUESDAY, "14:00"))
    with pytest.raises(ValidationFailed) as too_soon:
        services.online_appointment_reschedule(appointment=appointment, start=at(MONDAY, "08:30"))
    clock.set(at(TUESDAY, "07:30"))
    with pytest.raises(ValidationFailed) as too_late:
        services.online_appointment_reschedule(appointment=appointment, start=at(TUESDAY, "16:00"))

    assert taken.value.code == "portal_slot_taken"
    assert too_soon.value.code == "portal_too_soon"
    assert too_late.value.code == "portal_too_late_to_change"


# --- the clinic's rules ---------------------------------------------------------------


def test_rules_are_saved_validated_and_audited(portal: Portal) -> None:
    from chairside.core.models import AuditEntry

    clinic = portal.world.clinic1
    saved = services.portal_settings_save(actor=portal.world.boss, clinic=clinic, book_days_ahead=7)

    assert (saved.book_days_ahead, saved.cancel_until_hours, saved.min_notice_minutes) == (7, 2, 60)
    with pytest.raises(ValidationFailed) as refused:
        services.portal_settings_save(actor=portal.world.boss, clinic=clinic, book_days_ahead=40)
    assert list(refused.value.fields) == ["book_days_ahead"]
    assert PortalSettings.objects.get().book_days_ahead == 7
    assert AuditEntry.objects.filter(entity_type="portal.portalsettings").count() == 1


def test_rules_of_another_organizations_clinic_are_not_found(portal: Portal) -> None:
    with pytest.raises(NotFound):
        services.portal_settings_save(
            actor=portal.world.boss, clinic=portal.world.clinic_b, portal_enabled=False
        )


def test_the_mobile_of_a_spouse_signs_in_the_spouse(portal: Portal) -> None:
    request_code(portal, LI_MOBILE)

    assert verify(portal, last_code(portal.org, LI_MOBILE), LI_MOBILE).patient_ids == (
        portal.li.pk,
    )
