"""Patient search at scale: the console's search (selector + first page) against the same SQL
run raw through the driver. Prints p50/p95 per kind of query and the ORM/raw ratio.

    CHAIRSIDE_DATABASE_URL=postgres://postgres@127.0.0.1:5432/chairside_bench \
        .venv/bin/python bench/patient_search.py [--patients 1000000] [--rounds 50]

Loads the demo chain with --patients patients first when the database has no demo yet
(`chairside seed --patients N` on a fresh database does the same).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chairside.settings")
django.setup()

from django.db import connection  # noqa: E402

from chairside.core.models import Organization  # noqa: E402
from chairside.core.tenancy import tenant_scope  # noqa: E402
from chairside.demo.seeding import demo_exists, seed_demo  # noqa: E402
from chairside.patients.models import Patient  # noqa: E402
from chairside.patients.selectors import paginate, patient_list  # noqa: E402

# What a clerk types, by kind. Each is searched as the first page of 20, as the list shows.
QUERIES = {
    "surname (1 hanzi)": ["王", "李", "张", "周"],
    "full name": ["王芳", "李伟", "张静", "陈明"],
    "pinyin initials": ["wf", "lw", "zj", "cm"],
    "full pinyin": ["wangf", "liwei", "zhangj", "chenming"],
    "phone last 4": ["1234", "5678", "0420", "9981"],
    "phone prefix": ["1380000", "1390001", "15100012", "18800009"],
    "record number": ["00012345", "0009999", "00500001", "00999999"],
}


def percentile(samples: list[float], share: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(len(ordered) * share))]


def timed(action: Callable[[], object], rounds: int) -> list[float]:
    action()  # warm the cache and the plan
    samples = []
    for _ in range(rounds):
        started = time.perf_counter()
        action()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def through_the_orm(query: str) -> Callable[[], object]:
    def run() -> object:
        page = paginate(patient_list(query=query), page=1, page_size=20)
        return [
            (p.name, p.first_clinic.name, [link.tag.name for link in p.tag_links.all()])
            for p in page.items
        ]

    return run


def as_raw_sql(query: str) -> Callable[[], object]:
    """The same statements the selector sends (page rows, clinic and family joined, tags,
    and the count when the page is full), executed straight through the driver."""
    queryset = patient_list(query=query)
    page_sql, page_params = queryset[:20].query.sql_with_params()
    count_sql, count_params = queryset.order_by().values("pk").query.sql_with_params()
    tags_sql = (
        "SELECT pt.patient_id, t.name FROM patients_patienttag pt "
        "JOIN patients_tag t ON t.id = pt.tag_id WHERE pt.patient_id = ANY(%s)"
    )

    def run() -> object:
        with connection.cursor() as cursor:
            cursor.execute(page_sql, page_params)
            rows = cursor.fetchall()
            cursor.execute(tags_sql, [[row[0] for row in rows]])
            cursor.fetchall()
            if len(rows) == 20:
                cursor.execute(f"SELECT count(*) FROM ({count_sql}) AS matches", count_params)
                cursor.fetchone()
        return rows

    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=50)
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        sys.exit("Run this against PostgreSQL: set CHAIRSIDE_DATABASE_URL=postgres://...")
    if not demo_exists():
        started = time.perf_counter()
        seed_demo(patients=args.patients, progress=lambda _: None)
        print(f"seeded {args.patients:,} patients in {time.perf_counter() - started:.0f} s")
    demo = Organization.objects.get(slug="demo")
    with tenant_scope(demo):
        total = Patient.objects.count()
        print(f"patients in the demo chain: {total:,}; {args.rounds} rounds per query")
        print(f"{'query kind':<20}{'ORM p50':>9}{'p95':>8}{'raw p50':>9}{'p95':>8}{'ratio':>7}")
        all_orm: list[float] = []
        all_raw: list[float] = []
        for kind, texts in QUERIES.items():
            orm = [ms for text in texts for ms in timed(through_the_orm(text), args.rounds)]
            raw = [ms for text in texts for ms in timed(as_raw_sql(text), args.rounds)]
            all_orm += orm
            all_raw += raw
            print(
                f"{kind:<20}{percentile(orm, 0.5):>8.2f}ms{percentile(orm, 0.95):>6.2f}ms"
                f"{percentile(raw, 0.5):>7.2f}ms{percentile(raw, 0.95):>6.2f}ms"
                f"{statistics.median(orm) / statistics.median(raw):>7.2f}"
            )
        print(
            f"{'all':<20}{percentile(all_orm, 0.5):>8.2f}ms{percentile(all_orm, 0.95):>6.2f}ms"
            f"{percentile(all_raw, 0.5):>7.2f}ms{percentile(all_raw, 0.95):>6.2f}ms"
            f"{statistics.median(all_orm) / statistics.median(all_raw):>7.2f}"
        )


if __name__ == "__main__":
    main()
