"""A doctor's appointments as an iCalendar feed (/schedule/ical/<token>.ics), for a phone's
calendar app: no sign-in, an unguessable token, and nothing in it that identifies a patient
beyond a surname (no phone, no full name, no notes)."""

from __future__ import annotations

from datetime import UTC

from django.http import Http404, HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_safe
from icalendar import Calendar, Event

from chairside.core.phone import masked_name
from chairside.core.tenancy import tenant_scope
from chairside.scheduling import selectors
from chairside.scheduling.models import Appointment, AppointmentStatus, CalendarFeed

_STATUS = {
    AppointmentStatus.BOOKED: "TENTATIVE",
    AppointmentStatus.CANCELLED: "CANCELLED",
    AppointmentStatus.NO_SHOW: "CANCELLED",
}


def appointment_event(appointment: Appointment) -> Event:
    event = Event()
    event.add("uid", f"appointment-{appointment.pk}@chairside")
    event.add("dtstamp", (appointment.updated_at or timezone.now()).astimezone(UTC))
    event.add("dtstart", appointment.start.astimezone(UTC))
    event.add("dtend", appointment.end.astimezone(UTC))
    kind = appointment.appointment_type.name if appointment.appointment_type else _("Appointment")
    event.add("summary", f"{kind} · {masked_name(appointment.patient.name)}")
    event.add("location", appointment.clinic.name)
    event.add("status", _STATUS.get(AppointmentStatus(appointment.status), "CONFIRMED"))
    return event


def feed_calendar(feed: CalendarFeed, appointments: list[Appointment]) -> Calendar:
    calendar = Calendar()
    calendar.add("prodid", "-//Chairside//Schedule//ZH")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("x-wr-calname", f"{feed.organization.name} · {feed.doctor}")
    calendar.add("x-published-ttl", "PT30M")
    for appointment in appointments:
        calendar.add_component(appointment_event(appointment))
    return calendar


@require_safe
def feed(request: HttpRequest, token: str) -> HttpResponse:
    found = selectors.calendar_feed_for_token(token=token)
    if found is None:
        raise Http404
    with tenant_scope(found.organization_id):
        appointments = selectors.calendar_feed_appointments(feed=found)
        body = feed_calendar(found, appointments).to_ical()
    response = HttpResponse(body, content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = 'inline; filename="schedule.ics"'
    response["Cache-Control"] = "private, max-age=300"
    response["X-Robots-Tag"] = "noindex, nofollow"
    response["Referrer-Policy"] = "no-referrer"
    return response
