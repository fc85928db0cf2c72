"""The membership API: tiers, points rules, gifts and settings; members and points."""

from ninja import Router

from chairside.membership.api import members, tiers

router = Router()
for part in (tiers, members):
    router.add_router("/", part.router)
