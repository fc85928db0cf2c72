"""Console pages of the patient centre, under /patients/."""

from django.urls import path

from chairside.patients import views

app_name = "patients"
urlpatterns = [
    path("", views.patient_list, name="list"),
    path("new/", views.patient_create, name="create"),
    path("pick/", views.patient_pick, name="pick"),
    path("<int:patient_id>/", views.patient_detail, name="detail"),
    path("<int:patient_id>/edit/", views.patient_edit, name="edit"),
    path("<int:patient_id>/archive/", views.patient_archive, name="archive"),
    path("<int:patient_id>/tags/", views.patient_tag_add, name="tag_add"),
    path(
        "<int:patient_id>/tags/<int:tag_id>/remove/",
        views.patient_tag_remove,
        name="tag_remove",
    ),
    path("<int:patient_id>/family/", views.family_link, name="family_link"),
    path(
        "<int:patient_id>/family/<int:member_id>/remove/",
        views.family_remove,
        name="family_remove",
    ),
    path("tags/", views.tag_index, name="tags"),
    path("referrals/", views.referral_index, name="referrals"),
    path("segments/", views.segment_index, name="segments"),
    path("segments/new/", views.segment_create, name="segment_create"),
    path("segments/<int:segment_id>/", views.segment_detail, name="segment_detail"),
    path("segments/<int:segment_id>/edit/", views.segment_edit, name="segment_edit"),
]
