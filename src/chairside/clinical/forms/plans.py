"""Forms of the treatment plan pages: the plan builder (its lines come as JSON from
plan-builder.js), the change request, the rejection note and execution quantities."""

from __future__ import annotations

import json
from decimal import Decimal, InvalidOperation
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from chairside.clinical.models import PlanItem
from chairside.clinical.services.plans import MAX_ITEMS, PlanItemInput
from chairside.core.models import Staff


def parse_lines(raw: str, *, with_ids: bool = False) -> list[PlanItemInput]:
    """The builder's lines; anything malformed is a form error, never a 500."""
    try:
        rows = json.loads(raw or "[]")
    except ValueError:
        raise forms.ValidationError(_("The plan's items could not be read.")) from None
    if not isinstance(rows, list) or not rows:
        raise forms.ValidationError(_("Add at least one item to the plan."))
    if len(rows) > MAX_ITEMS:
        raise forms.ValidationError(_("The plan has too many items."))
    lines = []
    for row in rows:
        if not isinstance(row, dict):
            raise forms.ValidationError(_("The plan's items could not be read."))
        try:
            price = row.get("unit_price")
            unit_price = None if price in (None, "") else Decimal(str(price))
            quantity = row.get("quantity")
            plan_item_id = row.get("plan_item_id") if with_ids else None
            teeth = row.get("teeth") or []
            if not isinstance(teeth, list | str):
                raise TypeError
            lines.append(
                PlanItemInput(
                    item_id=int(row["item_id"]),
                    quantity=None if quantity in (None, "") else int(quantity),
                    teeth=teeth,
                    arch=str(row.get("arch") or ""),
                    unit_price=unit_price,
                    note=str(row.get("note") or ""),
                    plan_item_id=None if plan_item_id in (None, "") else int(plan_item_id),
                )
            )
        except (KeyError, TypeError, ValueError, InvalidOperation):
            raise forms.ValidationError(_("The plan's items could not be read.")) from None
    return lines


class PlanForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=100)
    doctor = forms.ModelChoiceField(label=_("Doctor"), queryset=Staff.all_tenants.none())
    note = forms.CharField(
        label=_("Note"), max_length=2000, required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    items_json = forms.CharField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args: Any, doctors: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["doctor"].queryset = doctors  # type: ignore[attr-defined]

    def clean_items_json(self) -> list[PlanItemInput]:
        return parse_lines(self.cleaned_data.get("items_json", ""))


class ChangeForm(forms.Form):
    reason = forms.CharField(label=_("Reason for the change"), max_length=200)
    items_json = forms.CharField(widget=forms.HiddenInput, required=False)

    def clean_items_json(self) -> list[PlanItemInput]:
        return parse_lines(self.cleaned_data.get("items_json", ""), with_ids=True)


class RejectForm(forms.Form):
    note = forms.CharField(label=_("Why is it rejected?"), max_length=200)


class ExecuteForm(forms.Form):
    """One quantity box per open item of the plan (0 or empty: not now)."""

    doctor = forms.ModelChoiceField(
        label=_("Done by"),
        queryset=Staff.all_tenants.none(),
        required=False,
        empty_label=_("The plan's doctor"),
    )

    def __init__(self, *args: Any, items: list[PlanItem], doctors: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.items = items
        self.fields["doctor"].queryset = doctors  # type: ignore[attr-defined]
        for item in items:
            self.fields[f"qty_{item.pk}"] = forms.IntegerField(
                label=item.name, min_value=0, max_value=item.remaining_quantity, required=False
            )

    def quantity_field(self, item: PlanItem) -> forms.BoundField:
        return self[f"qty_{item.pk}"]

    def chosen(self) -> list[tuple[PlanItem, int]]:
        return [
            (item, self.cleaned_data[f"qty_{item.pk}"])
            for item in self.items
            if self.cleaned_data.get(f"qty_{item.pk}")
        ]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not self.errors and not self.chosen():
            raise forms.ValidationError(_("Enter how many of at least one item were done."))
        return data
