"""Console pages of the core app."""

from django.urls import path

from chairside.core import views

app_name = "core"
urlpatterns = [
    path("", views.home, name="home"),
    path("login/", views.sign_in, name="login"),
    path("login/code/", views.sign_in_code, name="login_code"),
    path("logout/", views.sign_out, name="logout"),
    path("clinic/", views.switch_clinic, name="switch_clinic"),
    path("staff/", views.staff_index, name="staff"),
    path("audit/", views.audit_index, name="audit"),
    path("security/", views.security, name="security"),
]
