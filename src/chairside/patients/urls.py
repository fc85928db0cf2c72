from django.urls import path

from chairside.core import views

app_name = "patients"
urlpatterns = [
    path("", views.placeholder, name="list"),
    path("referrals/", views.placeholder, name="referrals"),
    path("segments/", views.placeholder, name="segments"),
]
