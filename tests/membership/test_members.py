"""Enrolment (card numbers, the fee on the patient's bill, M7 qualification), upgrades at
once on payment, downgrades and expiry only at the review, renewal, and the family tier."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import pytest

from chairside.billing.models import Bill, BillLine
from chairside.core.errors import Conflict, NotFound
from chairside.core.tenancy import tenant_scope
from chairside.membership.models import FamilyTierMode, Member, TierChange
from chairside.membership.services.members import (
    benefit_member,
    member_enrol,
    member_renew,
    membership_review,
)
from chairside.membership.services.tiers import membership_settings_update, tier_update
from chairside.membership.tasks import daily
from chairside.patients.services import family_link
from tests.billing.conftest import Shop
from tests.clock import SHANGHAI, Clock
from tests.conftest import World
from tests.membership.conftest import Club, checkout, fresh

D = Decimal
pytestmark = pytest.mark.usefixtures("in_org")


def test_enrolment_gives_a_card_and_puts_the_fee_on_todays_bill(
    world: World, shop: Shop, club: Club
) -> None:
    zhang = member_enrol(
        actor=world.frontdesk, clinic=world.clinic1, patient=shop.zhang, tier=club.silver
    )
    li = member_enrol(
        actor=world.frontdesk, clinic=world.clinic1, patient=shop.li, tier=club.silver
    )

    assert (zhang.card_number, li.card_number) == ("M00000001", "M00000002")
    assert (zhang.status, zhang.expires_on, zhang.review_on) == (
        Member.Status.ACTIVE,
        date(2027, 9, 14),
        date(2027, 9, 14),
    )
    bill = Bill.objects.get(pk=zhang.fee_bill_id)
    assert (bill.patient_id, bill.status, bill.total) == (shop.zhang.pk, "draft", D("100.00"))
    assert [line.name for line in BillLine.objects.filter(bill=bill)] == ["会员费"]
    assert [(c.reason, c.to_tier_id) for c in TierChange.objects.filter(member=zhang)] == [
        ("enrol", club.silver.pk)
    ]


def test_a_patient_is_enrolled_once(world: World, shop: Shop, club: Club) -> None:
    member_enrol(actor=world.frontdesk, clinic=world.clinic1, patient=shop.zhang, tier=club.silver)
    with pytest.raises(Conflict) as refused:
        member_enrol(
            actor=world.frontdesk, clinic=world.clinic1, patient=shop.zhang, tier=club.gold
        )
    assert refused.value.code == "already_member"
    assert Member.objects.count() == 1


def test_a_tier_that_requires_the_qualification_refuses_those_below_it(
    world: World, shop: Shop, club: Club
) -> None:
    gold = tier_update(
        actor=world.boss, clinic=world.clinic1, tier=club.gold, requires_qualification=True
    )
    with pytest.raises(Conflict) as refused:
        member_enrol(actor=world.frontdesk, clinic=world.clinic1, patient=shop.zhang, tier=gold)
    assert refused.value.code == "not_qualified"

    checkout(world, shop.zhang, [(shop.filling, 4)])  # ¥1200 paid
    member = member_enrol(
        actor=world.frontdesk, clinic=world.clinic1, patient=shop.zhang, tier=gold
    )
    assert (member.tier_id, member.qualifying_total) == (club.gold.pk, D("1200.00"))


def test_another_organizations_tier_or_patient_is_not_found(
    world: World, shop: Shop, club: Club
) -> None:
    with pytest.raises(NotFound):
        member_enrol(
            actor=world.frontdesk, clinic=world.clinic1, patient=shop.zhang, tier=club.tier_b
        )
    with pytest.raises(NotFound):
        member_enrol(
            actor=world.frontdesk, clinic=world.clinic1, patient=shop.patient_b, tier=club.silver
        )


def test_paying_past_a_higher_threshold_upgrades_at_once(
    world: World, shop: Shop, club: Club
) -> None:
    member = member_enrol(
        actor=world.frontdesk, clinic=world.clinic1, patient=shop.zhang, tier=club.silver
    )
    checkout(world, shop.zhang, [(shop.filling, 3)])  # ¥900: not yet
    assert fresh(member).tier_id == club.silver.pk
    assert fresh(member).qualifying_total == D("900.00")

    checkout(world, shop.zhang, [(shop.cleaning, 1)])  # ¥200 more: ¥1100 >= ¥1000

    member = fresh(member)
    assert (member.tier_id, member.qualifying_total) == (club.gold.pk, D("1100.00"))
    [upgrade] = TierChange.objects.filter(member=member, reason="upgrade")
    assert (upgrade.from_tier_id, upgrade.to_tier_id) == (club.silver.pk, club.gold.pk)


def test_insurance_payments_do_not_count_towards_a_tier(
    world: World, shop: Shop, club: Club
) -> None:
    member = member_enrol(
        actor=world.frontdesk, clinic=world.clinic1, patient=shop.zhang, tier=club.silver
    )
    checkout(world, shop.zhang, [(shop.xray, 1)], method="insurance")
    assert fresh(member).qualifying_total == D("0.00")


def test_a_member_is_moved_down_only_at_the_review(
    world: World, shop: Shop, club: Club, clock: Clock
) -> None:
    member = member_enrol(
        actor=world.frontdesk, clinic=world.clinic1, patient=shop.zhang, tier=club.gold
    )
    review_on = fresh(member).review_on
    assert review_on == date(2027, 9, 14)
    # Below gold's threshold all year, but nothing moves before the period ends.
    assert membership_review(organization=world.org, today=date(2027, 9, 13)).downgraded == 0
    assert fresh(member).tier_id == club.gold.pk

    result = membership_review(organization=world.org, today=review_on)

    member = fresh(member)
    assert (result.reviewed, result.downgraded) == (1, 1)
    assert (member.tier_id, member.review_on) == (club.silver.pk, date(2028, 9, 13))
    assert TierChange.objects.filter(member=member, reason="downgrade").count() == 1
    # Run again the same day: nothing more happens.
    assert membership_review(organization=world.org, today=review_on).downgraded == 0


def test_a_member_who_kept_the_threshold_stays_at_review(
    world: World, shop: Shop, club: Club, clock: Clock
) -> None:
    member = member_enrol(
        actor=world.frontdesk, clinic=world.clinic1, patient=shop.zhang, tier=club.silver
    )
    checkout(world, shop.zhang, [(shop.filling, 4)])  # ¥1200: gold
    clock.set(datetime(2027, 9, 10, 10, 0, tzinfo=SHANGHAI))
    checkout(world, shop.zhang, [(shop.filling, 4)])  # ¥1200 again inside the next period
    member = fresh(member)
    assert member.tier_id == club.gold.pk

    membership_review(organization=world.org, today=member.review_on)

    assert fresh(member).tier_id == club.gold.pk


def test_expired_memberships_are_marked_at_review_and_renewal_extends(
    world: World, shop: Shop, club: Club, clock: Clock
) -> None:
    member = member_enrol(
        actor=world.frontdesk, clinic=world.clinic1, patient=shop.zhang, tier=club.silver
    )
    assert membership_review(organization=world.org, today=date(2027, 9, 14)).expired == 0
    assert membership_review(organization=world.org, today=date(2027, 9, 15)).expired == 1
    assert fresh(member).status == Member.Status.EXPIRED
    assert benefit_member(patient=shop.zhang, today=date(2027, 9, 15)) is None

    clock.set(datetime(2027, 9, 20, 10, 0, tzinfo=SHANGHAI))
    renewed = member_renew(actor=world.frontdesk, clinic=world.clinic1, member=member)

    assert (renewed.status, renewed.expires_on) == (Member.Status.ACTIVE, date(2028, 9, 20))
    assert TierChange.objects.filter(member=member, reason="renew").count() == 1
    # The renewal fee is on the patient's bill of that day.
    assert BillLine.objects.filter(bill__patient=shop.zhang, item=club.fee).count() == 2


def test_the_daily_task_reviews_every_organization(
    world: World, shop: Shop, club: Club, clock: Clock
) -> None:
    member = member_enrol(
        actor=world.frontdesk, clinic=world.clinic1, patient=shop.zhang, tier=club.silver
    )
    clock.set(datetime(2027, 9, 16, 10, 0, tzinfo=SHANGHAI))
    with tenant_scope(world.org_b):
        assert daily() == 2
    assert fresh(member).status == Member.Status.EXPIRED


def test_a_family_shares_its_best_members_tier_when_the_organization_says_so(
    world: World, shop: Shop, club: Club
) -> None:
    family_link(
        actor=world.boss,
        clinic=world.clinic1,
        patient=shop.zhang,
        relative=shop.li,
        relation="spouse",
    )
    member_enrol(actor=world.frontdesk, clinic=world.clinic1, patient=shop.zhang, tier=club.gold)
    silver = member_enrol(
        actor=world.frontdesk, clinic=world.clinic1, patient=shop.wang, tier=club.silver
    )
    today = date(2026, 9, 14)
    shop.li.refresh_from_db()
    assert benefit_member(patient=shop.li, today=today) is None

    membership_settings_update(
        actor=world.boss, clinic=world.clinic1, family_tier_mode=FamilyTierMode.FAMILY_BEST
    )

    shared = benefit_member(patient=shop.li, today=today)
    assert shared is not None
    assert (shared.patient_id, shared.tier_id) == (shop.zhang.pk, club.gold.pk)
    # Wang is in no family: his own card only.
    mine = benefit_member(patient=shop.wang, today=today)
    assert mine is not None
    assert mine.pk == silver.pk
