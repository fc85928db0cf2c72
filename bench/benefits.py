"""Member benefits at checkout: the discount pipeline on a bill of 20 lines.

    CHAIRSIDE_DATABASE_URL=postgres://postgres@127.0.0.1:5432/chairside_bench_billing \
        .venv/bin/python bench/benefits.py [--rounds 50]

On a migrated PostgreSQL database (the demo chain, its price list and member tiers are
loaded when missing) it enrols a patient in the top tier, opens a draft bill of 20 lines
from the price list and times `bill_discounts_apply` — the whole pipeline: the tier source
(category rates, member day, free cleanings), the coupon source and the manual step, and
storing the discounts and line shares — p50/p95 and its queries. The bill is rolled back
after each round, so the database is left as it was.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chairside.settings")
django.setup()

from create_patients import percentile  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from chairside.billing.models import CatalogueItem  # noqa: E402
from chairside.billing.services.bills import (  # noqa: E402
    bill_create,
    bill_discounts_apply,
    bill_line_add,
)
from chairside.core.models import Clinic, Organization, Staff  # noqa: E402
from chairside.core.tenancy import tenant_scope  # noqa: E402
from chairside.demo.seeding import demo_exists, seed_demo  # noqa: E402
from chairside.membership.demo import demo_membership_install  # noqa: E402
from chairside.membership.models import Member, Tier  # noqa: E402
from chairside.membership.services.members import member_enrol  # noqa: E402
from chairside.patients.models import Patient  # noqa: E402

LINES = 20


class Rollback(Exception):
    """Raised to undo a round's bill."""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=50)
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        sys.exit("Run this on PostgreSQL (set CHAIRSIDE_DATABASE_URL).")
    if not demo_exists():
        seed_demo(progress=lambda _line: None)
    demo = Organization.objects.get(slug="demo")
    with tenant_scope(demo):
        boss = Staff.objects.filter(role_grants__role__code="boss").order_by("id")[0]
        demo_membership_install(organization=demo, actor=boss)
        clinic = Clinic.objects.filter(kind=Clinic.Kind.CLINIC).order_by("id")[0]
        top = Tier.objects.order_by("-rank")[0]
        patient = Patient.objects.exclude(
            pk__in=Member.objects.values_list("patient_id", flat=True)
        ).order_by("-id")[0]
        # Two items of each of ten categories, so every tier rate has lines to work on.
        by_category: dict[str, list[CatalogueItem]] = {}
        for item in (
            CatalogueItem.objects.filter(is_active=True, price__gt=0)
            .exclude(category="registration")
            .order_by("id")
        ):
            by_category.setdefault(item.category, []).append(item)
        items = [item for group in by_category.values() for item in group[:2]][:LINES]
        samples: list[float] = []
        queries: list[int] = []
        labels: list[str] = []
        for _round in range(args.rounds + 1):
            try:
                with transaction.atomic():
                    member_enrol(actor=boss, clinic=clinic, patient=patient, tier=top)
                    bill = bill_create(actor=boss, clinic=clinic, patient=patient)
                    for item in items:
                        bill_line_add(actor=boss, clinic=clinic, bill=bill, item=item)
                    connection.queries_log.clear()
                    with CaptureQueriesContext(connection) as captured:
                        started = time.perf_counter()
                        bill = bill_discounts_apply(
                            actor=boss, clinic=clinic, bill=bill, can_approve=True
                        )
                        elapsed = (time.perf_counter() - started) * 1000
                    samples.append(elapsed)
                    queries.append(len(captured.captured_queries))
                    labels = [d.label for d in bill.discounts.all()]
                    raise Rollback
            except Rollback:
                pass
    samples = samples[1:]  # the first round warms caches
    print(
        f"discount pipeline on a bill of {LINES} lines for a {top.name} member, "
        f"{args.rounds} rounds: p50 {percentile(samples, 0.5):.1f} ms, "
        f"p95 {percentile(samples, 0.95):.1f} ms, mean {statistics.mean(samples):.1f} ms; "
        f"queries {min(queries)}-{max(queries)}"
    )
    print(f"{len(labels)} discounts: " + "; ".join(labels))


if __name__ == "__main__":
    main()
