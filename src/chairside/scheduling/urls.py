"""Console pages of scheduling, under /schedule/."""

from django.urls import path

from chairside.scheduling import (
    analytics_views,
    ical,
    recall_views,
    reminder_views,
    triage_views,
    views,
)

app_name = "scheduling"
urlpatterns = [
    path("", views.calendar_page, name="calendar"),
    path("today/", views.today, name="today"),
    path("new/", views.appointment_new, name="new"),
    path("walk-in/", views.walk_in, name="walk_in"),
    path("triage/", triage_views.triage_hint, name="triage"),
    path("appointments/<int:appointment_id>/", views.appointment_detail, name="detail"),
    path(
        "appointments/<int:appointment_id>/confirm/",
        views.appointment_confirm,
        name="confirm",
    ),
    path(
        "appointments/<int:appointment_id>/check-in/",
        views.appointment_check_in,
        name="check_in",
    ),
    path("appointments/<int:appointment_id>/start/", views.appointment_start, name="start"),
    path(
        "appointments/<int:appointment_id>/complete/",
        views.appointment_complete,
        name="complete",
    ),
    path(
        "appointments/<int:appointment_id>/no-show/",
        views.appointment_no_show,
        name="no_show",
    ),
    path("appointments/<int:appointment_id>/cancel/", views.appointment_cancel, name="cancel"),
    path("appointments/<int:appointment_id>/move/", views.appointment_move, name="move"),
    path("recalls/", recall_views.recall_list, name="recalls"),
    path("reminders/", reminder_views.reminder_settings, name="reminders"),
    path("ical/<str:token>.ics", ical.feed, name="ical"),
    path("analytics/", analytics_views.analytics, name="analytics"),
]
