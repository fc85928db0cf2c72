"""The membership API: tiers, points rules, gifts and settings; members and points;
booking windows held back for members."""

from ninja import Router

from chairside.membership.api import members, tiers, windows

router = Router()
for part in (tiers, members, windows):
    router.add_router("/", part.router)
