"""The promotions API."""

from ninja import Router

from chairside.promotions.api import coupons, flash_sales

router = Router()
router.add_router("/", coupons.router)
router.add_router("/", flash_sales.router)
