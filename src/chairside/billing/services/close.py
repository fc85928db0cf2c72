"""The daily close (日结) of a clinic: the day's ledger totals by method, staff and kind,
copied into a DailyClose and stamped on the rows; after it the day takes no more money.

A close and the money writers meet at one lock per clinic (ledger.business_day_lock):
writers hold it shared while they check the day is open and write, the close holds it
exclusively, so no payment can slip into a day between its totals and its close.
"""

from __future__ import annotations

from datetime import date

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from chairside.billing.errors import BillingErrorCode
from chairside.billing.models import DailyClose, Payment
from chairside.billing.selectors.bills import daily_close_preview
from chairside.billing.services.ledger import business_day_lock
from chairside.core.audit import audit_record, snapshot
from chairside.core.clock import clinic_today
from chairside.core.errors import Conflict, ValidationFailed
from chairside.core.models import AuditEntry, Clinic, Staff


@transaction.atomic
def daily_close(*, actor: Staff, clinic: Clinic, business_date: date, note: str = "") -> DailyClose:
    """Close `business_date` at `clinic`: totals frozen, rows stamped, no more money that day."""
    if business_date > clinic_today(clinic):
        raise ValidationFailed(
            _("A day can only be closed once it has begun."), field="business_date"
        )
    business_day_lock(clinic, exclusive=True)
    if DailyClose.objects.filter(clinic=clinic, business_date=business_date).exists():
        raise Conflict(
            _("The accounts of %(clinic)s for %(date)s are already closed.")
            % {"clinic": clinic.name, "date": business_date.isoformat()},
            code=BillingErrorCode.DAY_ALREADY_CLOSED,
        )
    totals = daily_close_preview(clinic, business_date)
    try:
        with transaction.atomic():
            close = DailyClose.objects.create(
                organization_id=clinic.organization_id,
                clinic=clinic,
                business_date=business_date,
                totals=totals.as_json(),
                received_total=totals.received,
                refunded_total=totals.refunded,
                note=note.strip()[:200],
                closed_by=actor,
                closed_at=timezone.now(),
            )
    except IntegrityError:
        raise Conflict(
            _("The accounts of %(clinic)s for %(date)s are already closed.")
            % {"clinic": clinic.name, "date": business_date.isoformat()},
            code=BillingErrorCode.DAY_ALREADY_CLOSED,
        ) from None
    Payment.objects.filter(
        clinic=clinic, business_date=business_date, daily_close__isnull=True
    ).update(daily_close=close)
    audit_record(
        action=AuditEntry.Action.CREATE,
        instance=close,
        actor=actor,
        clinic=clinic,
        after=snapshot(close),
        summary=_("Day %(date)s closed: %(received)s received, %(refunded)s paid back")
        % {
            "date": business_date.isoformat(),
            "received": totals.received,
            "refunded": totals.refunded,
        },
    )
    return close
