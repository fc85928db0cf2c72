"""The clinical API: medical records, treatment plans, a patient's visit history."""

from ninja import Router

from chairside.clinical.api import history, plans, records

router = Router()
for part in (records, plans, history):
    router.add_router("/", part.router)
