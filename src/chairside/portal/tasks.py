"""Background work of the patient portal."""

from __future__ import annotations

from celery import shared_task

from chairside.portal.services import login_codes_purge


@shared_task(name="portal.purge_login_codes", ignore_result=True)
def purge_login_codes() -> int:
    """Delete sign-in codes expired a week ago or more (run daily by beat)."""
    return login_codes_purge()
