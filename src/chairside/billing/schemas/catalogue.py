"""API schemas of the service catalogue: items, clinic prices, and the money types the
billing API shares (amounts go out as strings with two places, "1280.00")."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Literal

from ninja import Schema
from pydantic import Field, PlainSerializer, WithJsonSchema

from chairside.billing.models import CatalogueItem, Category, ClinicPrice, Unit
from chairside.core.schemas import PageOut, PageQuery, Text

MAX_MONEY = Decimal("9999999999.99")
_MONEY_OUT_SCHEMA = WithJsonSchema(
    {"type": "string", "pattern": r"^-?\d+\.\d{2}$", "examples": ["1280.00"]}
)
# Yuan with two places, as text so no client reads it as a float.
MoneyOut = Annotated[
    Decimal, PlainSerializer(lambda value: f"{value:.2f}", return_type=str), _MONEY_OUT_SCHEMA
]
# A price: zero or more, at most two places.
PriceIn = Annotated[Decimal, Field(ge=0, le=MAX_MONEY, max_digits=12, decimal_places=2)]
# An amount of money that moves: more than zero, at most two places.
AmountIn = Annotated[Decimal, Field(gt=0, le=MAX_MONEY, max_digits=12, decimal_places=2)]


class CatalogueQuery(PageQuery):
    q: Text = Field(
        "",
        max_length=50,
        description="Code or 医保 code prefix, part of the name, or its pinyin / initials.",
    )
    category: Category | None = None
    status: Literal["active", "inactive", "all"] = Field(
        "active", description="Active items (default), retired ones, or all."
    )

    @property
    def active(self) -> bool | None:
        return {"active": True, "inactive": False}.get(self.status)


class CatalogueItemIn(Schema):
    code: Text = Field(max_length=40, description="Latin letters, digits, - and _.")
    name: Text = Field(max_length=100)
    category: Category
    unit: Unit = Unit.PER_ITEM
    price: PriceIn = Field(description="List price in yuan.")
    insurance_code: Text = Field("", max_length=40, description="医保 code, if covered.")
    member_discount_allowed: bool = True


class CatalogueItemUpdateIn(Schema):
    """Only the fields sent are changed; is_active false retires the item."""

    code: Text | None = Field(None, max_length=40)
    name: Text | None = Field(None, max_length=100)
    category: Category | None = None
    unit: Unit | None = None
    price: PriceIn | None = None
    insurance_code: Text | None = Field(None, max_length=40)
    member_discount_allowed: bool | None = None
    is_active: bool | None = None


class ClinicPriceIn(Schema):
    price: PriceIn = Field(description="The clinic's own price in yuan.")


class ClinicPriceOut(Schema):
    item_id: int
    clinic_id: int
    clinic_name: str
    price: MoneyOut

    @staticmethod
    def of(override: ClinicPrice) -> ClinicPriceOut:
        return ClinicPriceOut(
            item_id=override.item_id,
            clinic_id=override.clinic_id,
            clinic_name=override.clinic.name,
            price=override.price,
        )


class CatalogueItemOut(Schema):
    id: int
    code: str
    name: str
    category: Category
    category_label: str
    unit: Unit
    unit_label: str
    price: MoneyOut = Field(description="The organization's list price.")
    clinic_price: MoneyOut | None = Field(
        description="The acting clinic's own price, if it has one."
    )
    price_here: MoneyOut = Field(description="What the acting clinic charges.")
    insurance_code: str
    is_insured: bool
    member_discount_allowed: bool
    is_active: bool

    @staticmethod
    def of(item: CatalogueItem) -> CatalogueItemOut:
        """`item` as annotated by selectors.catalogue.catalogue_list."""
        clinic_price = getattr(item, "clinic_price", None)
        return CatalogueItemOut(
            id=item.pk,
            code=item.code,
            name=item.name,
            category=Category(item.category),
            category_label=str(item.get_category_display()),
            unit=Unit(item.unit),
            unit_label=str(item.get_unit_display()),
            price=item.price,
            clinic_price=clinic_price,
            price_here=getattr(item, "price_here", item.price),
            insurance_code=item.insurance_code,
            is_insured=item.is_insured,
            member_discount_allowed=item.member_discount_allowed,
            is_active=item.is_active,
        )


class CatalogueItemDetailOut(CatalogueItemOut):
    clinic_prices: list[ClinicPriceOut] = Field(description="Every clinic's own price.")

    @staticmethod
    def of(item: CatalogueItem) -> CatalogueItemDetailOut:  # type: ignore[override]
        """`item` from selectors.catalogue.get_catalogue_item (clinic prices prefetched)."""
        return CatalogueItemDetailOut(
            **CatalogueItemOut.of(item).model_dump(),
            clinic_prices=[ClinicPriceOut.of(p) for p in item.clinic_prices.all()],
        )


class CatalogueItemPage(PageOut):
    items: list[CatalogueItemOut]
