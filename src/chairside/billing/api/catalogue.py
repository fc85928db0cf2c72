"""API of the service catalogue: the organization's items with the acting clinic's prices,
and each clinic's own prices. HQ keeps the list; a clinic-level catalogue grant sets that
clinic's prices only."""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Query, Router
from ninja.responses import Status

from chairside.billing.schemas.catalogue import (
    CatalogueItemDetailOut,
    CatalogueItemIn,
    CatalogueItemOut,
    CatalogueItemPage,
    CatalogueItemUpdateIn,
    CatalogueQuery,
    ClinicPriceIn,
    ClinicPriceOut,
)
from chairside.billing.selectors import catalogue as selectors
from chairside.billing.services import catalogue as services
from chairside.core.access import Access
from chairside.core.api_auth import AUTH_ERRORS, LOOKUP_ERRORS, access_of, error_responses
from chairside.core.pagination import paginate
from chairside.core.schemas import PathId
from chairside.core.selectors import get_clinic

router = Router(tags=["billing"])

WRITE_ERRORS = error_responses(400, 401, 403, 404, 409)
# Those who charge, plan treatment or keep the list all read it.
READ_PERMISSIONS = ("billing.view", "plans.view", "billing.catalogue")


def require_catalogue_read(access: Access) -> None:
    if not any(access.can(p) for p in READ_PERMISSIONS):
        access.require("billing.view")


@router.get(
    "/catalogue",
    response={200: CatalogueItemPage, **AUTH_ERRORS},
    summary="Search the service catalogue",
)
def catalogue_list(request: HttpRequest, filters: Query[CatalogueQuery]) -> CatalogueItemPage:
    """Items by code, name or pinyin, with the acting clinic's price of each."""
    access = access_of(request)
    require_catalogue_read(access)
    items = selectors.catalogue_list(
        clinic=access.clinic,
        query=filters.q,
        category=filters.category,
        active=filters.active,
    )
    page = paginate(items, page=filters.page, page_size=filters.page_size)
    return CatalogueItemPage.of(page, [CatalogueItemOut.of(i) for i in page.items])


@router.post(
    "/catalogue",
    response={201: CatalogueItemDetailOut, **error_responses(400, 401, 403, 409)},
    summary="Add a catalogue item",
)
def catalogue_create(
    request: HttpRequest, payload: CatalogueItemIn
) -> Status[CatalogueItemDetailOut]:
    access = access_of(request)
    access.require("billing.catalogue")
    item = services.catalogue_item_create(
        actor=access.staff, clinic=access.clinic, **payload.model_dump()
    )
    item = selectors.get_catalogue_item(item_id=item.pk, clinic=access.clinic)
    return Status(201, CatalogueItemDetailOut.of(item))


@router.get(
    "/catalogue/{int:item_id}",
    response={200: CatalogueItemDetailOut, **LOOKUP_ERRORS},
    summary="A catalogue item with its clinic prices",
)
def catalogue_detail(request: HttpRequest, item_id: PathId) -> CatalogueItemDetailOut:
    access = access_of(request)
    require_catalogue_read(access)
    return CatalogueItemDetailOut.of(
        selectors.get_catalogue_item(item_id=item_id, clinic=access.clinic)
    )


@router.patch(
    "/catalogue/{int:item_id}",
    response={200: CatalogueItemDetailOut, **WRITE_ERRORS},
    summary="Edit or retire a catalogue item",
)
def catalogue_update(
    request: HttpRequest, item_id: PathId, payload: CatalogueItemUpdateIn
) -> CatalogueItemDetailOut:
    access = access_of(request)
    access.require("billing.catalogue")
    item = selectors.get_catalogue_item(item_id=item_id)
    changes = payload.model_dump(exclude_unset=True)
    is_active = changes.pop("is_active", None)
    # Fields sent as null mean "leave as it is".
    changes = {k: v for k, v in changes.items() if v is not None}
    if changes:
        item = services.catalogue_item_update(
            actor=access.staff, clinic=access.clinic, item=item, **changes
        )
    if is_active is not None:
        services.catalogue_item_set_active(
            actor=access.staff, clinic=access.clinic, item=item, is_active=is_active
        )
    return CatalogueItemDetailOut.of(
        selectors.get_catalogue_item(item_id=item_id, clinic=access.clinic)
    )


@router.put(
    "/catalogue/{int:item_id}/clinic-prices/{int:clinic_id}",
    response={200: ClinicPriceOut, **LOOKUP_ERRORS},
    summary="Set a clinic's own price for an item",
)
def clinic_price_set(
    request: HttpRequest, item_id: PathId, clinic_id: PathId, payload: ClinicPriceIn
) -> ClinicPriceOut:
    """Clinic-level catalogue grants may set the prices of their own clinics only."""
    access = access_of(request)
    access.require("billing.catalogue")
    item = selectors.get_catalogue_item(item_id=item_id)
    price_clinic = get_clinic(clinic_id=clinic_id)
    override = services.clinic_price_set(
        actor=access.staff,
        clinic=access.clinic,
        item=item,
        price_clinic=price_clinic,
        price=payload.price,
    )
    override.clinic = price_clinic
    return ClinicPriceOut.of(override)


@router.delete(
    "/catalogue/{int:item_id}/clinic-prices/{int:clinic_id}",
    response={204: None, **LOOKUP_ERRORS},
    summary="Go back to the list price at a clinic",
)
def clinic_price_clear(request: HttpRequest, item_id: PathId, clinic_id: PathId) -> Status[None]:
    access = access_of(request)
    access.require("billing.catalogue")
    item = selectors.get_catalogue_item(item_id=item_id)
    price_clinic = get_clinic(clinic_id=clinic_id)
    services.clinic_price_clear(
        actor=access.staff, clinic=access.clinic, item=item, price_clinic=price_clinic
    )
    return Status(204, None)
