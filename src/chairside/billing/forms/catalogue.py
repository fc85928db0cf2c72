"""Forms of the catalogue pages. They only tidy what was typed; the services decide."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from chairside.billing.models import CatalogueItem, Category, Unit
from chairside.core.errors import DomainError
from chairside.core.models import Clinic


def attach_errors(form: forms.Form, error: DomainError) -> None:
    """A service's field errors at the fields they name; anything else above the form."""
    if not error.fields:
        form.add_error(None, str(error.message))
        return
    for name, messages in error.fields.items():
        target = name if name in form.fields else None
        for message in messages:
            form.add_error(target, str(message))


class CatalogueItemForm(forms.Form):
    code = forms.CharField(
        label=_("Code"),
        max_length=40,
        required=False,
        help_text=_("Latin letters, digits, - and _; e.g. crown-zirconia."),
        widget=forms.TextInput(attrs={"autocomplete": "off", "class": "mono"}),
    )
    name = forms.CharField(label=_("Name"), max_length=100, required=False)
    category = forms.ChoiceField(label=_("Category"), choices=Category.choices)
    unit = forms.ChoiceField(label=_("Unit"), choices=Unit.choices, initial=Unit.PER_ITEM)
    # Text, so that "1,280" or "¥99.5" reach the service and get its message.
    price = forms.CharField(
        label=_("List price (¥)"),
        max_length=20,
        required=False,
        widget=forms.TextInput(attrs={"inputmode": "decimal"}),
    )
    insurance_code = forms.CharField(
        label=_("Insurance (医保) code"),
        max_length=40,
        required=False,
        help_text=_("Leave empty when medical insurance does not cover the item."),
    )
    member_discount_allowed = forms.BooleanField(
        label=_("Member discounts apply"), required=False, initial=True
    )

    def __init__(self, *args: Any, item: CatalogueItem | None = None, **kwargs: Any) -> None:
        if item is not None and "initial" not in kwargs:
            kwargs["initial"] = {
                "code": item.code,
                "name": item.name,
                "category": item.category,
                "unit": item.unit,
                "price": f"{item.price:.2f}",
                "insurance_code": item.insurance_code,
                "member_discount_allowed": item.member_discount_allowed,
            }
        super().__init__(*args, **kwargs)

    def service_values(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "code": (data.get("code") or "").strip(),
            "name": (data.get("name") or "").strip(),
            "category": data["category"],
            "unit": data["unit"],
            "price": (data.get("price") or "").replace(",", "").replace("¥", "").strip(),
            "insurance_code": (data.get("insurance_code") or "").strip(),
            "member_discount_allowed": bool(data.get("member_discount_allowed")),
        }


class ClinicPriceForm(forms.Form):
    """A clinic's own price for the item; the clinics offered are those the user may price."""

    clinic = forms.TypedChoiceField(label=_("Clinic"), coerce=int)
    price = forms.CharField(
        label=_("Clinic price (¥)"),
        max_length=20,
        required=False,
        widget=forms.TextInput(attrs={"inputmode": "decimal"}),
    )

    def __init__(self, *args: Any, clinics: list[Clinic], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.clinics = {c.pk: c for c in clinics}
        self.fields["clinic"].choices = [(c.pk, c.name) for c in clinics]  # type: ignore[attr-defined]

    def chosen_clinic(self) -> Clinic:
        return self.clinics[self.cleaned_data["clinic"]]

    def price_text(self) -> str:
        return (self.cleaned_data.get("price") or "").replace(",", "").replace("¥", "").strip()
