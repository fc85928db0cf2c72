from django.urls import path

from chairside.core import views

app_name = "core"
urlpatterns = [
    path("", views.placeholder, name="home"),
    path("login/", views.placeholder, name="login"),
    path("staff/", views.placeholder, name="staff"),
    path("audit/", views.placeholder, name="audit"),
]
