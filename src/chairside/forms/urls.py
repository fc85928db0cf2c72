"""Pages of forms and consents."""

from django.urls import URLPattern, URLResolver

from chairside.forms.views import instances, templates

app_name = "forms"

urlpatterns: list[URLPattern | URLResolver] = []
urlpatterns += templates.urlpatterns
urlpatterns += instances.urlpatterns
