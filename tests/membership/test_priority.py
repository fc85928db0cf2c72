"""Priority booking windows: a clinic's weekly window kept for tiers with priority booking
at or above a rank, as scheduling sees it through CHAIRSIDE_PRIORITY_WINDOWS."""

from __future__ import annotations

from datetime import date, time

import pytest

from chairside.core.errors import ValidationFailed
from chairside.membership.priority import MemberPriorityWindows
from chairside.membership.services.members import member_enrol
from chairside.membership.services.tiers import member_window_create, tier_update
from chairside.scheduling.priority import closed_windows, priority_windows
from tests.billing.conftest import Shop
from tests.conftest import World
from tests.membership.conftest import Club

pytestmark = pytest.mark.usefixtures("in_org")
MONDAY = date(2026, 9, 14)


def test_the_setting_names_the_membership_windows() -> None:
    assert isinstance(priority_windows(), MemberPriorityWindows)


def test_a_window_is_open_only_to_tiers_with_priority_booking_and_the_rank(
    world: World, shop: Shop, club: Club
) -> None:
    tier_update(actor=world.boss, clinic=world.clinic1, tier=club.diamond, priority_booking=True)
    member_window_create(
        actor=world.boss,
        clinic=world.clinic1,
        window_clinic=world.clinic1,
        weekday=0,
        start=time(9),
        end=time(10),
        min_rank=3,
    )
    member_enrol(actor=world.frontdesk, clinic=world.clinic1, patient=shop.zhang, tier=club.diamond)
    member_enrol(actor=world.frontdesk, clinic=world.clinic1, patient=shop.li, tier=club.gold)

    def closed(patient: object, day: date = MONDAY) -> list[str]:
        return [
            f"{w.start:%H:%M}-{w.end:%H:%M}"
            for w in closed_windows(
                clinic=world.clinic1,
                doctor=world.doctor,
                day=day,
                patient=patient,  # type: ignore[arg-type]
            )
        ]

    assert closed(shop.zhang) == []
    assert closed(shop.li) == ["09:00-10:00"]  # gold ranks below
    assert closed(shop.wang) == ["09:00-10:00"]  # not a member
    assert closed(None) == ["09:00-10:00"]
    assert closed(shop.li, date(2026, 9, 15)) == []  # Tuesday: nothing held back
    assert closed_windows(clinic=world.clinic2, doctor=world.doctor, day=MONDAY, patient=None) == []
    [window] = priority_windows().held_back(clinic=world.clinic1, doctor=world.doctor, day=MONDAY)
    assert window.reason == "Kept for 钻石卡 members and above"


def test_a_window_must_end_after_it_starts(world: World, club: Club) -> None:
    with pytest.raises(ValidationFailed):
        member_window_create(
            actor=world.boss,
            clinic=world.clinic1,
            window_clinic=world.clinic1,
            weekday=0,
            start=time(10),
            end=time(9),
            min_rank=1,
        )
