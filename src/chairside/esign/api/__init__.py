"""The e-signature API: signed documents and signing, key enrolment and certificates."""

from ninja import Router

from chairside.esign.api import certificates, documents

router = Router()
router.add_router("/", documents.router)
router.add_router("/", certificates.router)
