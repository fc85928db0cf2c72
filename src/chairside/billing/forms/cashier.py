"""Forms of the cashier desk: open a bill, add a line, the discounts, a split payment, void."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any, cast

from django import forms
from django.core.exceptions import ValidationError
from django.http import QueryDict
from django.utils.translation import gettext_lazy as _

from chairside.billing.models import PaymentMethod
from chairside.core.errors import DomainError
from chairside.core.models import Staff
from chairside.core.money import Money
from chairside.core.teeth import ToothSet

MAX_QUANTITY = 999
MAX_AMOUNT = Decimal("9999999999.99")
MAX_PAYMENT_ROWS = 6


def attach_errors(form: forms.Form, error: DomainError) -> None:
    """A service's field errors on the form's fields; the rest as a form-wide error."""
    attached = False
    for name, messages in error.fields.items():
        target = name if name in form.fields else None
        for message in messages:
            form.add_error(target, str(message))
            attached = True
    if not attached:
        form.add_error(None, str(error.message))


def parse_amount(text: str, *, allow_zero: bool = False) -> Decimal:
    """Money someone typed ("120", "¥1,234.50"); refused when negative or too large."""
    try:
        value = Money.parse(text).amount
    except DomainError as e:
        raise ValidationError(str(e.message)) from e
    if value < 0 or (value == 0 and not allow_zero):
        raise ValidationError(_("Enter an amount above zero."))
    if value > MAX_AMOUNT:
        raise ValidationError(_("This amount is too large."))
    return value


class MoneyField(forms.Field):
    """An amount in yuan, as Decimal with two places; accepts "¥1,234.5"."""

    widget = forms.TextInput

    def __init__(self, *args: Any, allow_zero: bool = False, **kwargs: Any) -> None:
        self.allow_zero = allow_zero
        super().__init__(*args, **kwargs)
        self.widget.attrs.update(inputmode="decimal", maxlength="20", autocomplete="off")

    def to_python(self, value: Any) -> Decimal | None:
        text = str(value).strip()[:40] if value is not None else ""
        if not text:
            return None
        return parse_amount(text, allow_zero=self.allow_zero)


class NewBillForm(forms.Form):
    patient_id = forms.IntegerField(
        label=_("Patient"), min_value=1, error_messages={"required": _("Choose a patient.")}
    )


class LineAddForm(forms.Form):
    item_id = forms.IntegerField(
        label=_("Item"),
        min_value=1,
        error_messages={"required": _("Choose an item from the catalogue.")},
    )
    quantity = forms.IntegerField(
        label=_("Quantity"), min_value=1, max_value=MAX_QUANTITY, initial=1
    )
    teeth = forms.CharField(
        label=_("Teeth"),
        required=False,
        max_length=120,
        help_text=_("FDI numbers, e.g. 16, 17"),
    )
    doctor_id = forms.TypedChoiceField(
        label=_("Doctor"), required=False, coerce=int, empty_value=None
    )
    self_paid = forms.BooleanField(label=_("Self-paid"), required=False)

    def __init__(self, *args: Any, doctors: list[Staff], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.doctors = {d.pk: d for d in doctors}
        field = self.fields["doctor_id"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [("", _("No doctor")), *[(d.pk, d.display_name) for d in doctors]]

    def clean_teeth(self) -> ToothSet:
        text = self.cleaned_data.get("teeth") or ""
        try:
            return ToothSet.parse(text)
        except DomainError as e:
            raise ValidationError(str(e.message)) from e

    def doctor(self) -> Staff | None:
        doctor_id = self.cleaned_data.get("doctor_id")
        return self.doctors.get(doctor_id) if doctor_id else None


class LineUpdateForm(forms.Form):
    quantity = forms.IntegerField(
        label=_("Quantity"), min_value=1, max_value=MAX_QUANTITY, required=False
    )
    self_paid = forms.NullBooleanField(label=_("Self-paid"), required=False)


class DiscountForm(forms.Form):
    """The cashier's picks (coupons offered by the sources) and the manual discount."""

    AMOUNT, PERCENT = "amount", "percent"

    # Checkboxes: the template lays each offer out as its own tickable line.
    offer = forms.MultipleChoiceField(
        label=_("Offers"), required=False, widget=forms.CheckboxSelectMultiple
    )
    manual_kind = forms.ChoiceField(
        label=_("Manual discount"),
        choices=[(AMOUNT, _("Amount (¥)")), (PERCENT, _("Percent (%)"))],
        initial=AMOUNT,
        required=False,
    )
    manual_value = forms.DecimalField(
        label=_("Discount"),
        required=False,
        min_value=Decimal("0.01"),
        max_value=MAX_AMOUNT,
        decimal_places=2,
    )
    reason = forms.CharField(label=_("Reason"), required=False, max_length=200)

    def __init__(self, *args: Any, offers: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["offer"]
        assert isinstance(field, forms.MultipleChoiceField)
        field.choices = offers

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        kind, value = data.get("manual_kind"), data.get("manual_value")
        if value is not None:
            if kind == self.PERCENT and value > 100:
                self.add_error("manual_value", _("Enter a percentage above 0 and at most 100."))
            if not (data.get("reason") or "").strip():
                self.add_error("reason", _("Give a reason for the manual discount."))
        return data

    def selected(self) -> dict[str, list[str]]:
        """The picked offers per step, e.g. {"coupon": ["17"]}."""
        picked: dict[str, list[str]] = {}
        for value in self.cleaned_data.get("offer") or []:
            step, _sep, reference = value.partition(":")
            picked.setdefault(step, []).append(reference)
        return picked


@dataclass(frozen=True)
class TenderRow:
    """One row of a split payment as the cashier typed it."""

    method: str
    amount: Decimal
    tendered: Decimal | None
    reference: str
    account_id: int | None


class PaymentForm(forms.Form):
    """A split payment: rows of method + amount (+ cash handed over, a transaction number,
    the stored-value card), posted as parallel lists, and the page's idempotency key."""

    idempotency_key = forms.CharField(max_length=100, required=False)

    def __init__(self, data: Any = None, *, card_ids: set[int] | None = None) -> None:
        super().__init__(data)
        self.card_ids = card_ids or set()
        self.rows: list[TenderRow] = []
        self.row_errors: list[str] = []
        self.raw_rows: list[dict[str, str]] = []

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if self.data is None:
            return data
        posted = cast(QueryDict, self.data)
        methods = posted.getlist("method")
        amounts = posted.getlist("amount")
        tendered = posted.getlist("tendered")
        references = posted.getlist("reference")
        accounts = posted.getlist("account")
        valid_methods = {value for value, _label in PaymentMethod.choices}

        def at(values: list[str], index: int) -> str:
            return values[index].strip() if index < len(values) else ""

        for index, method in enumerate(methods[:MAX_PAYMENT_ROWS]):
            raw = {
                "method": method,
                "amount": at(amounts, index),
                "tendered": at(tendered, index),
                "reference": at(references, index),
                "account": at(accounts, index),
            }
            self.raw_rows.append(raw)
            if not raw["amount"] and not raw["tendered"]:
                continue  # an empty row
            number = index + 1
            if method not in valid_methods:
                self.row_errors.append(
                    str(_("Row %(row)d: choose a payment method.") % {"row": number})
                )
                continue
            try:
                amount = parse_amount(raw["amount"])
            except ValidationError as e:
                self.row_errors.append(
                    str(_("Row %(row)d: %(error)s") % {"row": number, "error": e.messages[0]})
                )
                continue
            cash_in: Decimal | None = None
            if method == PaymentMethod.CASH and raw["tendered"]:
                try:
                    cash_in = parse_amount(raw["tendered"])
                except ValidationError as e:
                    self.row_errors.append(
                        str(_("Row %(row)d: %(error)s") % {"row": number, "error": e.messages[0]})
                    )
                    continue
                if cash_in < amount:
                    self.row_errors.append(
                        str(
                            _("Row %(row)d: the cash handed over is less than the amount.")
                            % {"row": number}
                        )
                    )
                    continue
            account_id: int | None = None
            if method == PaymentMethod.STORED_VALUE:
                try:
                    account_id = int(raw["account"])
                except ValueError:
                    account_id = None
                if account_id not in self.card_ids:
                    self.row_errors.append(
                        str(_("Row %(row)d: choose the stored-value card.") % {"row": number})
                    )
                    continue
            self.rows.append(TenderRow(method, amount, cash_in, raw["reference"][:64], account_id))
        if not self.rows and not self.row_errors:
            self.row_errors.append(str(_("Enter at least one payment.")))
        for message in self.row_errors:
            self.add_error(None, message)
        return data


class VoidForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=200)
