"""Forms of the membership pages. They only tidy what was typed; the services decide."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from chairside.billing.models import CatalogueItem, Category
from chairside.core.errors import DomainError
from chairside.membership.models import Member, Qualification, Tier


def attach_errors(form: forms.Form, error: DomainError) -> None:
    """A service's field errors at the fields they name; anything else above the form."""
    if not error.fields:
        form.add_error(None, str(error.message))
        return
    for name, messages in error.fields.items():
        target = name if name in form.fields else None
        for message in messages:
            form.add_error(target, str(message))


class TierForm(forms.Form):
    code = forms.SlugField(label=_("Code"), max_length=30)
    name = forms.CharField(label=_("Name"), max_length=50)
    rank = forms.IntegerField(
        label=_("Rank"), min_value=1, max_value=1000, help_text=_("Higher ranks are better tiers.")
    )
    qualification = forms.ChoiceField(label=_("Qualifies by"), choices=Qualification.choices)
    threshold = forms.DecimalField(
        label=_("Qualifying total"), min_value=0, max_digits=12, decimal_places=2, initial=0
    )
    period_days = forms.IntegerField(
        label=_("Qualifying period (days)"), min_value=1, max_value=3650, initial=365
    )
    requires_qualification = forms.BooleanField(
        label=_("Enrolment needs the qualification"), required=False
    )
    fee_item = forms.ModelChoiceField(
        label=_("Membership fee item"), queryset=CatalogueItem.all_tenants.none(), required=False
    )
    validity_months = forms.IntegerField(
        label=_("Valid for (months)"), min_value=1, max_value=120, initial=12
    )
    member_day = forms.IntegerField(
        label=_("Member day (day of month)"), min_value=1, max_value=31, required=False
    )
    member_day_rate = forms.DecimalField(
        label=_("Extra member-day rate"),
        min_value=Decimal("0.001"),
        max_value=1,
        max_digits=4,
        decimal_places=3,
        required=False,
        help_text=_("0.95 is 九五折 (a twentieth off)."),
    )
    free_cleanings_per_year = forms.IntegerField(
        label=_("Free cleanings a year"), min_value=0, max_value=100, initial=0
    )
    free_cleaning_codes = forms.CharField(
        label=_("Cleaning item codes"),
        max_length=200,
        required=False,
        help_text=_("Catalogue codes, separated by commas, e.g. scaling."),
    )
    priority_booking = forms.BooleanField(label=_("Priority booking"), required=False)
    expert_consultation = forms.BooleanField(label=_("Expert consultation"), required=False)
    is_active = forms.BooleanField(label=_("Active"), required=False, initial=True)

    def __init__(self, *args: Any, tier: Tier | None = None, **kwargs: Any) -> None:
        if tier is not None and "initial" not in kwargs:
            kwargs["initial"] = {
                name: getattr(tier, name)
                for name in (
                    "code",
                    "name",
                    "rank",
                    "qualification",
                    "threshold",
                    "period_days",
                    "requires_qualification",
                    "fee_item",
                    "validity_months",
                    "member_day",
                    "member_day_rate",
                    "free_cleanings_per_year",
                    "priority_booking",
                    "expert_consultation",
                    "is_active",
                )
            } | {"free_cleaning_codes": ", ".join(tier.free_cleaning_codes or [])}
        super().__init__(*args, **kwargs)
        fee_item: Any = self.fields["fee_item"]
        fee_item.queryset = CatalogueItem.objects.filter(is_active=True).order_by("code")
        if tier is not None:
            self.fields["code"].disabled = True

    def service_values(self) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        codes = data.pop("free_cleaning_codes") or ""
        data["free_cleaning_codes"] = [c.strip() for c in codes.split(",") if c.strip()]
        return data


class BenefitsForm(forms.Form):
    """One rate field per catalogue category; empty means no discount there."""

    def __init__(self, *args: Any, tier: Tier | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        current = {b.category: b.rate for b in tier.benefits.all()} if tier else {}
        for value, label in Category.choices:
            self.fields[value] = forms.CharField(
                label=label,
                required=False,
                max_length=6,
                initial=current.get(value, ""),
                widget=forms.TextInput(attrs={"inputmode": "decimal", "placeholder": "0.90"}),
            )

    def rates(self) -> dict[str, Decimal]:
        found: dict[str, Decimal] = {}
        for name in Category.values:
            raw = (self.cleaned_data.get(name) or "").strip()
            if not raw:
                continue
            try:
                found[name] = Decimal(raw)
            except InvalidOperation:
                self.add_error(name, _("Enter a rate such as 0.90."))
        return found


class MemberFilterForm(forms.Form):
    q = forms.CharField(required=False, max_length=50)
    tier = forms.ModelChoiceField(queryset=Tier.all_tenants.none(), required=False)
    status = forms.ChoiceField(
        choices=[("", _("All statuses")), *Member.Status.choices], required=False
    )
    expiring_before = forms.DateField(required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        tier: Any = self.fields["tier"]
        tier.queryset = Tier.objects.order_by("rank")
