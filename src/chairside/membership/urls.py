"""Pages of membership: tiers, members, points set-up, members' booking windows."""

from django.urls import URLPattern

from chairside.membership.views import members, points, tiers, windows

app_name = "membership"

urlpatterns: list[URLPattern] = [
    *tiers.urlpatterns,
    *members.urlpatterns,
    *points.urlpatterns,
    *windows.urlpatterns,
]
