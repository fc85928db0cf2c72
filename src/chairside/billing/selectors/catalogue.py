"""Reads of the service catalogue: items and the price a clinic charges for them."""

from __future__ import annotations

import re
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from django.db.models import DecimalField, OuterRef, Prefetch, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.utils.translation import gettext_lazy as _

from chairside.billing.models import CatalogueItem, ClinicPrice
from chairside.core.errors import NotFound
from chairside.core.models import Clinic
from chairside.core.money import quantize_money


class _AnnotatedMoney(DecimalField):  # type: ignore[type-arg]
    """Money computed in a query, rounded to the fen as stored columns are (SQLite returns
    computed decimals unscaled: 180 rather than 180.00)."""

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> Decimal | None:
        return None if value is None else quantize_money(value)


_SPACES = re.compile(r"\s+")


def prices_at(items: Iterable[CatalogueItem], clinic: Clinic) -> dict[int, Decimal]:
    """Item id -> the price at `clinic`: its own price where it has one, else the list price."""
    items = list(items)
    overrides = dict(
        ClinicPrice.objects.filter(clinic=clinic, item__in=items).values_list("item_id", "price")
    )
    return {item.pk: overrides.get(item.pk, item.price) for item in items}


def price_at(item: CatalogueItem, clinic: Clinic) -> Decimal:
    return prices_at([item], clinic)[item.pk]


def catalogue_search_condition(query: str) -> Q:
    """What someone typed: a code or 医保 code prefix, part of the name, or its pinyin
    (full, "jiezhi", or initials, "qkjz")."""
    text = _SPACES.sub("", query)
    if not text:
        return Q()
    lowered = text.lower()
    return (
        Q(code__istartswith=lowered)
        | Q(insurance_code__istartswith=text)
        | Q(name__icontains=text)
        | Q(name_pinyin__contains=lowered)
    )


def catalogue_list(
    *,
    clinic: Clinic,
    query: str = "",
    category: str | None = None,
    active: bool | None = True,
) -> QuerySet[CatalogueItem]:
    """Items matching the filters, each annotated with `clinic_price` (the clinic's own
    price, or None) and `price_here` (what `clinic` charges), in one query."""
    items = CatalogueItem.objects.filter(catalogue_search_condition(query))
    if category:
        items = items.filter(category=category)
    if active is not None:
        items = items.filter(is_active=active)
    override = ClinicPrice.objects.filter(item=OuterRef("pk"), clinic=clinic).values("price")[:1]
    money = _AnnotatedMoney(max_digits=12, decimal_places=2)
    return items.annotate(
        clinic_price=Subquery(override, output_field=money),
    ).annotate(
        price_here=Coalesce("clinic_price", "price", output_field=money),
    )


def get_catalogue_item(*, item_id: int, clinic: Clinic | None = None) -> CatalogueItem:
    """An item of the current organization (the same 404 whether missing or foreign), with
    its clinic prices prefetched; annotated with the price at `clinic` when given."""
    items = (
        catalogue_list(clinic=clinic, active=None)
        if clinic is not None
        else CatalogueItem.objects.all()
    )
    item = (
        items.prefetch_related(
            Prefetch(
                "clinic_prices",
                queryset=ClinicPrice.objects.select_related("clinic").order_by("clinic_id"),
            )
        )
        .filter(pk=item_id)
        .first()
    )
    if item is None:
        raise NotFound(_("Catalogue item not found."))
    return item
