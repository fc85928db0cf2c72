"""Flash-sale claims per second: a crowd of clients claiming a small stock through the API.

    CHAIRSIDE_DATABASE_URL=postgres://postgres@127.0.0.1:5432/chairside_bench_flash \
        .venv/bin/python bench/flash_sale.py [--clients 200] [--stock 50] [--tries 2] \
        [--workers 4] [--redis redis://127.0.0.1:6379/14]

On a migrated PostgreSQL database (the demo chain is loaded when missing) it starts
gunicorn, sets up a sale of `--stock` coupons (limit one per person) and releases
`--clients` threads at once; two clients share each patient, and each client claims
`--tries` times, so every patient is tried 2 x tries times at the same moment. Then every
granted claim is paid through the fake processor and its callback is sent twice, as a
processor retrying would. It prints claims per second (all claim requests, granted or
refused, over the claim phase's wall time), p50/p95 of a claim call, and the stock
correctness check: granted == issued == stock, nobody holds two, the counter equals the
claims, one coupon per claim.

With `--redis` the server's cache (the sold-out hint) is Redis, shared by the workers;
without it each worker keeps its own in local memory.
"""

from __future__ import annotations

import argparse
import logging
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chairside.settings")
django.setup()

import httpx  # noqa: E402
from create_patients import free_port, percentile, wait_until_up  # noqa: E402
from django.db import connection  # noqa: E402
from django.utils import timezone  # noqa: E402

from chairside.core.models import Organization  # noqa: E402
from chairside.core.tenancy import tenant_scope  # noqa: E402
from chairside.patients.models import Patient  # noqa: E402
from chairside.promotions.models import (  # noqa: E402
    Coupon,
    CouponTemplate,
    FlashSale,
    FlashSaleClaim,
)

BIN = Path(sys.executable).parent
PASSWORD = "chairside-demo"


