"""Forms of the portal pages. They tidy what was typed; the services decide what is valid."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

# Reasons a patient picks from when cancelling; kept in the booking's history.
CANCEL_REASONS = (
    ("busy", _("Something came up")),
    ("unwell", _("Not feeling well")),
    ("other_time", _("I will book another time")),
    ("elsewhere", _("Treated elsewhere")),
    ("other", _("Other reason")),
)


class MobileForm(forms.Form):
    phone = forms.CharField(
        label=_("Mobile number"),
        max_length=20,
        widget=forms.TextInput(
            attrs={
                "type": "tel",
                "inputmode": "tel",
                "autocomplete": "tel-national",
                "placeholder": _("Your mobile number"),
                "autofocus": True,
            }
        ),
    )


class CodeForm(forms.Form):
    code = forms.CharField(
        label=_("Verification code"),
        max_length=10,
        widget=forms.TextInput(
            attrs={
                "inputmode": "numeric",
                "autocomplete": "one-time-code",
                "pattern": r"\d{6}",
                "maxlength": "6",
                "placeholder": _("6-digit code"),
                "autofocus": True,
            }
        ),
    )


class BookingForm(forms.Form):
    """The last step: for whom, and a note for the clinic."""

    patient = forms.TypedChoiceField(
        label=_("Who is the visit for?"), coerce=int, widget=forms.RadioSelect
    )
    note = forms.CharField(
        label=_("Anything the clinic should know? (optional)"),
        required=False,
        max_length=200,
        widget=forms.Textarea(
            attrs={
                "rows": 3,
                "placeholder": _("For example: a tooth hurts when I drink cold water"),
            }
        ),
    )

    def __init__(self, *args: object, patients: list[tuple[int, str]], **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["patient"].choices = patients  # type: ignore[attr-defined]


class CancelForm(forms.Form):
    reason = forms.ChoiceField(
        label=_("Why are you cancelling?"), choices=CANCEL_REASONS, widget=forms.RadioSelect
    )

    def reason_text(self) -> str:
        return str(dict(CANCEL_REASONS)[self.cleaned_data["reason"]])
