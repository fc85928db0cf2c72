"""Evidence package: build one for a two-signer consent, then time its offline verification.

    CHAIRSIDE_DATABASE_URL=postgres://postgres@127.0.0.1:5432/chairside_bench \
        .venv/bin/python bench/esign_verify.py [--rounds 30] [--keep package.zip]

On a migrated database it creates an organization, a consent (one page, Chinese, PDF/A-3b)
and signs it through the signing services — the patient with a fresh key (SMS code,
one-event certificate), the doctor with an enrolled key, both keys P-256 held by a Python
"browser" — so the archive step and the tree head run as in production. It then times
`build_package` and `verify_package` (the ZIP alone, no database), and the public page's
look-up of the document number (database + validation, no cache), printing p50/p95 and the
package's size. Everything it wrote to the database is rolled back at the end.
"""

from __future__ import annotations

import argparse
import io
import logging
import os
import sys
import time
import uuid
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import django

# The tests' signing helpers: the signer's browser (WebCrypto) in Python.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chairside.settings")
django.setup()

from create_patients import percentile  # noqa: E402
from django.core.cache import cache  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from tests.esign.evidence_helpers import signed_consent  # noqa: E402

from chairside.core.models import Clinic, Staff  # noqa: E402
from chairside.core.services import clinic_create, organization_create, staff_create  # noqa: E402
from chairside.core.tenancy import tenant_scope  # noqa: E402
from chairside.esign import package, verification  # noqa: E402
from chairside.esign.models import Document  # noqa: E402


def signed_document() -> Document:
    """A consent signed by the patient and the doctor (completed: archive + tree head)."""
    tag = uuid.uuid4().hex[:8]
    organization = organization_create(slug=f"bench-esign-{tag}", name="Bench Dental")
    clinic: Clinic = clinic_create(organization=organization, code="b1", name="Bench Clinic")
    doctor: Staff = staff_create(
        organization=organization,
        username=f"bench-doctor-{tag}",
        display_name="李明华",
        phone="13800000091",
        roles=[("doctor", clinic)],
    )
    return signed_consent(organization, clinic, doctor, doctor).document


def timed(action: Callable[[], Any], rounds: int) -> tuple[list[float], Any]:
    samples, result = [], None
    for _ in range(rounds):
        started = time.perf_counter()
        result = action()
        samples.append((time.perf_counter() - started) * 1000)
    return samples, result


def line(label: str, samples: list[float]) -> str:
    return (
        f"{label:<44} p50 {percentile(samples, 0.5):7.1f} ms   "
        f"p95 {percentile(samples, 0.95):7.1f} ms   ({len(samples)} rounds)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--keep", default="", help="write the package to this path")
    args = parser.parse_args()
    logging.getLogger("weasyprint").setLevel(logging.WARNING)
    if connection.vendor != "postgresql":
        print("Note: SQLite — figures are indicative; the README's are from PostgreSQL.")

    with transaction.atomic():
        cache.clear()
        started = time.perf_counter()
        document = signed_document()
        signing = time.perf_counter() - started
        with tenant_scope(document.organization_id):
            build, data = timed(lambda: package.build_package(document), max(3, args.rounds // 5))
        verify, report = timed(lambda: package.verify_package(data), args.rounds)

        def look_up() -> Any:
            cache.clear()  # the page caches a validation for five minutes
            return verification.report_for_number(document.number)

        lookup, public = timed(look_up, args.rounds)
        transaction.set_rollback(True)

    if not report.ok or not public.ok:
        sys.exit(f"The package or the page did not verify: {report.findings}")
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        sizes = {i.filename.rsplit("/", 1)[-1]: i.file_size for i in archive.infolist()}
    if args.keep:
        Path(args.keep).write_bytes(data)

    print(f"created and signed by patient + doctor, completed: {signing:.2f} s (once)")
    print(line("build_package", build))
    print(line("verify_package (ZIP only, offline)", verify))
    print(line("public page look-up of the number", lookup))
    print(
        f"package: {len(data) / 1024:.0f} KB zipped, {sum(sizes.values()) / 1024:.0f} KB "
        f"unpacked; signed.pdf {sizes['signed.pdf'] / 1024:.0f} KB; "
        f"{report.events} events, log of {report.tree_size} entries"
    )


if __name__ == "__main__":
    main()
