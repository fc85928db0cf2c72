"""The portal's pages through the test client: sign-in without enumeration, the booking flow
for oneself and the family, my bookings with cancel and move, and isolation (another
family's booking and another organization's data are "not found")."""

from __future__ import annotations

import re

import pytest
from django.conf import settings
from django.test import Client

from chairside.core.tenancy import tenant_scope
from chairside.patients.services import patient_update
from chairside.portal.services import portal_settings_save
from chairside.scheduling.models import Appointment, AppointmentStatus
from tests.portal.conftest import (
    LI_MOBILE,
    MONDAY,
    TUESDAY,
    UNKNOWN_MOBILE,
    WANG_MOBILE,
    ZHANG_MOBILE,
    Portal,
    at,
    book_at,
    english,
    last_code,
    portal_url,
    sent_codes,
    sign_in,
)
from tests.scheduling.conftest import Clock


def html(response: object) -> str:
    return response.content.decode()  # type: ignore[attr-defined, no-any-return]


@pytest.fixture
def zhang_client(client: Client, portal: Portal) -> Client:
    """张三's phone, signed in (English, so messages read as in the source)."""
    return sign_in(english(client), portal.org, ZHANG_MOBILE)


def appointments() -> list[Appointment]:
    return list(Appointment.all_tenants.order_by("id"))


# --- language, addresses, sign-in -----------------------------------------------------


def test_the_portal_speaks_chinese_even_to_an_english_phone(client: Client, portal: Portal) -> None:
    response = client.get(portal_url(portal.org, "login"), HTTP_ACCEPT_LANGUAGE="en-US,en")

    assert response.status_code == 200
    assert response["Content-Language"] == "zh-hans"
    assert "手机号登录" in html(response)
    assert "获取验证码" in html(response)


def test_english_is_there_for_those_who_choose_it(client: Client, portal: Portal) -> None:
    response = english(client).get(portal_url(portal.org, "login"))

    assert response["Content-Language"] == "en"
    assert "Sign in with your mobile number" in html(response)


def test_pages_send_visitors_to_sign_in_and_back(client: Client, portal: Portal) -> None:
    bookings = portal_url(portal.org, "bookings")
    response = client.get(bookings)

    assert response.status_code == 302
    assert response["Location"] == portal_url(portal.org, "login", next=bookings)
    client.post(response["Location"], {"phone": ZHANG_MOBILE})
    done = client.post(
        portal_url(portal.org, "login_code", next=bookings),
        {"action": "verify", "code": last_code(portal.org, ZHANG_MOBILE)},
    )
    assert done["Location"] == bookings


def test_next_cannot_lead_off_the_portal(client: Client, portal: Portal) -> None:
    client.post(
        portal_url(portal.org, "login", next="https://evil.example/"), {"phone": ZHANG_MOBILE}
    )
    done = client.post(
        portal_url(portal.org, "login_code", next="https://evil.example/"),
        {"action": "verify", "code": last_code(portal.org, ZHANG_MOBILE)},
    )

    assert done["Location"] == portal_url(portal.org, "home")


def test_an_unknown_organization_is_not_found(client: Client, db: None) -> None:
    assert client.get("/p/nobody/login/").status_code == 404


def _code_page(client: Client, portal: Portal, phone: str) -> str:
    response = client.post(portal_url(portal.org, "login"), {"phone": phone})
    assert response.status_code == 302
    page = html(client.get(response["Location"]))
    page = re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", page)
    page = re.sub(r'"X-CSRFToken": "[^"]+"', "", page)
    return page.replace(phone[:3] + "****" + phone[-4:], "<masked>")


def test_known_and_unknown_numbers_get_the_same_pages(portal: Portal) -> None:
    known = _code_page(Client(), portal, ZHANG_MOBILE)
    unknown = _code_page(Client(REMOTE_ADDR="127.0.0.2"), portal, UNKNOWN_MOBILE)

    assert known == unknown
    assert sent_codes(portal.org, ZHANG_MOBILE) == 1
    assert sent_codes(portal.org, UNKNOWN_MOBILE) == 0


def test_a_wrong_code_for_a_known_number_reads_like_any_code_for_an_unknown_one(
    portal: Portal,
) -> None:
    answers = []
    for ip, phone in (("127.0.0.2", ZHANG_MOBILE), ("127.0.0.3", UNKNOWN_MOBILE)):
        client = english(Client(REMOTE_ADDR=ip))
        client.post(portal_url(portal.org, "login"), {"phone": phone})
        response = client.post(portal_url(portal.org, "login_code"), {"code": "000000"})
        answers.append(re.findall(r'class="error"[^>]*>([^<]+)<', html(response)))

    assert (
        answers[0]
        == answers[1]
        == ["The code is wrong or no longer valid. Check the SMS, or ask for a new code."]
    )


