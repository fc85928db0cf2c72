"""Forms of the e-signature pages: voiding a document, revoking a certificate."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _


class VoidForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=200)


class RevokeForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=200)
