"""Referral points (M4): the referrer, if an active member, earns the organization's
referral points once the patient they referred has paid a first bill in full — once per
referred patient, never for a later bill, not taken back by a refund of that bill."""

from __future__ import annotations

from decimal import Decimal

import pytest

from chairside.billing.services.payments import Tender, bill_pay
from chairside.billing.services.refunds import refund_request
from chairside.core.models import AuditEntry
from chairside.membership.models import Member, PointsEntry, ReferralReward
from chairside.membership.services.members import member_enrol
from chairside.membership.services.points import ledger_sum
from chairside.membership.services.tiers import membership_settings_update
from chairside.patients.models import Patient
from tests.billing.conftest import Shop, make_bill
from tests.conftest import World
from tests.membership.conftest import Club, checkout, fresh

pytestmark = pytest.mark.usefixtures("in_org")
D = Decimal


@pytest.fixture
def referrer(world: World, shop: Shop, club: Club) -> Member:
    """张三 (a silver member) referred 李四; the organization gives 100 points a referral."""
    Patient.objects.filter(pk=shop.li.pk).update(referrer=shop.zhang)
    membership_settings_update(actor=world.boss, clinic=world.clinic1, referral_points=100)
    member = member_enrol(
        actor=world.frontdesk, clinic=world.clinic1, patient=shop.zhang, tier=club.silver
    )
    return fresh(member)


def _referrals(member: Member) -> list[tuple[str, int, str]]:
    return [
        (e.kind, e.points, e.reference)
        for e in PointsEntry.objects.filter(member=member, kind="referral").order_by("id")
    ]


def test_the_referrer_earns_once_the_first_bill_is_paid_in_full(
    world: World, shop: Shop, referrer: Member
) -> None:
    bill = make_bill(world, shop.li, [(shop.filling, 1)])  # ¥300
    bill_pay(
        actor=world.frontdesk,
        clinic=world.clinic1,
        bill=bill,
        tenders=[Tender(method="cash", amount=D("100.00"))],
    )
    assert _referrals(referrer) == []  # part-paid: not yet

    bill_pay(
        actor=world.frontdesk,
        clinic=world.clinic1,
        bill=bill,
        tenders=[Tender(method="wechat", amount=D("200.00"))],
    )

    assert _referrals(referrer) == [("referral", 100, f"referral:{shop.li.pk}")]
    entry = PointsEntry.objects.get(member=referrer, kind="referral")
    assert (entry.bill_id, entry.note, entry.created_by) == (
        bill.pk,
        "Referred 李四",
        world.frontdesk,
    )
    assert entry.expires_on is not None
    reward = ReferralReward.objects.get()
    assert (reward.member_id, reward.referred_id, reward.bill_id, reward.points) == (
        referrer.pk,
        shop.li.pk,
        bill.pk,
        100,
    )
    assert fresh(referrer).points_balance == ledger_sum(referrer) == 100
    assert AuditEntry.objects.filter(
        entity_type="membership.pointsentry", entity_id=str(entry.pk)
    ).exists()


def test_a_later_bill_and_a_refund_change_nothing(
    world: World, shop: Shop, referrer: Member
) -> None:
    first = checkout(world, shop.li, [(shop.filling, 1)])
    checkout(world, shop.li, [(shop.cleaning, 1)])
    assert _referrals(referrer) == [("referral", 100, f"referral:{shop.li.pk}")]

    refund_request(
        actor=shop.manager,
        clinic=world.clinic1,
        bill=first,
        method="cash",
        amount=D("300.00"),
        reason="全额退费",
        can_approve=True,
    )

    # The referral stands: the patient came and paid (see services.referrals).
    assert fresh(referrer).points_balance == 100
    assert not PointsEntry.objects.filter(member=referrer, kind="clawback").exists()
    assert ReferralReward.objects.count() == 1


def test_only_the_first_paid_bill_counts(
    world: World, shop: Shop, club: Club, referrer: Member
) -> None:
    """The referrer's card was not active at the first bill: a later bill does not make up."""
    Member.objects.filter(pk=referrer.pk).update(status=Member.Status.EXPIRED)
    checkout(world, shop.li, [(shop.filling, 1)])
    Member.objects.filter(pk=referrer.pk).update(status=Member.Status.ACTIVE)

    checkout(world, shop.li, [(shop.cleaning, 1)])

    assert _referrals(referrer) == []
    assert ReferralReward.objects.count() == 0


def test_nothing_without_a_member_referrer_or_with_the_reward_off(
    world: World, shop: Shop, club: Club
) -> None:
    membership_settings_update(actor=world.boss, clinic=world.clinic1, referral_points=100)
    # 王五 was referred by 李四, who is not a member; 张三 has no referrer.
    Patient.objects.filter(pk=shop.wang.pk).update(referrer=shop.li)
    checkout(world, shop.wang, [(shop.cleaning, 1)])
    assert ReferralReward.objects.count() == 0

    # 李四 joins and refers 张三, but the reward is set to 0 (off) before 张三's first bill.
    member_enrol(actor=world.frontdesk, clinic=world.clinic1, patient=shop.li, tier=club.silver)
    membership_settings_update(actor=world.boss, clinic=world.clinic1, referral_points=0)
    Patient.objects.filter(pk=shop.zhang.pk).update(referrer=shop.li)
    checkout(world, shop.zhang, [(shop.filling, 1)])

    assert ReferralReward.objects.count() == 0
    assert not PointsEntry.objects.filter(kind="referral").exists()