def test_an_invalid_number_is_shown_at_the_field(client: Client, portal: Portal) -> None:
    response = english(client).post(portal_url(portal.org, "login"), {"phone": "12345"})

    assert response.status_code == 200
    assert "Enter a valid mainland China mobile number" in html(response)


def test_asking_again_within_a_minute_is_refused_politely(client: Client, portal: Portal) -> None:
    english(client).post(portal_url(portal.org, "login"), {"phone": ZHANG_MOBILE})

    again = client.post(
        portal_url(portal.org, "login_code"), {"action": "resend"}, HTTP_HX_REQUEST="true"
    )

    assert again.status_code == 200
    assert 'id="resend"' in html(again)
    assert "<html" not in html(again)  # htmx swaps only the resend block
    assert "less than a minute ago" in html(again)
    assert sent_codes(portal.org, ZHANG_MOBILE) == 1


def test_signing_in_rotates_the_session_and_stays_out_of_staff_auth(
    client: Client, portal: Portal
) -> None:
    client.get(portal_url(portal.org, "login"))
    client.post(portal_url(portal.org, "login"), {"phone": ZHANG_MOBILE})
    before = client.cookies[settings.SESSION_COOKIE_NAME].value

    client.post(
        portal_url(portal.org, "login_code"),
        {"action": "verify", "code": last_code(portal.org, ZHANG_MOBILE)},
    )

    assert client.cookies[settings.SESSION_COOKIE_NAME].value != before
    assert "_auth_user_id" not in client.session
    assert client.get("/patients/").status_code == 302  # the console still wants a staff sign-in
    assert client.get(portal_url(portal.org, "home")).status_code == 200


def test_a_staff_sign_in_is_no_portal_sign_in(client: Client, portal: Portal) -> None:
    client.force_login(portal.world.frontdesk)

    assert client.get(portal_url(portal.org, "bookings")).status_code == 302


def test_signing_out_ends_the_portal_sign_in(zhang_client: Client, portal: Portal) -> None:
    response = zhang_client.post(portal_url(portal.org, "logout"))

    assert response["Location"] == portal_url(portal.org, "login")
    assert zhang_client.get(portal_url(portal.org, "home")).status_code == 302


def test_a_patient_whose_mobile_changed_is_signed_out(zhang_client: Client, portal: Portal) -> None:
    with tenant_scope(portal.org, portal.world.clinic1):
        for patient in (portal.zhang, portal.baby):
            patient_update(
                actor=portal.world.frontdesk,
                clinic=portal.world.clinic1,
                patient=patient,
                phone="13800000000",
            )

    assert zhang_client.get(portal_url(portal.org, "home")).status_code == 302


def test_pages_are_never_cached(zhang_client: Client, portal: Portal) -> None:
    response = zhang_client.get(portal_url(portal.org, "bookings"))

    assert "no-store" in response["Cache-Control"]
    assert "private" in response["Cache-Control"]


def test_every_post_needs_the_csrf_token(portal: Portal) -> None:
    strict = Client(enforce_csrf_checks=True)

    refused_sign_in = strict.post(portal_url(portal.org, "login"), {"phone": ZHANG_MOBILE})

    assert refused_sign_in.status_code == 403
    assert sent_codes(portal.org, ZHANG_MOBILE) == 0
    appointment = book_at(portal, portal.zhang, at(TUESDAY, "09:00"))
    signed_in = sign_in(Client(), portal.org, ZHANG_MOBILE)  # the test client skips CSRF
    strict.cookies[settings.SESSION_COOKIE_NAME] = signed_in.cookies[
        settings.SESSION_COOKIE_NAME
    ].value
    assert strict.get(portal_url(portal.org, "booking", appointment.pk)).status_code == 200

    refused_cancel = strict.post(
        portal_url(portal.org, "cancel", appointment.pk), {"reason": "busy"}
    )

    assert refused_cancel.status_code == 403
    assert appointments()[0].status == AppointmentStatus.BOOKED


# --- the booking flow -----------------------------------------------------------------


