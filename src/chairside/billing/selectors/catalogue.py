"""Reads of the service catalogue: items and the price a clinic charges for them."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from chairside.billing.models import CatalogueItem, ClinicPrice
from chairside.core.models import Clinic


def prices_at(items: Iterable[CatalogueItem], clinic: Clinic) -> dict[int, Decimal]:
    """Item id -> the price at `clinic`: its own price where it has one, else the list price."""
    items = list(items)
    overrides = dict(
        ClinicPrice.objects.filter(clinic=clinic, item__in=items).values_list("item_id", "price")
    )
    return {item.pk: overrides.get(item.pk, item.price) for item in items}


def price_at(item: CatalogueItem, clinic: Clinic) -> Decimal:
    return prices_at([item], clinic)[item.pk]
