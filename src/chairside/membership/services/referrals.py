"""Referral points (M4): a member who referred a patient earns the organization's referral
points once that patient has paid their first bill in full.

- Once per referred patient, ever: a ReferralReward row per referred patient (unique in the
  database), written after the referrer's member row is locked, so two payments finishing
  at the same moment (two bills, two front desks) reward once.
- Only the referee's *first* fully paid bill counts; if the referrer was not an active
  member then, a later bill does not make up for it.
- The referrer's own card counts (not a relative's): the points go to their ledger.
- A refund of that first bill does not take the referral points back. The reward is for
  bringing the patient in, and the patient did come and pay; the clinic's own points rules
  (M4: "refunds claw back points") speak of points *earned on what was paid*, which a refund
  takes back in proportion (services.points), while a referral is not earned on money. A
  clinic that wants them back takes them by hand (points adjust, with a reason).
"""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from chairside.billing.models import Bill
from chairside.core.audit import audit_record, snapshot
from chairside.core.clock import clinic_today
from chairside.core.models import AuditEntry, Staff
from chairside.membership.models import Member, PointsEntry, ReferralReward
from chairside.membership.services.common import add_months, membership_settings
from chairside.membership.services.members import lock_member
from chairside.membership.services.points import POINTS_VALID_MONTHS, append_points
from chairside.patients.models import Patient


def _is_first_paid_bill(bill: Bill) -> bool:
    """Whether `bill` is now paid in full and no other bill of its patient was before."""
    if bill.status != Bill.Status.CONFIRMED or bill.arrears > 0 or bill.paid_total <= 0:
        return False
    return not (
        Bill.objects.filter(
            patient_id=bill.patient_id,
            status=Bill.Status.CONFIRMED,
            arrears=0,
            paid_total__gt=0,
        )
        .exclude(pk=bill.pk)
        .exists()
    )


def referral_reward_for_bill(bill: Bill, *, actor: Staff | None) -> ReferralReward | None:
    """Reward the referrer of `bill`'s patient if this bill is the patient's first one paid
    in full (called by billing's listener, inside the payment's transaction)."""
    referee = Patient.objects.filter(pk=bill.patient_id).only("pk", "name", "referrer_id").first()
    if referee is None or referee.referrer_id is None:
        return None
    points = membership_settings(bill.organization_id).referral_points
    if points <= 0 or not _is_first_paid_bill(bill):
        return None
    found = Member.objects.filter(patient_id=referee.referrer_id).first()
    if found is None:
        return None
    # The lock queues concurrent payments of the referee's bills: whoever comes second
    # sees the first one's reward (committed by then) and stops.
    member = lock_member(found)
    if member.status != Member.Status.ACTIVE:
        return None
    if ReferralReward.objects.filter(referred_id=referee.pk).exists():
        return None
    today = clinic_today(bill.clinic)
    try:
        with transaction.atomic():
            entry = append_points(
                member,
                kind=PointsEntry.Kind.REFERRAL,
                points=points,
                actor=actor,
                reference=f"referral:{referee.pk}",
                bill=bill,
                expires_on=add_months(today, POINTS_VALID_MONTHS),
                note=_("Referred %(name)s") % {"name": referee.name},
            )
            reward = ReferralReward.objects.create(
                organization_id=bill.organization_id,
                member=member,
                referred=referee,
                bill=bill,
                entry=entry,
                points=points,
                created_at=timezone.now(),
            )
    except IntegrityError:
        # Another payment rewarded this referral first (the unique row refused ours).
        member.refresh_from_db(fields=["points_balance"])
        return None
    audit_record(
        action=AuditEntry.Action.CREATE,
        instance=entry,
        actor=actor,
        clinic=bill.clinic,
        after=snapshot(entry),
        summary=_("%(points)d referral points on card %(card)s: %(name)s paid a first bill")
        % {"points": points, "card": member.card_number, "name": referee.name},
    )
    return reward