def test_a_patient_books_step_by_step(zhang_client: Client, portal: Portal) -> None:
    world = portal.world
    clinics = zhang_client.get(portal_url(portal.org, "book"))
    assert "Downtown Clinic" in html(clinics)
    assert "Riverside Clinic" in html(clinics)
    assert "Other Clinic" not in html(clinics)
    assert ">HQ<" not in html(clinics)

    services_page = zhang_client.get(portal_url(portal.org, "book", clinic=world.clinic1.pk))
    assert "Cleaning" in html(services_page)
    assert "Check-up" in html(services_page)

    doctors = zhang_client.get(
        portal_url(portal.org, "book", clinic=world.clinic1.pk, type=portal.cleaning.pk)
    )
    assert "Dr. Li" in html(doctors)
    assert "Dr. Wu" in html(doctors)
    assert "Next free: 9/14 (Today) 09:00" in html(doctors)

    query = {"clinic": world.clinic1.pk, "type": portal.cleaning.pk, "doctor": world.doctor.pk}
    slots = html(zhang_client.get(portal_url(portal.org, "book", **query)))
    confirm_link = portal_url(portal.org, "book_confirm", **query, start="2026-09-14T09:00")
    assert confirm_link.replace("&", "&amp;") in slots
    assert "2026-09-14T08:30" not in slots  # within the hour's notice
    assert "2026-09-14T12:00" not in slots  # lunch

    confirm = zhang_client.get(confirm_link)
    assert confirm.status_code == 200
    assert "09:00" in html(confirm)
    assert "张小宝" in html(confirm)
    assert "李四" in html(confirm)

    done = zhang_client.post(
        portal_url(portal.org, "book_confirm"),
        {**query, "start": "2026-09-14T09:00", "patient": portal.zhang.pk, "note": "牙疼"},
    )

    [appointment] = appointments()
    assert done["Location"] == portal_url(portal.org, "booking", appointment.pk)
    assert (appointment.patient, appointment.doctor, appointment.start) == (
        portal.zhang,
        world.doctor,
        at(MONDAY, "09:00"),
    )
    assert (appointment.source, appointment.booked_by, appointment.note) == ("portal", None, "牙疼")
    detail = zhang_client.get(done["Location"])
    assert "Your booking is made" in html(detail)


def test_a_family_member_is_booked_from_the_parents_phone(
    zhang_client: Client, portal: Portal
) -> None:
    query = {"clinic": portal.world.clinic1.pk, "type": portal.checkup.pk, "doctor": "any"}

    zhang_client.post(
        portal_url(portal.org, "book_confirm"),
        {**query, "start": "2026-09-14T10:00", "patient": portal.li.pk},
    )
    zhang_client.post(
        portal_url(portal.org, "book_confirm"),
        {**query, "start": "2026-09-14T10:00", "patient": portal.baby.pk},
    )

    booked = appointments()
    assert [(a.patient, a.start) for a in booked] == [
        (portal.li, at(MONDAY, "10:00")),
        (portal.baby, at(MONDAY, "10:00")),
    ]
    assert {a.doctor for a in booked} == {portal.world.doctor, portal.doctor2}


def test_nobody_outside_the_household_can_be_booked(zhang_client: Client, portal: Portal) -> None:
    query = {"clinic": portal.world.clinic1.pk, "type": portal.checkup.pk, "doctor": "any"}

    response = zhang_client.post(
        portal_url(portal.org, "book_confirm"),
        {**query, "start": "2026-09-14T10:00", "patient": portal.wang.pk},
    )

    assert response.status_code == 200
    assert appointments() == []


def test_a_time_taken_meanwhile_brings_back_the_times(zhang_client: Client, portal: Portal) -> None:
    world = portal.world
    query = {"clinic": world.clinic1.pk, "type": portal.cleaning.pk, "doctor": world.doctor.pk}
    book_at(portal, portal.wang, at(MONDAY, "09:00"))

    response = zhang_client.post(
        portal_url(portal.org, "book_confirm"),
        {**query, "start": "2026-09-14T09:00", "patient": portal.zhang.pk},
    )

    assert response["Location"] == portal_url(portal.org, "book", **query, day="2026-09-14")
    page = html(zhang_client.get(response["Location"]))
    assert "this time has just been taken" in page
    assert "王五" not in page
    assert len(appointments()) == 1


def test_opening_the_confirmation_of_a_taken_time_goes_back_to_the_times(
    zhang_client: Client, portal: Portal
) -> None:
    world = portal.world
    query = {"clinic": world.clinic1.pk, "type": portal.cleaning.pk, "doctor": world.doctor.pk}
    book_at(portal, portal.wang, at(MONDAY, "09:00"))

    response = zhang_client.get(
        portal_url(portal.org, "book_confirm", **query, start="2026-09-14T09:00")
    )

    assert response.status_code == 302
    assert "/book/?" in response["Location"]


