"""The billing API: catalogue, bills and payments, stored value, receipts."""

from ninja import Router

from chairside.billing.api import bills, catalogue, receipts, stored_value

router = Router()
for part in (catalogue, bills, receipts, stored_value):
    router.add_router("/", part.router)
