"""Helpers shared by the membership services: settings, tenant-safe lookups, dates."""

from __future__ import annotations

import calendar
from datetime import date

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from chairside.core.errors import NotFound
from chairside.core.models import Clinic
from chairside.membership.models import MembershipSettings


def membership_settings(organization_id: int) -> MembershipSettings:
    found = MembershipSettings.objects.filter(organization_id=organization_id).first()
    if found is not None:
        return found
    try:
        with transaction.atomic():
            return MembershipSettings.objects.create(organization_id=organization_id)
    except IntegrityError:
        return MembershipSettings.objects.get(organization_id=organization_id)


def same_org(clinic: Clinic, *objects: object) -> None:
    """404 when an object belongs to another organization than the clinic acted in."""
    for obj in objects:
        if obj is not None and getattr(obj, "organization_id", None) != clinic.organization_id:
            raise NotFound(_("Not found."))


def add_months(day: date, months: int) -> date:
    """`day` plus `months` calendar months, on the month's last day when it is shorter."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))