def test_a_rule_broken_is_explained_on_the_confirmation(
    zhang_client: Client, portal: Portal
) -> None:
    query = {"clinic": portal.world.clinic1.pk, "type": portal.checkup.pk, "doctor": "any"}
    for start in ("2026-09-14T09:00", "2026-09-14T10:00", "2026-09-14T11:00"):
        zhang_client.post(
            portal_url(portal.org, "book_confirm"),
            {**query, "start": start, "patient": portal.li.pk},
        )

    fourth = zhang_client.post(
        portal_url(portal.org, "book_confirm"),
        {**query, "start": "2026-09-15T09:00", "patient": portal.li.pk},
    )

    assert fourth.status_code == 200
    assert "李四 already has 3 upcoming online bookings" in html(fourth)


def test_a_recall_link_opens_the_flow_with_clinic_and_service_chosen(
    zhang_client: Client, portal: Portal
) -> None:
    world = portal.world
    response = zhang_client.get(
        portal_url(
            portal.org, "book", clinic=world.clinic1.pk, type=portal.cleaning.pk, recall="r-42"
        )
    )

    page = html(response)
    assert "Choose a doctor" in page
    assert "Cleaning" in page
    assert "Downtown Clinic" in page
    assert "recall=r-42" in page  # carried to the next steps


def test_choices_from_another_organization_are_dropped(
    zhang_client: Client, portal: Portal
) -> None:
    with tenant_scope(portal.world.org_b):
        from chairside.scheduling.services import appointment_type_create

        type_b = appointment_type_create(actor=portal.world.boss_b, code="b", name="B-only")

    page = html(
        zhang_client.get(
            portal_url(portal.org, "book", clinic=portal.world.clinic_b.pk, type=type_b.pk)
        )
    )

    assert "Choose a clinic" in page
    assert "B-only" not in page
    assert "Other Clinic" not in page


def test_a_clinic_with_online_booking_off_is_not_offered(
    zhang_client: Client, portal: Portal
) -> None:
    with tenant_scope(portal.org):
        portal_settings_save(
            actor=portal.world.boss, clinic=portal.world.clinic2, portal_enabled=False
        )

    page = html(zhang_client.get(portal_url(portal.org, "book")))

    assert "Riverside Clinic" not in page
    assert "Choose a service" not in page  # one clinic left: it is chosen for the patient
    assert "What is the visit for?" in page


# --- my bookings ----------------------------------------------------------------------


def test_my_bookings_show_the_household_and_nobody_else(
    zhang_client: Client, portal: Portal, clock: Clock
) -> None:
    book_at(portal, portal.zhang, at(TUESDAY, "09:00"))
    book_at(portal, portal.baby, at(TUESDAY, "10:00"))
    book_at(portal, portal.li, at(TUESDAY, "11:00"))
    book_at(portal, portal.wang, at(TUESDAY, "14:00"))
    clock.set(at(MONDAY, "07:00"))
    past = book_at(portal, portal.zhang, at(MONDAY, "09:00"), allow_outside_hours=True)
    clock.set(at(MONDAY, "12:00"))

    page = html(zhang_client.get(portal_url(portal.org, "bookings")))

    upcoming, history = page.split('id="history"')
    assert all(name in upcoming for name in ("张三", "张小宝", "李四"))
    assert "王五" not in page
    assert portal_url(portal.org, "booking", past.pk) in history


def test_another_familys_booking_is_not_found(zhang_client: Client, portal: Portal) -> None:
    theirs = book_at(portal, portal.wang, at(TUESDAY, "09:00"))

    assert zhang_client.get(portal_url(portal.org, "booking", theirs.pk)).status_code == 404
    assert zhang_client.get(portal_url(portal.org, "reschedule", theirs.pk)).status_code == 404
    cancel = zhang_client.post(portal_url(portal.org, "cancel", theirs.pk), {"reason": "busy"})
    move = zhang_client.post(
        portal_url(portal.org, "reschedule", theirs.pk), {"start": "2026-09-15T14:00"}
    )

    assert (cancel.status_code, move.status_code) == (404, 404)
    theirs.refresh_from_db()
    assert (theirs.status, theirs.start) == (AppointmentStatus.BOOKED, at(TUESDAY, "09:00"))


def test_the_patient_cancels_from_the_page(zhang_client: Client, portal: Portal) -> None:
    appointment = book_at(portal, portal.baby, at(TUESDAY, "09:00"))

    response = zhang_client.post(
        portal_url(portal.org, "cancel", appointment.pk), {"reason": "unwell"}
    )

    assert response["Location"] == portal_url(portal.org, "booking", appointment.pk)
    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.CANCELLED
    assert "Not feeling well" in appointment.cancel_reason
    assert "Your booking is cancelled." in html(zhang_client.get(response["Location"]))


