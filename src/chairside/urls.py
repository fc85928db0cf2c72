"""URL map: the console pages, the API and operations endpoints."""

from django.contrib import admin
from django.urls import include, path

from chairside.api import api
from chairside.core.views import healthz

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("api/v1/", api.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("ops/admin/", admin.site.urls),
    path("patients/", include("chairside.patients.urls")),
    path("schedule/", include("chairside.scheduling.urls")),
    path("billing/", include("chairside.billing.urls")),
    path("clinical/", include("chairside.clinical.urls")),
    path("membership/", include("chairside.membership.urls")),
    path("promotions/", include("chairside.promotions.urls")),
    path("forms/", include("chairside.forms.urls")),
    path("", include("chairside.esign.urls")),
    path("p/", include("chairside.portal.urls")),
    path("", include("chairside.core.urls")),
]

handler404 = "chairside.core.views.page_not_found"
