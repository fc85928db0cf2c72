"""Members (M1, M2, M5): enrolment with the fee charged on the patient's bill, renewal, the
qualifying total, upgrades at once and downgrades at review, and the tier a patient's bill
gets (their own, or their family's best).

A member is active from enrolment: the fee is a line on the patient's bill of the day, and
an unpaid fee shows as that bill's arrears like any other charge (billing follows it up).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from chairside.billing.models import Payment, PaymentMethod
from chairside.billing.services.bills import bill_line_add, bill_open_for_visit
from chairside.core.audit import audit_record, snapshot
from chairside.core.clock import clinic_today
from chairside.core.errors import Conflict
from chairside.core.models import AuditEntry, Clinic, Organization, Staff
from chairside.membership.errors import MembershipErrorCode
from chairside.membership.models import (
    FamilyTierMode,
    Member,
    MemberNumberSequence,
    MembershipSettings,
    PointsEntry,
    Qualification,
    Tier,
    TierChange,
)
from chairside.membership.services.common import add_months, same_org
from chairside.patients.models import Patient

ZERO = Decimal("0.00")
# Points that count towards a points tier: what was earned, less what refunds took back.
# Redeeming or letting points expire does not lower a tier.
QUALIFYING_POINT_KINDS = (
    PointsEntry.Kind.EARN,
    PointsEntry.Kind.REFERRAL,
    PointsEntry.Kind.CLAWBACK,
)


def _since(today: date, days: int) -> date:
    return today - timedelta(days=days - 1)


def qualifying_total(*, patient: Patient, tier: Tier, today: date) -> Decimal:
    """The patient's total by `tier`'s qualification over its period ending `today`.

    Spend: money paid on bills less refunds, by every method but medical insurance (the
    patient did not pay that); stored-value spends count, top-ups do not (they are not
    spending yet). Points: points earned (and referral points) less claw-backs.
    """
    since = _since(today, tier.period_days)
    if tier.qualification == Qualification.POINTS:
        member = Member.objects.filter(patient=patient).first()
        if member is None:
            return ZERO
        total = PointsEntry.objects.filter(
            member=member, kind__in=QUALIFYING_POINT_KINDS, created_at__date__gte=since
        ).aggregate(total=Sum("points"))["total"]
        return Decimal(total or 0).quantize(Decimal("0.01"))
    total = (
        Payment.objects.filter(
            patient=patient,
            kind__in=(Payment.Kind.BILL_PAYMENT, Payment.Kind.BILL_REFUND),
            business_date__gte=since,
            business_date__lte=today,
        )
        .exclude(method=PaymentMethod.INSURANCE)
        .aggregate(total=Sum("amount"))["total"]
    )
    return Decimal(total or ZERO).quantize(Decimal("0.01"))


def _next_card_number(organization_id: int) -> str:
    sequences = MemberNumberSequence.objects.select_for_update()
    sequence = sequences.filter(organization_id=organization_id).first()
    if sequence is None:
        try:
            with transaction.atomic():
                sequence = MemberNumberSequence.objects.create(organization_id=organization_id)
        except IntegrityError:
            sequence = sequences.get(organization_id=organization_id)
    value = sequence.next_value
    sequence.next_value = value + 1
    sequence.save(update_fields=["next_value"])
    return f"M{value:08d}"


def _change(
    member: Member,
    from_tier: Tier | None,
    reason: str,
    actor: Staff | None,
) -> TierChange:
    return TierChange.objects.create(
        organization_id=member.organization_id,
        member=member,
        from_tier=from_tier,
        to_tier=member.tier,
        reason=reason,
        qualifying_total=member.qualifying_total,
        created_by=actor,
        created_at=timezone.now(),
    )


def _charge_fee(actor: Staff, clinic: Clinic, patient: Patient, tier: Tier) -> int | None:
    """Put the tier's fee on the patient's bill of the day; the bill's id, or None."""
    if tier.fee_item is None:
        return None
    bill = bill_open_for_visit(actor=actor, clinic=clinic, patient=patient)
    bill_line_add(actor=actor, clinic=clinic, bill=bill, item=tier.fee_item)
    return bill.pk


