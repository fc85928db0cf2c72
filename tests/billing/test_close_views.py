"""The daily close page: a day's money per method and per staff member, the close itself
(after which the day takes no money), the list of past closes; for those allowed to close."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse

from chairside.billing.models import DailyClose, Payment, PaymentMethod
from chairside.billing.services.payments import Tender, bill_pay
from chairside.core.errors import Conflict
from chairside.core.models import Staff
from tests.billing.conftest import Shop
from tests.billing.test_cashier_views import Signer, confirmed, text
from tests.conftest import World

pytestmark = pytest.mark.usefixtures("in_clinic1")

MONDAY = date(2026, 9, 14)  # the stopped clock's day


@pytest.fixture
def as_staff() -> Signer:
    def sign_in(staff: Staff) -> Client:
        client = Client(HTTP_ACCEPT_LANGUAGE="en")
        client.force_login(staff)
        return client

    return sign_in


@pytest.fixture
def desk(world: World, as_staff: Signer) -> Client:
    return as_staff(world.frontdesk)


@pytest.fixture
def takings(world: World, shop: Shop, in_clinic1: object) -> None:
    """Monday: the front desk takes ¥200 cash + ¥100 WeChat, the manager ¥50 Alipay."""
    first = confirmed(world, shop)
    bill_pay(
        actor=world.frontdesk,
        clinic=world.clinic1,
        bill=first,
        tenders=[
            Tender(PaymentMethod.CASH, Decimal("200")),
            Tender(PaymentMethod.WECHAT, Decimal("100")),
        ],
    )
    second = confirmed(world, shop, shop.xray)
    bill_pay(
        actor=shop.manager,
        clinic=world.clinic1,
        bill=second,
        tenders=[Tender(PaymentMethod.ALIPAY, Decimal("50"))],
    )


def close_url(day: date | None = None) -> str:
    url = reverse("billing:close")
    return f"{url}?date={day.isoformat()}" if day else url


def test_an_empty_day_and_no_past_closes(desk: Client) -> None:
    response = desk.get(close_url())
    assert response.status_code == 200
    page = text(response)
    assert "2026-09-14" in page
    assert "No money was received or paid back on this day." in page
    assert "No day has been closed yet." in page
    assert "Close 2026-09-14" in page


@pytest.mark.usefixtures("takings")
def test_the_preview_totals_per_method_and_per_staff(desk: Client) -> None:
    page = text(desk.get(close_url()))
    assert "Open (preview)" in page
    method_part = page.split("By payment method")[1].split("By staff member")[0]
    assert "Cash ¥200.00" in method_part
    assert "WeChat Pay ¥100.00" in method_part
    assert "Alipay ¥50.00" in method_part
    assert "Total ¥350.00" in method_part
    staff_part = page.split("By staff member")[1]
    assert "Front Desk ¥300.00" in staff_part
    assert "Manager ¥50.00" in staff_part


@pytest.mark.usefixtures("takings")
def test_closing_the_day_freezes_it(world: World, shop: Shop, desk: Client) -> None:
    response = desk.post(reverse("billing:close"), {"date": MONDAY.isoformat(), "note": "现金已存"})
    assert response.status_code == 302
    assert response["Location"] == close_url(MONDAY)
    close = DailyClose.objects.get()
    assert (close.business_date, close.received_total, close.closed_by) == (
        MONDAY,
        Decimal("350.00"),
        world.frontdesk,
    )
    assert close.totals["by_method"]["cash"]["in"] == "200.00"
    assert not Payment.objects.filter(daily_close__isnull=True).exists()
    page = text(desk.get(close_url(MONDAY)))
    assert "Closed by Front Desk" in page
    assert "现金已存" in page
    assert "Close 2026-09-14" not in page
    assert "¥350.00" in page.split("Past closes")[1]
    # The day takes no more money.
    more = confirmed(world, shop, shop.cleaning)
    with pytest.raises(Conflict):
        bill_pay(
            actor=world.frontdesk,
            clinic=world.clinic1,
            bill=more,
            tenders=[Tender(PaymentMethod.CASH, Decimal("10"))],
        )


def test_a_day_closes_once(desk: Client) -> None:
    desk.post(reverse("billing:close"), {"date": MONDAY.isoformat()})
    again = desk.post(reverse("billing:close"), {"date": MONDAY.isoformat()})
    assert again.status_code == 409
    assert "already closed" in text(again)
    assert DailyClose.objects.count() == 1


def test_a_day_that_has_not_begun_cannot_be_closed(desk: Client) -> None:
    tomorrow = MONDAY + timedelta(days=1)
    assert "Close 2026-09-15" not in text(desk.get(close_url(tomorrow)))
    response = desk.post(reverse("billing:close"), {"date": tomorrow.isoformat()})
    assert response.status_code == 400
    assert not DailyClose.objects.exists()


def test_a_bad_date_shows_today(desk: Client) -> None:
    response = desk.get(reverse("billing:close"), {"date": "not-a-day"})
    assert response.status_code == 200
    assert "2026-09-14" in text(response)


@pytest.mark.usefixtures("takings")
def test_only_those_who_close_see_the_page(world: World, as_staff: Signer) -> None:
    doctor = as_staff(world.doctor)
    assert doctor.get(close_url()).status_code == 403
    assert doctor.post(reverse("billing:close"), {"date": MONDAY.isoformat()}).status_code == 403
    assert not DailyClose.objects.exists()


@pytest.mark.usefixtures("takings")
def test_another_organization_sees_nothing_of_ours(world: World, as_staff: Signer) -> None:
    boss_b = as_staff(world.boss_b)
    page = text(boss_b.get(close_url()))
    assert "No money was received or paid back on this day." in page
    boss_b.post(reverse("billing:close"), {"date": MONDAY.isoformat()})
    ours = DailyClose.all_tenants.filter(organization=world.org)
    assert not ours.exists()
    assert not Payment.all_tenants.filter(
        organization=world.org, daily_close__isnull=False
    ).exists()
