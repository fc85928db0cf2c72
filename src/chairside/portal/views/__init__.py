"""Pages of the patient portal (a package: sign-in, booking, my bookings, member card,
coupons and flash sales)."""

from chairside.portal.views.auth import login, login_code, logout
from chairside.portal.views.booking import book, book_confirm
from chairside.portal.views.bookings import (
    booking_cancel,
    booking_detail,
    booking_list,
    booking_reschedule,
)
from chairside.portal.views.flash_sales import (
    flash_sale_claim_detail,
    flash_sale_claim_view,
    flash_sale_list,
    flash_sale_paid,
    flash_sale_pay,
)
from chairside.portal.views.home import home
from chairside.portal.views.membership import coupon_list, member_card

__all__ = [
    "book",
    "book_confirm",
    "booking_cancel",
    "booking_detail",
    "booking_list",
    "booking_reschedule",
    "coupon_list",
    "flash_sale_claim_detail",
    "flash_sale_claim_view",
    "flash_sale_list",
    "flash_sale_paid",
    "flash_sale_pay",
    "home",
    "login",
    "login_code",
    "logout",
    "member_card",
]
