"""The forms API."""

from ninja import Router

from chairside.forms.api import instances, templates

router = Router()
router.add_router("/", templates.router)
router.add_router("/", instances.router)
