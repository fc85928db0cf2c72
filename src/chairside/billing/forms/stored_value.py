"""Forms of the stored-value pages: top-up, pay-out, bonus rules. Amounts stay text so the
services give their own messages ("Enter an amount such as 500 or 99.50.")."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from chairside.billing.models import PaymentMethod, TopUpBonusRule

COUNTER_METHODS = [
    (m.value, m.label)
    for m in PaymentMethod
    if m not in (PaymentMethod.STORED_VALUE, PaymentMethod.INSURANCE)
]
_DATE_INPUT = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


def _amount_field(label: Any, required: bool = False) -> forms.CharField:
    return forms.CharField(
        label=label,
        max_length=20,
        required=required,
        widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"}),
    )


def money_text(value: str | None) -> str:
    return (value or "").replace(",", "").replace("¥", "").replace("￥", "").strip()


class TopUpForm(forms.Form):
    amount = _amount_field(_("Amount (¥)"))
    method = forms.ChoiceField(label=_("Paid by"), choices=COUNTER_METHODS)
    reference = forms.CharField(
        label=_("Transaction reference"),
        max_length=64,
        required=False,
        help_text=_("The terminal's or wallet's transaction number, if any."),
    )
    tendered = _amount_field(_("Cash handed over (¥)"))
    # One key per form shown: a double click or a resubmitted page charges once.
    idempotency_key = forms.CharField(max_length=100, required=False, widget=forms.HiddenInput)


class PayoutForm(forms.Form):
    amount = _amount_field(_("Principal to pay out (¥)"))
    method = forms.ChoiceField(label=_("Paid back by"), choices=COUNTER_METHODS)
    reason = forms.CharField(label=_("Reason"), max_length=200, required=False)


class BonusRuleForm(forms.Form):
    name = forms.CharField(
        label=_("Name"),
        max_length=50,
        required=False,
        widget=forms.TextInput(attrs={"placeholder": "充1000送100"}),
    )
    threshold = _amount_field(_("Top up at least (¥)"))
    bonus = _amount_field(_("Bonus (¥)"))
    starts_on = forms.DateField(label=_("From"), required=False, widget=_DATE_INPUT)
    ends_on = forms.DateField(label=_("Until"), required=False, widget=_DATE_INPUT)

    def __init__(self, *args: Any, rule: TopUpBonusRule | None = None, **kwargs: Any) -> None:
        if rule is not None and "initial" not in kwargs:
            kwargs["initial"] = {
                "name": rule.name,
                "threshold": f"{rule.threshold:.2f}",
                "bonus": f"{rule.bonus:.2f}",
                "starts_on": rule.starts_on,
                "ends_on": rule.ends_on,
            }
        super().__init__(*args, **kwargs)

    def service_values(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "name": data.get("name") or "",
            "threshold": money_text(data.get("threshold")),
            "bonus": money_text(data.get("bonus")),
            "starts_on": data.get("starts_on"),
            "ends_on": data.get("ends_on"),
        }
