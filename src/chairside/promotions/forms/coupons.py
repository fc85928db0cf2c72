"""Forms of the coupon pages: a template with its entitlements, issuing, batches, voiding."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from chairside.billing.models import CatalogueItem, Category
from chairside.core.models import Clinic
from chairside.promotions.models import CouponKind, CouponTemplate, ValidityKind
from chairside.promotions.services.coupons import BATCH_MAX, TemplateData

MAX_AMOUNT = Decimal("9999999999.99")
ENTITLEMENT_ROWS = 6


def _items() -> Any:
    return CatalogueItem.objects.filter(is_active=True).order_by("category", "code")


class TemplateForm(forms.Form):
    name = forms.CharField(label=pgettext_lazy("coupon template", "Name"), max_length=60)
    kind = forms.ChoiceField(label=_("Kind"), choices=CouponKind.choices)
    description = forms.CharField(label=_("Description"), max_length=200, required=False)
    amount = forms.DecimalField(
        label=_("Amount off (¥)"),
        required=False,
        min_value=Decimal("0.01"),
        max_value=MAX_AMOUNT,
        decimal_places=2,
    )
    percent_off = forms.DecimalField(
        label=_("Percent off"),
        required=False,
        min_value=Decimal("0.01"),
        max_value=Decimal(100),
        decimal_places=2,
        help_text=_("15 means 15 percent off (8.5折)."),
    )
    max_discount = forms.DecimalField(
        label=_("Discount cap (¥)"),
        required=False,
        min_value=Decimal("0.01"),
        max_value=MAX_AMOUNT,
        decimal_places=2,
    )
    service_items = forms.ModelMultipleChoiceField(
        label=_("Free services (one of)"), queryset=CatalogueItem.all_tenants.none(), required=False
    )
    validity_kind = forms.ChoiceField(
        label=_("Validity"), choices=ValidityKind.choices, initial=ValidityKind.FIXED
    )
    valid_from = forms.DateField(label=_("Valid from"), required=False)
    valid_until = forms.DateField(label=_("Valid until"), required=False)
    valid_days = forms.IntegerField(
        label=_("Days valid after issue"), required=False, min_value=1, max_value=3660
    )
    min_spend = forms.DecimalField(
        label=_("Minimum spend (¥)"),
        required=False,
        min_value=Decimal(0),
        max_value=MAX_AMOUNT,
        decimal_places=2,
        help_text=_("On the services it applies to, after the member discount."),
    )
    categories = forms.MultipleChoiceField(
        label=_("Categories"),
        choices=Category.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    items = forms.ModelMultipleChoiceField(
        label=_("Services"), queryset=CatalogueItem.all_tenants.none(), required=False
    )
    clinics = forms.ModelMultipleChoiceField(
        label=_("Clinics"),
        queryset=Clinic.all_tenants.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("None ticked: every clinic."),
    )
    members_only = forms.BooleanField(label=_("Members only"), required=False)
    combinable = forms.BooleanField(
        label=_("Combinable with other coupons"), required=False, initial=True
    )
    per_person_limit = forms.IntegerField(
        label=_("Limit per person"),
        min_value=0,
        max_value=1000,
        initial=0,
        help_text=_("0: no limit."),
    )
    allow_bearer = forms.BooleanField(label=_("Allow bearer use"), required=False)
    giftable = forms.BooleanField(label=_("Giftable"), required=False)
    is_active = forms.BooleanField(label=_("Active"), required=False, initial=True)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        items = _items()
        for name in ("service_items", "items"):
            field = self.fields[name]
            assert isinstance(field, forms.ModelMultipleChoiceField)
            field.queryset = items
        clinics = self.fields["clinics"]
        assert isinstance(clinics, forms.ModelMultipleChoiceField)
        clinics.queryset = Clinic.objects.filter(kind=Clinic.Kind.CLINIC, is_active=True)

    @staticmethod
    def initial_of(template: CouponTemplate) -> dict[str, Any]:
        return {
            "name": template.name,
            "kind": template.kind,
            "description": template.description,
            "amount": template.amount,
            "percent_off": template.percent_off,
            "max_discount": template.max_discount,
            "service_items": list(template.service_items.all()),
            "validity_kind": template.validity_kind,
            "valid_from": template.valid_from,
            "valid_until": template.valid_until,
            "valid_days": template.valid_days,
            "min_spend": template.min_spend,
            "categories": list(template.categories or []),
            "items": list(template.items.all()),
            "clinics": list(template.clinics.all()),
            "members_only": template.members_only,
            "combinable": template.combinable,
            "per_person_limit": template.per_person_limit,
            "allow_bearer": template.allow_bearer,
            "giftable": template.giftable,
            "is_active": template.is_active,
        }

    def data_for_service(self, entitlements: list[tuple[CatalogueItem, int]]) -> TemplateData:
        d = self.cleaned_data
        return TemplateData(
            name=d["name"],
            kind=d["kind"],
            description=d.get("description") or "",
            amount=d.get("amount"),
            percent_off=d.get("percent_off"),
            max_discount=d.get("max_discount"),
            service_items=list(d.get("service_items") or []),
            entitlements=entitlements,
            validity_kind=d["validity_kind"],
            valid_from=d.get("valid_from"),
            valid_until=d.get("valid_until"),
            valid_days=d.get("valid_days"),
            min_spend=d.get("min_spend") or Decimal("0.00"),
            categories=list(d.get("categories") or []),
            items=list(d.get("items") or []),
            clinics=list(d.get("clinics") or []),
            members_only=d.get("members_only", False),
            combinable=d.get("combinable", False),
            per_person_limit=d.get("per_person_limit") or 0,
            allow_bearer=d.get("allow_bearer", False),
            giftable=d.get("giftable", False),
            is_active=d.get("is_active", False),
        )


class EntitlementForm(forms.Form):
    item = forms.ModelChoiceField(
        label=_("Service"), queryset=CatalogueItem.all_tenants.none(), required=False
    )
    count = forms.IntegerField(label=_("Count"), min_value=1, max_value=1000, required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["item"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = _items()

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("item") is not None and not data.get("count"):
            self.add_error("count", _("Enter how many."))
        return data


EntitlementFormSet = forms.formset_factory(EntitlementForm, extra=0, max_num=ENTITLEMENT_ROWS)


def entitlement_formset(data: Any = None, template: CouponTemplate | None = None) -> Any:
    initial = []
    if template is not None:
        initial = [{"item": e.item, "count": e.count} for e in template.entitlements.all()]
    initial += [{}] * (ENTITLEMENT_ROWS - len(initial))
    return EntitlementFormSet(data, initial=initial[:ENTITLEMENT_ROWS], prefix="ent")


class IssueForm(forms.Form):
    template = forms.ModelChoiceField(
        label=_("Coupon"), queryset=CouponTemplate.all_tenants.none(), empty_label=None
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["template"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = CouponTemplate.objects.filter(is_active=True).order_by("name")


class BatchForm(IssueForm):
    count = forms.IntegerField(label=_("How many"), min_value=1, max_value=BATCH_MAX)
    note = forms.CharField(label=_("Note"), max_length=200, required=False)


class VoidForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=200)