@transaction.atomic
def member_enrol(*, actor: Staff, clinic: Clinic, patient: Patient, tier: Tier) -> Member:
    """Make `patient` a member of `tier`: a new card number, the fee on today's bill.

    The member is active at once; the fee is collected with the bill. A tier that requires
    the qualification (M7) refuses patients whose qualifying total is below its threshold.
    """
    same_org(clinic, patient, tier)
    # One enrolment at a time per patient.
    Patient.objects.select_for_update().filter(pk=patient.pk).first()
    if not tier.is_active:
        raise Conflict(
            _("The tier %(tier)s is no longer offered.") % {"tier": tier.name},
            code=MembershipErrorCode.TIER_INACTIVE,
            field="tier_id",
        )
    if Member.objects.filter(patient=patient).exists():
        raise Conflict(
            _("%(patient)s is already a member; renew the membership instead.")
            % {"patient": patient.name},
            code=MembershipErrorCode.ALREADY_MEMBER,
        )
    today = clinic_today(clinic)
    total = qualifying_total(patient=patient, tier=tier, today=today)
    if tier.requires_qualification and total < tier.threshold:
        raise Conflict(
            _("%(patient)s has %(total)s of the %(threshold)s that %(tier)s needs.")
            % {
                "patient": patient.name,
                "total": total,
                "threshold": tier.threshold,
                "tier": tier.name,
            },
            code=MembershipErrorCode.NOT_QUALIFIED,
            field="tier_id",
        )
    member = Member.objects.create(
        organization_id=clinic.organization_id,
        patient=patient,
        card_number=_next_card_number(clinic.organization_id),
        tier=tier,
        enrolled_at=timezone.now(),
        enrolled_clinic=clinic,
        expires_on=add_months(today, tier.validity_months),
        review_on=today + timedelta(days=tier.period_days),
        qualifying_total=total,
        created_at=timezone.now(),
    )
    fee_bill = _charge_fee(actor, clinic, patient, tier)
    if fee_bill is not None:
        member.fee_bill_id = fee_bill
        member.save(update_fields=["fee_bill"])
    _change(member, None, TierChange.Reason.ENROL, actor)
    audit_record(
        action=AuditEntry.Action.CREATE,
        instance=member,
        actor=actor,
        clinic=clinic,
        after=snapshot(member),
        summary=_("%(patient)s enrolled as %(tier)s member %(card)s")
        % {"patient": patient.name, "tier": tier.name, "card": member.card_number},
    )
    return member


def lock_member(member: Member) -> Member:
    return Member.objects.select_for_update().select_related("tier").get(pk=member.pk)


@transaction.atomic
def member_renew(
    *, actor: Staff, clinic: Clinic, member: Member, tier: Tier | None = None
) -> Member:
    """Extend the membership by the tier's validity (from its expiry, or from today when it
    has lapsed), charging the tier's fee again; a cancelled card cannot be renewed."""
    same_org(clinic, member, tier)
    current = Member.objects.select_related("tier", "patient").get(pk=member.pk)
    tier = tier or current.tier
    if not tier.is_active:
        raise Conflict(
            _("The tier %(tier)s is no longer offered.") % {"tier": tier.name},
            code=MembershipErrorCode.TIER_INACTIVE,
            field="tier_id",
        )
    # The fee first: bill rows are always locked before member rows (as when a bill is
    # confirmed or paid), so a renewal and a checkout of the same patient cannot deadlock.
    _charge_fee(actor, clinic, current.patient, tier)
    member = lock_member(member)
    if member.status == Member.Status.CANCELLED:
        raise Conflict(
            _("A cancelled membership cannot be renewed."),
            code=MembershipErrorCode.MEMBER_NOT_ACTIVE,
        )
    before = snapshot(member)
    today = clinic_today(clinic)
    start = max(today, member.expires_on)
    previous = member.tier
    member.tier = tier
    member.status = Member.Status.ACTIVE
    member.expires_on = add_months(start, tier.validity_months)
    member.save(update_fields=["tier", "status", "expires_on"])
    _change(member, previous, TierChange.Reason.RENEW, actor)
    audit_record(
        action=AuditEntry.Action.UPDATE,
        instance=member,
        actor=actor,
        clinic=clinic,
        before=before,
        after=snapshot(member),
        summary=_("Membership %(card)s renewed until %(day)s")
        % {"card": member.card_number, "day": member.expires_on},
    )
    return member


