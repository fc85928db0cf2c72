"""Points: earned on money paid (per category rule; insurance does not earn), clawed back
in proportion on refunds, redeemed for gifts (stock and balance checked), adjusted by hand,
expired first-in first-out after a year; the ledger always sums to the balance."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chairside.billing.services.refunds import refund_request
from chairside.core.errors import Conflict, NotFound, ValidationFailed
from chairside.core.tenancy import tenant_scope
from chairside.membership.models import Member, PointsEntry, PointsGift
from chairside.membership.services.members import member_enrol
from chairside.membership.services.points import (
    ledger_sum,
    points_adjust,
    points_expire,
    points_redeem,
)
from tests.billing.conftest import Shop
from tests.clock import SHANGHAI, Clock
from tests.conftest import World
from tests.membership.conftest import Club, checkout, fresh

D = Decimal
pytestmark = pytest.mark.usefixtures("in_org")


@pytest.fixture
def member(world: World, shop: Shop, club: Club) -> Member:
    return member_enrol(
        actor=world.frontdesk, clinic=world.clinic1, patient=shop.zhang, tier=club.silver
    )


def _ledger(member: Member) -> list[tuple[str, int, int]]:
    return [
        (e.kind, e.points, e.balance_after)
        for e in PointsEntry.objects.filter(member=member).order_by("created_at", "id")
    ]


def _consistent(member: Member) -> int:
    balance = fresh(member).points_balance
    assert ledger_sum(member) == balance
    return balance


def test_points_are_earned_per_category_on_money_paid(
    world: World, shop: Shop, member: Member
) -> None:
    # Cleaning ¥200 at 1 per ¥10, filling ¥300 at 2 per ¥10: 20 + 60.
    bill = checkout(world, shop.zhang, [(shop.cleaning, 1), (shop.filling, 1)])

    [entry] = PointsEntry.objects.filter(member=member)
    assert (entry.kind, entry.points, entry.balance_after, entry.amount) == (
        "earn",
        80,
        80,
        D("500.00"),
    )
    assert (entry.bill_id, entry.expires_on) == (bill.pk, date(2027, 9, 14))
    assert entry.reference.startswith("payment:")
    assert _consistent(member) == 80


def test_insurance_payments_earn_nothing_and_non_members_earn_nothing(
    world: World, shop: Shop, member: Member
) -> None:
    checkout(world, shop.zhang, [(shop.xray, 1)], method="insurance")
    checkout(world, shop.li, [(shop.filling, 1)])
    assert PointsEntry.objects.count() == 0


def test_a_refund_claws_back_in_proportion(world: World, shop: Shop, member: Member) -> None:
    bill = checkout(world, shop.zhang, [(shop.filling, 2)])  # ¥600 -> 120 points
    refund_request(
        actor=shop.manager,
        clinic=world.clinic1,
        bill=bill,
        method="cash",
        amount=D("150.00"),
        reason="部分退费",
        can_approve=True,
    )
    assert _ledger(member) == [("earn", 120, 120), ("clawback", -30, 90)]
    clawback = PointsEntry.objects.get(member=member, kind="clawback")
    assert (clawback.amount, clawback.bill_id) == (D("-150.00"), bill.pk)
    assert _consistent(member) == 90


def test_a_claw_back_never_takes_the_balance_below_zero(
    world: World, shop: Shop, club: Club, member: Member
) -> None:
    bill = checkout(world, shop.zhang, [(shop.filling, 2)])  # 120 points
    points_redeem(actor=world.frontdesk, clinic=world.clinic1, member=member, gift=club.towel)
    points_redeem(actor=world.frontdesk, clinic=world.clinic1, member=member, gift=club.towel)

    refund_request(
        actor=shop.manager,
        clinic=world.clinic1,
        bill=bill,
        method="cash",
        amount=D("600.00"),
        reason="全额退费",
        can_approve=True,
    )

    assert _ledger(member) == [
        ("earn", 120, 120),
        ("redeem", -50, 70),
        ("redeem", -50, 20),
        ("clawback", -20, 0),
    ]
    clawback = PointsEntry.objects.get(member=member, kind="clawback")
    assert clawback.note == "100 points were already spent and could not be taken back."
    assert _consistent(member) == 0


def test_redeeming_a_gift_checks_points_and_stock(
    world: World, shop: Shop, club: Club, member: Member
) -> None:
    points_adjust(
        actor=world.boss, clinic=world.clinic1, member=member, points=260, reason="开业活动"
    )
    with pytest.raises(Conflict) as short:
        points_redeem(
            actor=world.frontdesk, clinic=world.clinic1, member=member, gift=club.brush, quantity=2
        )
    assert short.value.code == "insufficient_points"

    points_redeem(actor=world.frontdesk, clinic=world.clinic1, member=member, gift=club.brush)
    points_redeem(actor=world.frontdesk, clinic=world.clinic1, member=member, gift=club.towel)
    with pytest.raises(Conflict) as broke:
        points_redeem(actor=world.frontdesk, clinic=world.clinic1, member=member, gift=club.towel)
    assert broke.value.code == "insufficient_points"

    assert _ledger(member) == [("adjust", 260, 260), ("redeem", -200, 60), ("redeem", -50, 10)]
    assert PointsGift.objects.get(pk=club.towel.pk).stock == 2
    assert _consistent(member) == 10


def test_a_gift_out_of_stock_is_refused(
    world: World, shop: Shop, club: Club, member: Member
) -> None:
    points_adjust(actor=world.boss, clinic=world.clinic1, member=member, points=500, reason="x")
    with pytest.raises(Conflict) as refused:
        points_redeem(
            actor=world.frontdesk, clinic=world.clinic1, member=member, gift=club.towel, quantity=4
        )
    assert refused.value.code == "out_of_stock"
    assert fresh(member).points_balance == 500


def test_adjustments_need_a_reason_and_cannot_go_below_zero(
    world: World, shop: Shop, member: Member
) -> None:
    with pytest.raises(ValidationFailed):
        points_adjust(actor=world.boss, clinic=world.clinic1, member=member, points=10, reason=" ")
    with pytest.raises(Conflict):
        points_adjust(actor=world.boss, clinic=world.clinic1, member=member, points=-1, reason="x")
    with pytest.raises(ValidationFailed):
        points_adjust(
            actor=world.boss,
            clinic=world.clinic1,
            member=member,
            points=-5,
            reason="x",
            kind="referral",
        )


def test_the_database_refuses_a_negative_balance(world: World, member: Member) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        Member.objects.filter(pk=member.pk).update(points_balance=-1)


def test_points_expire_after_a_year_first_in_first_out(
    world: World, shop: Shop, club: Club, member: Member, clock: Clock
) -> None:
    checkout(world, shop.zhang, [(shop.filling, 1)])  # 60 points, expire 2027-09-14
    clock.set(datetime(2027, 3, 1, 10, 0, tzinfo=SHANGHAI))
    checkout(world, shop.zhang, [(shop.filling, 1)])  # 60 points, expire 2027-03-01 + 1y
    points_redeem(actor=world.frontdesk, clinic=world.clinic1, member=member, gift=club.towel)
    # 50 spent, taken from the oldest 60: 10 of them are left to expire.

    assert points_expire(organization=world.org, today=date(2027, 9, 13)).points == 0
    result = points_expire(organization=world.org, today=date(2027, 9, 14))
    assert (result.members, result.points) == (1, 10)
    assert points_expire(organization=world.org, today=date(2027, 9, 14)).points == 0
    assert _consistent(member) == 60

    assert points_expire(organization=world.org, today=date(2028, 3, 1)).points == 60
    assert _consistent(member) == 0
    assert [k for k, _p, _b in _ledger(member)] == ["earn", "earn", "redeem", "expire", "expire"]


def test_another_organizations_gift_is_not_found(
    world: World, shop: Shop, club: Club, member: Member
) -> None:
    with tenant_scope(world.org_b):
        gift_b = PointsGift.objects.create(name="B", points_cost=1)
    with pytest.raises(NotFound):
        points_redeem(actor=world.frontdesk, clinic=world.clinic1, member=member, gift=gift_b)


# Each example runs in a transaction rolled back at its end, so the fixtures stay as made.
@settings(max_examples=25, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    moves=st.lists(
        st.tuples(st.sampled_from(["adjust", "redeem", "expire"]), st.integers(1, 300)),
        max_size=12,
    )
)
def test_the_ledger_always_sums_to_the_balance(
    world: World, club: Club, member: Member, moves: list[tuple[str, int]]
) -> None:
    with transaction.atomic():
        for kind, n in moves:
            try:
                if kind == "adjust":
                    points_adjust(
                        actor=world.boss, clinic=world.clinic1, member=member, points=n, reason="h"
                    )
                elif kind == "redeem":
                    points_redeem(
                        actor=world.boss, clinic=world.clinic1, member=member, gift=club.brush
                    )
                else:
                    points_expire(organization=world.org, today=date(2028, 1, n % 28 + 1))
            except Conflict:
                pass
            balance = fresh(member).points_balance
            assert balance >= 0
            assert ledger_sum(member) == balance
        transaction.set_rollback(True)
