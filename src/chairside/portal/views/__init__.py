"""Pages of the patient portal (a package: sign-in, booking, my bookings)."""

from chairside.portal.views.auth import login, login_code, logout
from chairside.portal.views.booking import book, book_confirm
from chairside.portal.views.bookings import (
    booking_cancel,
    booking_detail,
    booking_list,
    booking_reschedule,
)
from chairside.portal.views.home import home

__all__ = [
    "book",
    "book_confirm",
    "booking_cancel",
    "booking_detail",
    "booking_list",
    "booking_reschedule",
    "home",
    "login",
    "login_code",
    "logout",
]