def member_tier_refresh(*, member: Member, today: date, actor: Staff | None = None) -> Member:
    """Upgrade at once: move a locked, active member to the highest tier their qualifying
    total reaches, if above their own. Never downgrades (that waits for the review)."""
    if member.status != Member.Status.ACTIVE:
        return member
    current = member.tier
    member.qualifying_total = qualifying_total(patient=member.patient, tier=current, today=today)
    best = current
    for tier in Tier.objects.filter(is_active=True, rank__gt=current.rank).order_by("-rank"):
        total = qualifying_total(patient=member.patient, tier=tier, today=today)
        if total >= tier.threshold:
            best = tier
            member.qualifying_total = total
            break
    fields = ["qualifying_total"]
    if best.pk != current.pk:
        member.tier = best
        member.review_on = today + timedelta(days=best.period_days)
        fields += ["tier", "review_on"]
    member.save(update_fields=fields)
    if best.pk != current.pk:
        _change(member, current, TierChange.Reason.UPGRADE, actor)
        audit_record(
            action=AuditEntry.Action.UPDATE,
            instance=member,
            actor=actor,
            clinic=None,
            after=snapshot(member),
            summary=_("Member %(card)s upgraded from %(old)s to %(new)s")
            % {"card": member.card_number, "old": current.name, "new": best.name},
        )
    return member


@dataclass
class ReviewResult:
    expired: int = 0
    downgraded: int = 0
    reviewed: int = 0


@transaction.atomic
def membership_review(*, organization: Organization, today: date) -> ReviewResult:
    """The periodic review (run daily; idempotent): memberships past their expiry become
    expired; members whose period ended below their tier's threshold go down one rank and
    start a new period. Run inside the organization's tenant scope."""
    result = ReviewResult()
    due = Member.objects.filter(organization=organization, status=Member.Status.ACTIVE).filter(
        expires_on__lt=today
    ) | Member.objects.filter(
        organization=organization, status=Member.Status.ACTIVE, review_on__lte=today
    )
    for member_id in due.values_list("pk", flat=True).order_by("pk"):
        member = (
            Member.objects.select_for_update().select_related("tier", "patient").get(pk=member_id)
        )
        if member.status != Member.Status.ACTIVE:
            continue
        before = snapshot(member)
        if member.expires_on < today:
            member.status = Member.Status.EXPIRED
            member.save(update_fields=["status"])
            _change(member, member.tier, TierChange.Reason.EXPIRE, None)
            result.expired += 1
            summary = _("Membership %(card)s expired") % {"card": member.card_number}
        elif member.review_on <= today:
            result.reviewed += 1
            tier = member.tier
            total = qualifying_total(patient=member.patient, tier=tier, today=today)
            member.qualifying_total = total
            lower = None
            if total < tier.threshold:
                lower = (
                    Tier.objects.filter(is_active=True, rank__lt=tier.rank)
                    .order_by("-rank")
                    .first()
                )
            if lower is not None:
                member.tier = lower
                member.qualifying_total = qualifying_total(
                    patient=member.patient, tier=lower, today=today
                )
                result.downgraded += 1
            member.review_on = today + timedelta(days=member.tier.period_days)
            member.save(update_fields=["tier", "qualifying_total", "review_on"])
            if lower is None:
                continue
            _change(member, tier, TierChange.Reason.DOWNGRADE, None)
            summary = _("Member %(card)s moved down from %(old)s to %(new)s at review") % {
                "card": member.card_number,
                "old": tier.name,
                "new": lower.name,
            }
        else:
            continue
        audit_record(
            action=AuditEntry.Action.UPDATE,
            instance=member,
            actor=None,
            clinic=None,
            before=before,
            after=snapshot(member),
            summary=summary,
        )
    return result


def benefit_member(*, patient: Patient, today: date) -> Member | None:
    """The membership whose tier `patient`'s bills get: their own active card, or (when
    the organization shares family tiers) the best active card in their family."""
    active = Member.objects.filter(status=Member.Status.ACTIVE, expires_on__gte=today)
    own = active.filter(patient=patient).select_related("tier").first()
    if patient.family_id is None:
        return own
    # Read only: a bill's discounts are computed often, settings are written elsewhere.
    mode = (
        MembershipSettings.objects.filter(organization_id=patient.organization_id)
        .values_list("family_tier_mode", flat=True)
        .first()
    )
    if mode != FamilyTierMode.FAMILY_BEST:
        return own
    best = (
        active.filter(patient__family_id=patient.family_id, tier__is_active=True)
        .select_related("tier")
        .order_by("-tier__rank", "pk")
        .first()
    )
    if own is not None and (best is None or own.tier.rank >= best.tier.rank):
        return own
    return best
