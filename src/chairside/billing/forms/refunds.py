"""Forms of refunds: a request on a bill (by one method, at most what it can give back) and
the decision on one."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from chairside.billing.forms.cashier import MoneyField
from chairside.billing.models import PaymentMethod
from chairside.core.money import Money


class RefundRequestForm(forms.Form):
    method = forms.ChoiceField(label=_("Payment method"))
    amount = MoneyField(label=_("Amount"))
    reason = forms.CharField(label=_("Reason"), max_length=200)

    def __init__(self, *args: Any, refundable: Mapping[str, Decimal], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.refundable = {m: a for m, a in refundable.items() if a > 0}
        labels = dict(PaymentMethod.choices)
        field = self.fields["method"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [
            (
                method,
                _("%(method)s (up to %(amount)s)")
                % {"method": labels[method], "amount": Money(amount)},
            )
            for method, amount in self.refundable.items()
        ]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        method, amount = data.get("method"), data.get("amount")
        if method and amount is not None and amount > self.refundable.get(method, Decimal(0)):
            self.add_error(
                "amount",
                _("At most %(amount)s can be refunded by this method.")
                % {"amount": Money(self.refundable.get(method, Decimal(0)))},
            )
        return data


class RefundRejectForm(forms.Form):
    note = forms.CharField(label=_("Why it is rejected"), max_length=200)
