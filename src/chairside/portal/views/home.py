"""The portal's front page: who is signed in, the next visit, and the clinics."""

from __future__ import annotations

from django.http import HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_safe

from chairside.portal import selectors
from chairside.portal.views.common import SignedInRequest, portal_page


@require_safe
@portal_page()
def home(request: SignedInRequest) -> HttpResponse:
    upcoming, _history = selectors.household_appointments(household=request.household)
    return render(
        request,
        "portal/home.html",
        {
            "next_visit": upcoming[0] if upcoming else None,
            "upcoming_count": len(upcoming),
            "clinics": selectors.portal_clinics(),
        },
    )
