"""The flash-sale proof on PostgreSQL with real threads: never oversold, never beyond the
per-person limit, no unit lost when a worker dies mid-claim, a coupon issued once however
often the payment callback comes.

PostgreSQL allows 100 connections, so 500 claims come from 50 threads (each on its own
connection) in 10 rounds; in every round the two tries of each of 25 patients run in two
different threads at the same time.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.core.cache import cache
from django.db import OperationalError, connection

from chairside.core.errors import Conflict
from chairside.core.tenancy import tenant_scope
from chairside.patients.models import Patient
from chairside.patients.services import patient_create
from chairside.promotions import tasks
from chairside.promotions.models import Coupon, FlashSale, FlashSaleClaim
from chairside.promotions.services import flash_sales as fs
from tests.clock import Clock
from tests.concurrency import run_concurrently
from tests.conftest import World
from tests.promotions import test_flash_sales as base
from tests.promotions.test_flash_sales import NOW, Flash, SaleOf, live_claims

# The flash-sale fixtures, shared with test_flash_sales.
_english = base._english
_fresh_cache = base._fresh_cache
clock = base.clock
flash = base.flash
sale_of = base.sale_of

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

PAIRS = 25  # threads come in pairs trying the same patient at once
ROUNDS = 10
PATIENTS = PAIRS * ROUNDS  # 250
STOCK = 50
REDIS_URL = os.environ.get("CHAIRSIDE_TEST_REDIS_URL", "redis://127.0.0.1:6379/13")


def _redis_up() -> bool:
    try:
        import redis

        return bool(redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping())
    except Exception:  # noqa: BLE001 - no Redis here: that case is skipped
        return False


CACHES = {
    # The default: a hint per process (these threads share one).
    "local-memory": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
    # No hint at all: every claim reaches the database, which alone must hold the line.
    "no-cache": {"BACKEND": "django.core.cache.backends.dummy.DummyCache"},
    # Production: the hint shared by every worker.
    "redis": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": "chairside-tests-flash",
    },
}


@pytest.fixture(params=list(CACHES))
def cache_backend(request: pytest.FixtureRequest, settings: Any) -> Iterator[str]:
    if request.param == "redis" and not _redis_up():
        pytest.skip("no Redis at " + REDIS_URL)
    settings.CACHES = {"default": CACHES[request.param]}
    cache.clear()
    yield request.param
    cache.clear()


def _patients(world: World, count: int) -> list[Patient]:
    with tenant_scope(world.org, world.clinic1):
        return [
            patient_create(actor=None, clinic=world.clinic1, name=f"秒杀{n:03d}")
            for n in range(count)
        ]


def test_500_claims_by_250_patients_for_a_stock_of_50(
    world: World, sale_of: SaleOf, clock: Clock, cache_backend: str
) -> None:
    sale = sale_of(stock=STOCK, per_person_limit=1)
    patients = _patients(world, PATIENTS)

    def claimant(thread: int) -> list[object]:
        outcomes: list[object] = []
        with tenant_scope(world.org, world.clinic1):
            for round_ in range(ROUNDS):
                patient = patients[round_ * PAIRS + thread % PAIRS]
                try:
                    outcomes.append(fs.flash_sale_claim(sale=sale, patient=patient).pk)
                except Conflict as refused:
                    outcomes.append(refused.code)
        return outcomes

    results = run_concurrently(claimant, 2 * PAIRS)

    errors = [r for r in results if not isinstance(r, list)]
    assert errors == []
    outcomes = [o for r in results for o in r]
    assert len(outcomes) == 2 * PATIENTS == 500
    granted = [o for o in outcomes if isinstance(o, int)]
    refused = Counter(o for o in outcomes if not isinstance(o, int))
    assert len(granted) == STOCK
    assert set(refused) <= {fs.FlashSaleError.SOLD_OUT, fs.FlashSaleError.LIMIT_REACHED}
    with tenant_scope(world.org):
        claims = FlashSaleClaim.objects.filter(sale=sale)
        assert sorted(claims.values_list("pk", flat=True)) == sorted(granted)
        per_patient = Counter(claims.values_list("patient_id", flat=True))
        assert max(per_patient.values()) == 1
        assert FlashSale.objects.get(pk=sale.pk).sold == STOCK == live_claims(sale)


def _kill_my_connection(claim: FlashSaleClaim) -> None:
    """What a worker dying mid-claim looks like to PostgreSQL: the session ends inside the
    open transaction, after the unit was taken and the claim written."""
    if claim.patient.name.startswith("崩溃"):
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(pg_backend_pid())")


def test_a_worker_dying_mid_claim_loses_no_stock(
    world: World, sale_of: SaleOf, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    sale = sale_of(stock=10)
    with tenant_scope(world.org, world.clinic1):
        crashing = [
            patient_create(actor=None, clinic=world.clinic1, name=f"崩溃{n}") for n in range(10)
        ]
        steady = [
            patient_create(actor=None, clinic=world.clinic1, name=f"稳定{n}") for n in range(10)
        ]
    monkeypatch.setattr(fs, "after_reserve_hook", _kill_my_connection)
    everyone = [p for pair in zip(crashing, steady, strict=True) for p in pair]

    def claim(i: int) -> object:
        with tenant_scope(world.org, world.clinic1):
            return fs.flash_sale_claim(sale=sale, patient=everyone[i]).pk

    results = run_concurrently(claim, len(everyone))

    # A dying claim ends in the driver's error; one that came after the last unit was
    # taken is refused as sold out before it reaches the hook.
    crashed = [r for r in results[0::2] if isinstance(r, OperationalError)]
    late = [r for r in results[0::2] if isinstance(r, Conflict)]
    assert len(crashed) + len(late) == 10, results[0::2]
    assert crashed
    assert all(r.code == fs.FlashSaleError.SOLD_OUT for r in late)
    # Every steady patient got a unit: the crashed claims held none after they died.
    assert all(isinstance(r, int) for r in results[1::2]), results[1::2]
    with tenant_scope(world.org):
        assert not FlashSaleClaim.objects.filter(patient__in=crashing).exists()
        assert FlashSale.objects.get(pk=sale.pk).sold == 10 == live_claims(sale)
        assert fs.flash_sale_counters_reconcile() == 0


def test_expired_reservations_return_their_stock_through_the_task(
    world: World, sale_of: SaleOf, clock: Clock
) -> None:
    sale = sale_of(stock=20, payment_minutes=15)
    patients = _patients(world, 20)

    def claim(i: int) -> object:
        with tenant_scope(world.org, world.clinic1):
            return fs.flash_sale_claim(sale=sale, patient=patients[i]).pk

    assert all(isinstance(r, int) for r in run_concurrently(claim, 20))
    clock.set(NOW + timedelta(minutes=16))

    # Two beat runs at once (a slow worker and the next tick) expire each claim once.
    expired = run_concurrently(lambda _i: tasks.expire_flash_sale_claims(), 2)

    assert all(isinstance(n, int) for n in expired), expired
    assert sum(expired) == 20
    with tenant_scope(world.org):
        assert FlashSale.objects.get(pk=sale.pk).sold == 0 == live_claims(sale)
        assert FlashSaleClaim.objects.filter(sale=sale, status="expired").count() == 20


def test_a_callback_delivered_many_times_at_once_issues_one_coupon(
    world: World, flash: Flash, sale_of: SaleOf, clock: Clock
) -> None:
    sale = sale_of(stock=1)
    with tenant_scope(world.org, world.clinic1):
        claim = fs.flash_sale_claim(sale=sale, patient=flash.zhang)
        intent = fs.flash_sale_claim_pay(claim=claim)
    assert intent.simulated_callback is not None
    callback = intent.simulated_callback

    results = run_concurrently(lambda _i: fs.flash_sale_payment_callback(payload=callback), 8)

    assert all(isinstance(r, FlashSaleClaim) for r in results), results
    with tenant_scope(world.org):
        claim.refresh_from_db()
        assert claim.status == "issued"
        assert Coupon.objects.filter(holder=flash.zhang).count() == 1
        assert claim.coupon_id == Coupon.objects.get(holder=flash.zhang).pk
