"""The demo programme installs on top of the demo catalogue and patients, once."""

from __future__ import annotations

import pytest

from chairside.billing.demo import demo_catalogue_install
from chairside.core.tenancy import tenant_scope
from chairside.membership.demo import demo_membership_install
from chairside.membership.models import Member, MembershipSettings, PointsGift, Tier, TierBenefit
from chairside.membership.services.points import ledger_sum
from chairside.patients.services import patient_create
from tests.conftest import World


@pytest.mark.django_db
def test_demo_membership_installs_once(world: World) -> None:
    demo_catalogue_install(organization=world.org, actor=world.boss)
    with tenant_scope(world.org, world.clinic1):
        for name in ("甲", "乙", "丙", "丁", "戊"):
            patient_create(actor=world.boss, clinic=world.clinic1, name=name)

    assert demo_membership_install(organization=world.org, actor=world.boss) == 4
    assert demo_membership_install(organization=world.org, actor=world.boss) == 0

    with tenant_scope(world.org):
        assert list(Tier.objects.values_list("name", flat=True)) == ["银卡", "金卡", "钻石卡"]
        assert TierBenefit.objects.filter(tier__code="diamond").count() == 5
        assert PointsGift.objects.count() == 2
        assert MembershipSettings.objects.get().referral_points == 100
        members = list(Member.objects.select_related("tier").order_by("card_number"))
        assert [m.tier.code for m in members] == ["silver", "silver", "gold", "diamond"]
        assert all(ledger_sum(m) == m.points_balance > 0 for m in members)
