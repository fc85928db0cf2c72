"""Pages of membership: tiers, members."""

from django.urls import URLPattern

from chairside.membership.views import members, tiers

app_name = "membership"

urlpatterns: list[URLPattern] = [*tiers.urlpatterns, *members.urlpatterns]
