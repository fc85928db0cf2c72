from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class EsignConfig(AppConfig):
    name = "chairside.esign"
    label = "esign"
    verbose_name = _("E-signatures")
