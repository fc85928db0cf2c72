"""The demo membership programme: 银卡 / 金卡 / 钻石卡 with their benefits, a points rule,
100 points per referral, two gifts and a few members (run it after the demo catalogue
and patients exist)."""

from __future__ import annotations

from decimal import Decimal

from django.db import transaction

from chairside.billing.models import CatalogueItem, Category, Unit
from chairside.billing.services.catalogue import catalogue_item_create
from chairside.core.models import Clinic, Organization, Staff
from chairside.core.tenancy import tenant_scope
from chairside.membership.models import Member, PointsGift, PointsRule, Tier
from chairside.membership.services.members import member_enrol
from chairside.membership.services.points import points_adjust
from chairside.membership.services.tiers import (
    gift_create,
    membership_settings_update,
    points_rule_create,
    tier_benefits_set,
    tier_create,
)
from chairside.patients.models import Patient

D = Decimal
# code, name, rank, threshold (yuan over 365 days), fee (yuan, or None), extra fields, rates
TIERS: list[tuple[str, str, int, str, str | None, dict[str, object], dict[str, str]]] = [
    ("silver", "银卡", 1, "0", None, {}, {"basic": "0.95"}),
    (
        "gold",
        "金卡",
        2,
        "5000",
        "199",
        {
            "member_day": 18,
            "member_day_rate": D("0.95"),
            "free_cleanings_per_year": 1,
            "free_cleaning_codes": ["scaling"],
        },
        {"basic": "0.90", "restorative": "0.95", "prevention": "0.90"},
    ),
    (
        "diamond",
        "钻石卡",
        3,
        "20000",
        "999",
        {
            "member_day": 18,
            "member_day_rate": D("0.95"),
            "free_cleanings_per_year": 2,
            "free_cleaning_codes": ["scaling"],
            "priority_booking": True,
            "expert_consultation": True,
        },
        {
            "basic": "0.85",
            "restorative": "0.90",
            "prevention": "0.85",
            "orthodontics": "0.95",
            "implant": "0.95",
        },
    ),
]
GIFTS = [("定制牙刷套装", 300, 200), ("电动牙刷", 2000, 20)]
# Which demo patients (in record-number order) join which tier, with opening points.
MEMBERS = [("silver", 120), ("silver", 40), ("gold", 860), ("diamond", 3200)]
REFERRAL_POINTS = 100


def _clinic() -> Clinic:
    return Clinic.objects.filter(kind=Clinic.Kind.CLINIC, is_active=True).order_by("id").first()


def _fee_item(actor: Staff, clinic: Clinic, code: str, name: str, fee: str) -> CatalogueItem:
    found = CatalogueItem.objects.filter(code=f"member-fee-{code}").first()
    if found is not None:
        return found
    return catalogue_item_create(
        actor=actor,
        clinic=clinic,
        code=f"member-fee-{code}",
        name=f"{name}会员费",
        category=Category.REGISTRATION,
        unit=Unit.PER_ITEM,
        price=D(fee),
        member_discount_allowed=False,
    )


def demo_membership_install(*, organization: Organization, actor: Staff) -> int:
    """Install the demo programme into `organization` (kept as it is when tiers exist);
    `actor` needs the membership and catalogue permissions. Returns how many members were
    enrolled."""
    with tenant_scope(organization), transaction.atomic():
        clinic = _clinic()
        if clinic is None or Tier.objects.exists():
            return 0
        tiers = {}
        for code, name, rank, threshold, fee, extra, rates in TIERS:
            fee_item = _fee_item(actor, clinic, code, name, fee) if fee else None
            tier = tier_create(
                actor=actor,
                clinic=clinic,
                code=code,
                name=name,
                rank=rank,
                threshold=D(threshold),
                fee_item=fee_item,
                **extra,
            )
            tier_benefits_set(
                actor=actor,
                clinic=clinic,
                tier=tier,
                rates={category: D(rate) for category, rate in rates.items()},
            )
            tiers[code] = tier
        if not PointsRule.objects.exists():
            points_rule_create(
                actor=actor, clinic=clinic, name="消费积分 每10元1分", points_per_yuan=D("0.1")
            )
        if not PointsGift.objects.exists():
            for name, cost, stock in GIFTS:
                gift_create(actor=actor, clinic=clinic, name=name, points_cost=cost, stock=stock)
        membership_settings_update(actor=actor, clinic=clinic, referral_points=REFERRAL_POINTS)
        patients = Patient.objects.filter(is_archived=False).order_by("record_no")[: len(MEMBERS)]
        enrolled = 0
        for patient, (code, points) in zip(patients, MEMBERS, strict=False):
            if Member.objects.filter(patient=patient).exists():
                continue
            member = member_enrol(actor=actor, clinic=clinic, patient=patient, tier=tiers[code])
            points_adjust(
                actor=actor,
                clinic=clinic,
                member=member,
                points=points,
                reason="演示数据：开卡赠送",
            )
            enrolled += 1
        return enrolled
