"""Checkout throughput: many cashiers settling bills at once through the API.

    CHAIRSIDE_DATABASE_URL=postgres://postgres@127.0.0.1:5432/chairside_bench_billing \
        .venv/bin/python bench/checkout.py [--cashiers 16] [--bills 10] [--workers 4]

On a migrated PostgreSQL database (the demo chain is loaded when missing) it starts
gunicorn and runs `--cashiers` threads, each settling `--bills` bills of its own patients
the way the cashier screen does: open a bill, add 10 catalogue lines, confirm it, and pay it
with three methods (cash with change, WeChat Pay, Alipay) under an idempotency key, then
send the same payment again as a retry would. It prints checkouts per second, p50/p95 of a
whole checkout and of the payment call alone, and checks afterwards that every bill is paid
exactly once: paid + arrears = amount - discounts, no retry charged twice.
"""

from __future__ import annotations

import argparse
import logging
import os
import subprocess
import sys
import threading
import time
import uuid
from decimal import Decimal
from pathlib import Path

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chairside.settings")
django.setup()

import httpx  # noqa: E402
from create_patients import free_port, percentile, wait_until_up  # noqa: E402
from django.db import connection  # noqa: E402
from django.db.models import Sum  # noqa: E402

from chairside.billing.models import Bill, CatalogueItem, Payment  # noqa: E402
from chairside.core.models import Organization  # noqa: E402
from chairside.core.tenancy import tenant_scope  # noqa: E402
from chairside.patients.models import Patient  # noqa: E402

BIN = Path(sys.executable).parent
LINES = 10


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cashiers", type=int, default=16)
    parser.add_argument("--bills", type=int, default=10, help="bills per cashier")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn worker processes")
    args = parser.parse_args()
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per request otherwise
    if connection.vendor != "postgresql":
        sys.exit("Run this on PostgreSQL (set CHAIRSIDE_DATABASE_URL).")

    subprocess.run([BIN / "chairside", "seed", "--if-empty"], check=True)
    demo = Organization.objects.get(slug="demo")
    with tenant_scope(demo):
        items = list(
            CatalogueItem.objects.filter(is_active=True, price__gt=0, price__lt=2000)
            .exclude(category="registration")
            .order_by("id")
            .values_list("id", flat=True)[:LINES]
        )
        patients = list(
            Patient.objects.order_by("-id").values_list("id", flat=True)[
                : args.cashiers * args.bills
            ]
        )
    if len(items) < LINES or len(patients) < args.cashiers * args.bills:
        sys.exit("The demo catalogue or patients are missing; run `chairside seed` first.")

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [
            BIN / "gunicorn",
            "chairside.wsgi",
            f"--workers={args.workers}",
            f"--bind=127.0.0.1:{port}",
            "--log-level=warning",
        ],
        env={**os.environ, "CHAIRSIDE_DEBUG": "false"},
    )
    checkouts: list[float] = []
    payments: list[float] = []
    failures: list[str] = []
    bill_ids: list[int] = []
    lock = threading.Lock()
    try:
        wait_until_up(base, server)
        answer = httpx.post(
            f"{base}/api/v1/auth/token",
            json={"username": "frontdesk", "password": "chairside-demo"},
            timeout=10,
        )
        answer.raise_for_status()
        headers = {"Authorization": f"Bearer {answer.json()['token']}"}

        def cashier(number: int) -> None:
            mine = patients[number * args.bills : (number + 1) * args.bills]
            with httpx.Client(base_url=base, headers=headers, timeout=60) as http:
                for patient_id in mine:
                    try:
                        started = time.perf_counter()
                        bill = http.post("/api/v1/bills", json={"patient_id": patient_id})
                        bill.raise_for_status()
                        bill_id = bill.json()["id"]
                        for item_id in items:
                            http.post(
                                f"/api/v1/bills/{bill_id}/lines", json={"item_id": item_id}
                            ).raise_for_status()
                        confirmed = http.post(f"/api/v1/bills/{bill_id}/confirm")
                        confirmed.raise_for_status()
                        due = Decimal(confirmed.json()["arrears"])
                        cash = (due * Decimal("0.2")).quantize(Decimal("0.01"))
                        wechat = (due * Decimal("0.5")).quantize(Decimal("0.01"))
                        alipay = due - cash - wechat
                        body = {
                            "tenders": [
                                {"method": "cash", "amount": str(cash), "tendered": str(cash + 50)},
                                {"method": "wechat", "amount": str(wechat), "reference": "WX1"},
                                {"method": "alipay", "amount": str(alipay), "reference": "AL1"},
                            ]
                        }
                        key = {"Idempotency-Key": str(uuid.uuid4())}
                        paid_at = time.perf_counter()
                        pay_url = f"/api/v1/bills/{bill_id}/payments"
                        paid = http.post(pay_url, json=body, headers=key)
                        paid.raise_for_status()
                        finished = time.perf_counter()
                        # A retry of the same request, as a flaky network would send it.
                        http.post(pay_url, json=body, headers=key).raise_for_status()
                        with lock:
                            checkouts.append((finished - started) * 1000)
                            payments.append((finished - paid_at) * 1000)
                            bill_ids.append(bill_id)
                    except httpx.HTTPStatusError as error:
                        with lock:
                            failures.append(
                                f"{error.response.status_code} {error.response.text[:200]}"
                            )

        threads = [threading.Thread(target=cashier, args=(n,)) for n in range(args.cashiers)]
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        wall = time.perf_counter() - started
    finally:
        server.terminate()
        server.wait(timeout=10)

    print(
        f"{len(checkouts)} checkouts ({LINES} lines, 3 payment methods, one retried payment "
        f"each) by {args.cashiers} cashiers on {args.workers} gunicorn workers in {wall:.1f} s: "
        f"{len(checkouts) / wall:.1f} checkouts per second, "
        f"{len(checkouts) * (LINES + 4) / wall:.0f} requests per second"
    )
    if checkouts:
        print(
            f"whole checkout p50 {percentile(checkouts, 0.5):.0f} ms, "
            f"p95 {percentile(checkouts, 0.95):.0f} ms; "
            f"payment call p50 {percentile(payments, 0.5):.0f} ms, "
            f"p95 {percentile(payments, 0.95):.0f} ms"
        )
    print(f"failed checkouts: {len(failures)}")
    for failure in failures[:5]:
        print("  ", failure)

    with tenant_scope(demo):
        bills = Bill.objects.filter(pk__in=bill_ids)
        unpaid = bills.exclude(arrears=0).count()
        inconsistent = sum(
            1 for b in bills if b.paid_total + b.arrears != b.total - b.discount_total
        )
        ledger = Payment.objects.filter(bill__in=bill_ids).aggregate(total=Sum("amount"))["total"]
        billed = bills.aggregate(total=Sum("paid_total"))["total"]
        charges = Payment.objects.filter(bill__in=bill_ids).count()
    print(
        f"bills left with arrears: {unpaid}; bills breaking paid + arrears = net: {inconsistent}; "
        f"payment rows {charges} for {len(bill_ids)} bills (3 each expected, retries add none); "
        f"ledger total {ledger} = bills' paid total {billed}: {ledger == billed}"
    )


if __name__ == "__main__":
    main()
