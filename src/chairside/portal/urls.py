"""The patient portal under /p/<organization slug>/."""

from django.urls import path

from chairside.portal import views
from chairside.portal.views import gifting

app_name = "portal"
urlpatterns = [
    path("<slug:org_slug>/", views.home, name="home"),
    path("<slug:org_slug>/login/", views.login, name="login"),
    path("<slug:org_slug>/login/code/", views.login_code, name="login_code"),
    path("<slug:org_slug>/logout/", views.logout, name="logout"),
    path("<slug:org_slug>/book/", views.book, name="book"),
    path("<slug:org_slug>/book/confirm/", views.book_confirm, name="book_confirm"),
    path("<slug:org_slug>/book/voucher/", views.booking.book_voucher, name="book_voucher"),
    path("<slug:org_slug>/bookings/", views.booking_list, name="bookings"),
    path("<slug:org_slug>/bookings/<int:appointment_id>/", views.booking_detail, name="booking"),
    path(
        "<slug:org_slug>/bookings/<int:appointment_id>/cancel/",
        views.booking_cancel,
        name="cancel",
    ),
    path(
        "<slug:org_slug>/bookings/<int:appointment_id>/reschedule/",
        views.booking_reschedule,
        name="reschedule",
    ),
    path("<slug:org_slug>/card/", views.member_card, name="card"),
    path("<slug:org_slug>/coupons/", views.coupon_list, name="coupons"),
    path("<slug:org_slug>/coupons/<int:coupon_id>/gift/", gifting.coupon_gift, name="coupon_gift"),
    path(
        "<slug:org_slug>/coupons/<int:coupon_id>/gift/cancel/",
        gifting.coupon_gift_cancel_view,
        name="coupon_gift_cancel",
    ),
    path("<slug:org_slug>/gift/<slug:token>/", gifting.gift_open, name="gift"),
    path("<slug:org_slug>/gift/<slug:token>/claim/", gifting.gift_claim, name="gift_claim"),
    path("<slug:org_slug>/flash-sales/", views.flash_sale_list, name="flash_sales"),
    path(
        "<slug:org_slug>/flash-sales/<int:sale_id>/claim/",
        views.flash_sale_claim_view,
        name="flash_sale_claim_new",
    ),
    path(
        "<slug:org_slug>/flash-sales/claims/<int:claim_id>/",
        views.flash_sale_claim_detail,
        name="flash_sale_claim",
    ),
    path(
        "<slug:org_slug>/flash-sales/claims/<int:claim_id>/pay/",
        views.flash_sale_pay,
        name="flash_sale_pay",
    ),
    path(
        "<slug:org_slug>/flash-sales/claims/<int:claim_id>/paid/",
        views.flash_sale_paid,
        name="flash_sale_paid",
    ),
]
