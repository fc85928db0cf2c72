"""Renewal reminders through messaging: one SMS per member and expiry date within 30 days,
skipped while messaging has no such event or no template, and shown in the report."""

from __future__ import annotations

from datetime import date

import pytest

from chairside.membership.models import Member
from chairside.membership.selectors.members import renewal_report
from chairside.membership.services.members import member_enrol
from chairside.membership.services.renewals import (
    RENEWAL_EVENT,
    renewal_reminders_send,
)
from chairside.messaging.models import (
    MessageTemplate,
    OutboxMessage,
)
from chairside.messaging.services import default_templates_install
from chairside.patients.services import patient_update
from tests.billing.conftest import Shop
from tests.conftest import World
from tests.membership.conftest import Club, fresh

pytestmark = pytest.mark.usefixtures("in_org")
DUE = date(2027, 8, 20)  # 25 days before the cards enrolled on 2026-09-14 expire


@pytest.fixture
def member(world: World, shop: Shop, club: Club) -> Member:
    patient_update(actor=world.boss, clinic=world.clinic1, patient=shop.zhang, phone="13900001111")
    return member_enrol(
        actor=world.frontdesk, clinic=world.clinic1, patient=shop.zhang, tier=club.gold
    )


def test_members_expiring_soon_get_one_reminder(world: World, member: Member) -> None:
    # No template yet: skipped, tried again later.
    assert renewal_reminders_send(organization=world.org, today=DUE).skipped == 1
    MessageTemplate.objects.create(
        code=RENEWAL_EVENT,
        channel="sms",
        language="zh-hans",
        sms_sign="微笑口腔",
        body="{patient_name}您好，您的{tier_name}（{card_number}）将于{expires_on}到期。",
    )
    assert renewal_reminders_send(organization=world.org, today=date(2027, 8, 1)).sent == 0

    run = renewal_reminders_send(organization=world.org, today=DUE)

    assert run.sent == 1
    [message] = OutboxMessage.objects.all()
    assert message.body == "张三您好，您的金卡（M00000001）将于2027-09-14到期。"
    assert fresh(member).reminded_for == date(2027, 9, 14)
    assert renewal_reminders_send(organization=world.org, today=DUE).sent == 0
    report = renewal_report(today=DUE)
    assert [m.pk for m in report.due] == [m.pk for m in report.reminded] == [member.pk]


def test_the_default_template_carries_the_reminder(world: World, member: Member) -> None:
    default_templates_install(organization=world.org)

    assert renewal_reminders_send(organization=world.org, today=DUE).sent == 1

    [message] = OutboxMessage.objects.all()
    assert "金卡（卡号M00000001）将于2027-09-14到期" in message.body