def test_cancelling_too_late_is_refused_with_the_rule(
    zhang_client: Client, portal: Portal, clock: Clock
) -> None:
    appointment = book_at(portal, portal.zhang, at(MONDAY, "09:00"))

    detail = html(zhang_client.get(portal_url(portal.org, "booking", appointment.pk)))
    assert "Cancel booking" not in detail
    assert "until 2 hours before the visit" in detail
    response = zhang_client.post(
        portal_url(portal.org, "cancel", appointment.pk), {"reason": "busy"}
    )

    assert "until 2 hours before the visit" in html(zhang_client.get(response["Location"]))
    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.BOOKED


def test_the_patient_moves_a_booking_from_the_page(zhang_client: Client, portal: Portal) -> None:
    appointment = book_at(portal, portal.zhang, at(TUESDAY, "09:00"))
    url = portal_url(portal.org, "reschedule", appointment.pk)

    times = html(zhang_client.get(url))
    chosen = html(zhang_client.get(url + "?start=2026-09-15T14:00"))
    response = zhang_client.post(url, {"start": "2026-09-15T14:00"})

    assert "start=2026-09-15T14%3A00" in times
    assert "Move my booking" in chosen
    assert response["Location"] == portal_url(portal.org, "booking", appointment.pk)
    appointment.refresh_from_db()
    assert appointment.start == at(TUESDAY, "14:00")


def test_moving_to_a_taken_time_shows_the_times_again(zhang_client: Client, portal: Portal) -> None:
    appointment = book_at(portal, portal.zhang, at(TUESDAY, "09:00"))
    book_at(portal, portal.wang, at(TUESDAY, "14:00"))
    url = portal_url(portal.org, "reschedule", appointment.pk)

    response = zhang_client.post(url, {"start": "2026-09-15T14:00"})

    assert response["Location"] == url
    assert "this time has just been taken" in html(zhang_client.get(url))
    appointment.refresh_from_db()
    assert appointment.start == at(TUESDAY, "09:00")


# --- organizations apart --------------------------------------------------------------


def test_a_sign_in_at_one_organization_is_none_at_another(
    zhang_client: Client, portal: Portal
) -> None:
    response = zhang_client.get(portal_url(portal.world.org_b, "bookings"))

    assert response.status_code == 302
    assert "/login/" in response["Location"]


def test_a_patient_of_organization_b_sees_nothing_of_a(client: Client, portal: Portal) -> None:
    mine = book_at(portal, portal.zhang, at(TUESDAY, "09:00"))  # same mobile, organization A
    org_b = portal.world.org_b
    sign_in(english(client), org_b, ZHANG_MOBILE)

    bookings = html(client.get(portal_url(org_b, "bookings")))
    clinics = html(client.get(portal_url(org_b, "book", clinic=portal.world.clinic1.pk)))
    home = html(client.get(portal_url(org_b, "home")))

    assert "张三" not in bookings
    assert "Hello, 赵六" in home
    assert "Downtown Clinic" not in clinics
    assert "Riverside Clinic" not in clinics
    assert client.get(portal_url(org_b, "booking", mine.pk)).status_code == 404
    assert client.post(portal_url(org_b, "cancel", mine.pk), {"reason": "busy"}).status_code == 404


def test_the_phone_of_a_spouse_sees_the_family_too(client: Client, portal: Portal) -> None:
    book_at(portal, portal.zhang, at(TUESDAY, "09:00"))
    sign_in(english(client), portal.org, LI_MOBILE)

    page = html(client.get(portal_url(portal.org, "bookings")))

    assert "张三" in page


def test_another_family_sees_none_of_it(client: Client, portal: Portal) -> None:
    book_at(portal, portal.zhang, at(TUESDAY, "09:00"))
    sign_in(english(client), portal.org, WANG_MOBILE)

    page = html(client.get(portal_url(portal.org, "bookings")))

    assert "张三" not in page
    assert "No upcoming bookings." in page


def test_the_home_page_greets_and_shows_the_next_visit(
    zhang_client: Client, portal: Portal
) -> None:
    book_at(portal, portal.baby, at(TUESDAY, "09:00"))

    page = html(zhang_client.get(portal_url(portal.org, "home")))

    assert "Hello, 张三" in page
    assert "Your next visit" in page
    assert "张小宝" in page
