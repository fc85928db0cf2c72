"""Pages of the esign app."""

from django.urls import URLPattern, URLResolver, path

from chairside.esign.views import documents, keys, patient, tsa_ca, verify

app_name = "esign"

urlpatterns: list[URLPattern | URLResolver] = [
    path("esign/tsa", tsa_ca.tsa_query, name="tsa"),
    path("esign/tsa.crl", tsa_ca.tsa_crl, name="tsa_crl"),
    path("esign/ca/<int:org_id>.crt", tsa_ca.ca_certificate, name="ca_certificate"),
    path("esign/ca/<int:org_id>.crl", tsa_ca.ca_crl, name="ca_crl"),
]
# Staff pages under /esign/ and the patient's public signing page under /sign/ (flow).
urlpatterns += documents.urlpatterns
urlpatterns += keys.urlpatterns
urlpatterns += patient.urlpatterns
# The public verification page, /verify/ (evidence).
urlpatterns += verify.urlpatterns
