"""Points under concurrency on PostgreSQL, with real threads: twenty redemptions at once
never take a balance below zero nor a gift's stock below zero; members enrolled at the
same moment get distinct card numbers; a referred patient's bills paid at the same moment
reward the referrer once."""

from __future__ import annotations

from typing import Any

import pytest

from chairside.billing.services.payments import Tender, bill_pay
from chairside.core.errors import Conflict
from chairside.core.tenancy import tenant_scope
from chairside.membership.models import Member, PointsEntry, PointsGift, ReferralReward
from chairside.membership.services.members import member_enrol
from chairside.membership.services.points import ledger_sum, points_adjust, points_redeem
from chairside.membership.services.tiers import membership_settings_update
from chairside.patients.models import Patient
from chairside.patients.services import patient_create
from tests.billing.conftest import Shop, make_bill
from tests.concurrency import run_concurrently
from tests.conftest import World
from tests.membership.conftest import Club

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

THREADS = 20


def test_twenty_concurrent_redemptions_never_take_the_balance_below_zero(
    world: World, shop: Shop, club: Club
) -> None:
    with tenant_scope(world.org, world.clinic1):
        member = member_enrol(
            actor=world.frontdesk, clinic=world.clinic1, patient=shop.zhang, tier=club.silver
        )
        # 530 points and a 50-point gift without a stock limit: points alone allow ten.
        gift = PointsGift.objects.create(name="牙线", points_cost=50)
        points_adjust(
            actor=world.boss, clinic=world.clinic1, member=member, points=530, reason="活动"
        )

    def redeem(_i: int) -> Any:
        with tenant_scope(world.org, world.clinic1):
            return points_redeem(
                actor=world.frontdesk, clinic=world.clinic1, member=member, gift=gift
            )

    results = run_concurrently(redeem, THREADS)

    done = [r for r in results if isinstance(r, PointsEntry)]
    refused = [r for r in results if isinstance(r, Conflict)]
    assert (len(done), len(refused)) == (10, 10), results
    assert {r.code for r in refused} == {"insufficient_points"}
    with tenant_scope(world.org):
        member.refresh_from_db()
        assert member.points_balance == 30
        assert ledger_sum(member) == 30
        balances = sorted(
            PointsEntry.objects.filter(member=member, kind="redeem").values_list(
                "balance_after", flat=True
            )
        )
        assert balances == [30 + 50 * i for i in range(10)]


def test_concurrent_redemptions_never_oversell_a_gift(world: World, shop: Shop, club: Club) -> None:
    with tenant_scope(world.org, world.clinic1):
        members = []
        for i in range(THREADS):
            patient = patient_create(actor=world.boss, clinic=world.clinic1, name=f"会员{i}")
            member = member_enrol(
                actor=world.frontdesk, clinic=world.clinic1, patient=patient, tier=club.silver
            )
            points_adjust(
                actor=world.boss, clinic=world.clinic1, member=member, points=100, reason="x"
            )
            members.append(member)

    def redeem(i: int) -> Any:
        with tenant_scope(world.org, world.clinic1):
            return points_redeem(
                actor=world.frontdesk, clinic=world.clinic1, member=members[i], gift=club.towel
            )

    results = run_concurrently(redeem, THREADS)

    assert sum(isinstance(r, PointsEntry) for r in results) == 3, results
    assert {r.code for r in results if isinstance(r, Conflict)} == {"out_of_stock"}
    with tenant_scope(world.org):
        assert PointsGift.objects.get(pk=club.towel.pk).stock == 0


def test_members_enrolled_at_once_get_distinct_card_numbers(
    world: World, shop: Shop, club: Club
) -> None:
    with tenant_scope(world.org, world.clinic1):
        patients = [
            patient_create(actor=world.boss, clinic=world.clinic1, name=f"新会员{i}")
            for i in range(THREADS)
        ]

    def enrol(i: int) -> Any:
        with tenant_scope(world.org, world.clinic1):
            return member_enrol(
                actor=world.frontdesk, clinic=world.clinic1, patient=patients[i], tier=club.gold
            )

    results = run_concurrently(enrol, THREADS)

    assert all(isinstance(r, Member) for r in results), results
    numbers = {r.card_number for r in results}
    assert numbers == {f"M{i:08d}" for i in range(1, THREADS + 1)}


def test_a_referees_bills_paid_at_once_reward_the_referrer_once(
    world: World, shop: Shop, club: Club
) -> None:
    """李四 (referred by 张三) pays two bills at two desks at the same moment: both are her
    "first" bill in their own transaction; the referrer's lock and the one reward row per
    referred patient give 张三 the 100 points exactly once."""
    bills = []
    with tenant_scope(world.org, world.clinic1):
        Patient.objects.filter(pk=shop.li.pk).update(referrer=shop.zhang)
        membership_settings_update(actor=world.boss, clinic=world.clinic1, referral_points=100)
        member = member_enrol(
            actor=world.frontdesk, clinic=world.clinic1, patient=shop.zhang, tier=club.silver
        )
        for _ in range(4):
            bills.append(make_bill(world, shop.li, [(shop.filling, 1)]))

    def pay(i: int) -> Any:
        with tenant_scope(world.org, world.clinic1):
            return bill_pay(
                actor=world.frontdesk,
                clinic=world.clinic1,
                bill=bills[i],
                tenders=[Tender(method="cash", amount=bills[i].arrears)],
            )

    results = run_concurrently(pay, len(bills))

    assert not [r for r in results if isinstance(r, Exception)], results
    with tenant_scope(world.org):
        assert ReferralReward.objects.count() == 1
        member.refresh_from_db()
        referrals = PointsEntry.objects.filter(member=member, kind="referral")
        assert list(referrals.values_list("points", flat=True)) == [100]
        assert member.points_balance == ledger_sum(member) == 100
