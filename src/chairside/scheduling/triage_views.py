"""Auto-triage at the front desk (S6): while the clerk types the complaint into the booking
form's note, htmx asks `/schedule/triage/?note=...` for the clinic's suggestions
(department, appointment type, doctors working here), each with a button that fills the
form's type and doctor."""

from __future__ import annotations

from django.http import HttpResponse
from django.shortcuts import render
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_safe

from chairside.core.console import ConsoleRequest, console_page
from chairside.scheduling.selectors import triage_suggest

MAX_TEXT = 2000  # as the booking form's note
MAX_SUGGESTIONS = 3


@require_safe
@console_page("schedule.book")
def triage_hint(request: ConsoleRequest) -> HttpResponse:
    """The hint under the note: the best few suggestions for what was typed (or nothing)."""
    text = (request.GET.get("note") or "")[:MAX_TEXT]
    symptoms = request.GET.getlist("symptom")
    suggestions = triage_suggest(clinic=request.access.clinic, text=text, symptoms=symptoms)
    response = render(
        request,
        "scheduling/_triage_hint.html",
        {"suggestions": suggestions[:MAX_SUGGESTIONS]},
    )
    patch_vary_headers(response, ["HX-Request"])
    return response