def token(base: str, username: str) -> dict[str, str]:
    answer = httpx.post(
        f"{base}/api/v1/auth/token",
        json={"username": username, "password": PASSWORD},
        timeout=10,
    )
    answer.raise_for_status()
    return {"Authorization": f"Bearer {answer.json()['token']}"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--stock", type=int, default=50)
    parser.add_argument("--tries", type=int, default=2, help="claims per client")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn worker processes")
    parser.add_argument("--redis", default="", help="Redis URL for the server's cache")
    args = parser.parse_args()
    logging.getLogger("httpx").setLevel(logging.WARNING)
    if connection.vendor != "postgresql":
        sys.exit("Run this on PostgreSQL (set CHAIRSIDE_DATABASE_URL).")

    subprocess.run([BIN / "chairside", "seed", "--if-empty"], check=True)
    demo = Organization.objects.get(slug="demo")
    patient_count = max(1, args.clients // 2)
    with tenant_scope(demo):
        patients = list(
            Patient.objects.filter(is_archived=False)
            .order_by("-id")
            .values_list("id", flat=True)[:patient_count]
        )
        template = CouponTemplate.objects.create(
            organization=demo,
            name=f"秒杀洁牙券 {timezone.now():%H%M%S}",
            kind="cash_voucher",
            amount=Decimal("100.00"),
            validity_kind="after_issue",
            valid_days=90,
        )
    if len(patients) < patient_count:
        sys.exit("Not enough demo patients; run `chairside seed` first.")

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, "CHAIRSIDE_DEBUG": "false"}
    if args.redis:
        env["CHAIRSIDE_REDIS_URL"] = args.redis
    else:
        env.pop("CHAIRSIDE_REDIS_URL", None)
    # 409 answers (sold out, limit reached) are logged by Django, one line each: keep them
    # out of the figures.
    server_log = tempfile.NamedTemporaryFile(  # noqa: SIM115 - open while the server runs
        prefix="flash-sale-bench-", suffix=".log", delete=False
    )
    server = subprocess.Popen(
        [
            BIN / "gunicorn",
            "chairside.wsgi",
            f"--workers={args.workers}",
            f"--bind=127.0.0.1:{port}",
            "--backlog=2048",
            "--log-level=warning",
        ],
        env=env,
        stdout=server_log,
        stderr=server_log,
    )
    claim_ms: list[float] = []
    outcomes: Counter[str] = Counter()
    granted: list[int] = []
    failures: list[str] = []
    lock = threading.Lock()
    try:
        wait_until_up(base, server)
        boss = token(base, "boss")
        desk = token(base, "frontdesk")
        now = timezone.now()
        created = httpx.post(
            f"{base}/api/v1/flash-sales",
            headers=boss,
            timeout=30,
            json={
                "title": f"9.9元洁牙秒杀 {now:%H:%M:%S}",
                "template_id": template.pk,
                "price": "9.90",
                "stock": args.stock,
                "starts_at": (now - timedelta(minutes=1)).isoformat(),
                "ends_at": (now + timedelta(hours=1)).isoformat(),
                "per_person_limit": 1,
                "payment_minutes": 15,
            },
        )
        created.raise_for_status()
        sale_id = created.json()["id"]
        barrier = threading.Barrier(args.clients)
        clients = [
            httpx.Client(base_url=base, headers=desk, timeout=120) for _ in range(args.clients)
        ]

        def claimant(number: int) -> None:
            http = clients[number]
            patient_id = patients[number % patient_count]
            barrier.wait()
            for _try in range(args.tries):
                started = time.perf_counter()
                try:
                    answer = http.post(
                        f"/api/v1/flash-sales/{sale_id}/claims", json={"patient_id": patient_id}
                    )
                except httpx.TransportError as error:
                    with lock:
                        failures.append(f"transport: {error!r}")
                    continue
                elapsed = (time.perf_counter() - started) * 1000
                with lock:
                    claim_ms.append(elapsed)
                    if answer.status_code == 201:
                        outcomes["granted"] += 1
                        granted.append(answer.json()["id"])
                    elif answer.status_code == 409:
                        outcomes[answer.json()["code"]] += 1
                    else:
                        failures.append(f"{answer.status_code} {answer.text[:200]}")

        threads = [threading.Thread(target=claimant, args=(n,)) for n in range(args.clients)]
        for thread in threads:
            thread.start()
        started = time.perf_counter()
        for thread in threads:
            thread.join()
        claim_wall = time.perf_counter() - started

        def payer(claim_ids: list[int], http: httpx.Client) -> None:
            for claim_id in claim_ids:
                try:
                    intent = http.post(f"/api/v1/flash-sales/claims/{claim_id}/pay")
                    intent.raise_for_status()
                    callback = intent.json()["simulated_callback"]
                    for _delivery in range(2):  # the processor retries once
                        httpx.post(
                            f"{base}/api/v1/flash-sales/payment-callback",
                            json=callback,
                            timeout=60,
                        ).raise_for_status()
                except httpx.HTTPError as error:
                    with lock:
                        failures.append(f"payment of {claim_id}: {error!r}")

        pay_threads = [
            threading.Thread(target=payer, args=(granted[n :: args.clients], clients[n]))
            for n in range(min(args.clients, max(1, len(granted))))
        ]
        paid_started = time.perf_counter()
        for thread in pay_threads:
            thread.start()
        for thread in pay_threads:
            thread.join()
        pay_wall = time.perf_counter() - paid_started
        for http in clients:
            http.close()
    finally:
        server.terminate()
        server.wait(timeout=10)
        server_log.close()

    requests = sum(outcomes.values())
    print(
        f"{requests} claims by {args.clients} concurrent clients ({patient_count} patients, "
        f"{args.tries} tries each client) on {args.workers} gunicorn workers "
        f"({'Redis' if args.redis else 'local-memory'} cache) in {claim_wall:.2f} s: "
        f"{requests / claim_wall:.0f} claims per second"
    )
    if claim_ms:
        print(
            f"claim call p50 {percentile(claim_ms, 0.5):.0f} ms, "
            f"p95 {percentile(claim_ms, 0.95):.0f} ms, max {max(claim_ms):.0f} ms; "
            f"outcomes: {dict(outcomes)}"
        )
    print(
        f"{len(granted)} granted claims paid (pay + callback delivered twice) in {pay_wall:.2f} s"
    )
    print(f"failed requests: {len(failures)} (server log: {server_log.name})")
    for failure in failures[:5]:
        print("  ", failure)

    with tenant_scope(demo):
        sale = FlashSale.objects.get(pk=sale_id)
        claims = FlashSaleClaim.objects.filter(sale=sale)
        live = claims.filter(status__in=["reserved", "paid", "issued"])
        issued = claims.filter(status="issued").count()
        per_patient = Counter(live.values_list("patient_id", flat=True))
        doubles = sum(1 for n in per_patient.values() if n > 1)
        coupons = Coupon.objects.filter(template=template).count()
        with_coupon = claims.exclude(coupon=None).count()
    expected = min(args.stock, patient_count)
    correct = (
        len(granted) == expected
        and issued == expected
        and sale.sold == live.count() == expected
        and doubles == 0
        and coupons == with_coupon == issued
    )
    print(
        f"stock {sale.stock}: granted {len(granted)}, issued {issued}, counter {sale.sold}, "
        f"live claims {live.count()}, patients holding two {doubles}, coupons {coupons} "
        f"for {with_coupon} claims -> {'CORRECT' if correct else 'WRONG'}"
    )
    if not correct:
        sys.exit(1)


if __name__ == "__main__":
    main()
