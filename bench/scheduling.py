"""Scheduling at clinic scale: free-slot search and booking throughput.

    CHAIRSIDE_DATABASE_URL=postgres://postgres@127.0.0.1:5432/chairside_bench_sched \
        .venv/bin/python bench/scheduling.py [--rounds 20] [--clients 32] [--bookings 20]

On a fresh PostgreSQL database (migrated; the demo chain is loaded when missing) it adds a
clinic "bench" with 20 doctors working Monday to Saturday, six appointments per doctor and
working day for the next 30 days, then prints:

1. free-slot search over 30 days for the whole clinic and for one doctor, p50/p95;
2. booking throughput: `--clients` threads book through POST /api/v1/appointments on a
   gunicorn server, each `--bookings` appointments at free times of its own doctor, beside
   the same rows inserted by as many threads as plain SQL INSERTs. The ratio is the figure
   that counts: what the API's checks, locks, history and audit cost per booking.
"""

from __future__ import annotations

import argparse
import logging
import os
import random
import statistics
import sys
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from datetime import time as clock
from pathlib import Path

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chairside.settings")
django.setup()

import httpx  # noqa: E402
import psycopg  # noqa: E402
from create_patients import free_port, percentile, wait_until_up  # noqa: E402
from django.db import connection  # noqa: E402
from django.utils import timezone  # noqa: E402

from chairside.core.models import Clinic, Organization, Staff  # noqa: E402
from chairside.core.services import clinic_create, staff_create  # noqa: E402
from chairside.core.tenancy import tenant_scope  # noqa: E402
from chairside.demo.seeding import demo_exists, seed_demo  # noqa: E402
from chairside.patients.models import Patient  # noqa: E402
from chairside.scheduling.models import Appointment, AppointmentType  # noqa: E402
from chairside.scheduling.selectors import free_slots  # noqa: E402
from chairside.scheduling.services.setup import (  # noqa: E402
    appointment_type_create,
    shift_create,
)

DOCTORS = 20
DAYS = 30
PASSWORD = "bench-password-42"
BIN = Path(sys.executable).parent


def timed(action: Callable[[], object], rounds: int) -> list[float]:
    action()
    samples = []
    for _ in range(rounds):
        started = time.perf_counter()
        action()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def bench_clinic(demo: Organization) -> tuple[Clinic, list[Staff], AppointmentType]:
    """The bench clinic, its doctors and a 30-minute type; built once per database."""
    clinic = Clinic.objects.filter(code="bench").first()
    if clinic is not None:
        doctors = list(Staff.objects.filter(username__startswith="bench-doctor").order_by("id"))
        return clinic, doctors, AppointmentType.objects.get(code="bench-visit")
    clinic = clinic_create(organization=demo, code="bench", name="压测门店")
    doctors = [
        staff_create(
            organization=demo,
            username=f"bench-doctor-{n:02d}",
            display_name=f"压测医生{n:02d}",
            password=PASSWORD,
            roles=[("doctor", clinic)],
        )
        for n in range(DOCTORS)
    ]
    kind = appointment_type_create(
        actor=None, code="bench-visit", name="压测复诊", duration_minutes=30
    )
    for doctor in doctors:
        for weekday in range(6):
            for start, end in ((clock(9), clock(12)), (clock(13, 30), clock(18))):
                shift_create(
                    actor=None, clinic=clinic, doctor=doctor, weekday=weekday, start=start, end=end
                )
    _book_six_a_day(demo, clinic, doctors, kind)
    return clinic, doctors, kind


def _book_six_a_day(
    demo: Organization, clinic: Clinic, doctors: list[Staff], kind: AppointmentType
) -> None:
    """Six 30-minute appointments per doctor and working day, inserted in bulk (set-up only)."""
    patients = list(Patient.objects.values_list("pk", flat=True)[:5000])
    rng = random.Random(3)
    zone = timezone.get_current_timezone()
    today = timezone.localdate()
    rows = []
    for offset in range(DAYS):
        day = today + timedelta(days=offset)
        if day.weekday() == 6:
            continue
        for doctor in doctors:
            times = [9 * 60 + 30 * i for i in range(6)] + [14 * 60 + 30 * i for i in range(8)]
            starts = rng.sample(times, 6)
            for minute in starts:
                start = datetime.combine(day, clock(minute // 60, minute % 60), zone)
                rows.append(
                    Appointment(
                        organization=demo,
                        clinic=clinic,
                        patient_id=rng.choice(patients),
                        doctor=doctor,
                        appointment_type=kind,
                        start=start,
                        end=start + timedelta(minutes=30),
                        source="front_desk",
                    )
                )
    Appointment.objects.bulk_create(rows, batch_size=2000)


def slot_search(clinic: Clinic, doctors: list[Staff], kind: AppointmentType, rounds: int) -> None:
    today = timezone.localdate()
    last = today + timedelta(days=DAYS - 1)
    whole = timed(
        lambda: free_slots(clinic=clinic, date_from=today, date_to=last, appointment_type=kind),
        rounds,
    )
    one = timed(
        lambda: free_slots(
            clinic=clinic, date_from=today, date_to=last, appointment_type=kind, doctor=doctors[0]
        ),
        rounds,
    )
    found = len(free_slots(clinic=clinic, date_from=today, date_to=last, appointment_type=kind))
    print(
        f"free-slot search, {DOCTORS} doctors x {DAYS} days ({found:,} free slots), {rounds} rounds"
    )
    for label, samples in (("whole clinic", whole), ("one doctor", one)):
        p50, p95 = percentile(samples, 0.5), percentile(samples, 0.95)
        print(f"  {label:<13} p50 {p50:.1f} ms, p95 {p95:.1f} ms")


def run_threads(clients: int, work: Callable[[int], list[float]]) -> tuple[float, list[float]]:
    latencies: list[float] = []
    lock = threading.Lock()

    def client(number: int) -> None:
        samples = work(number)
        with lock:
            latencies.extend(samples)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.perf_counter() - started, latencies


def booking_throughput(
    clinic: Clinic, doctors: list[Staff], kind: AppointmentType, clients: int, per_client: int
) -> None:
    today = timezone.localdate()
    slots = free_slots(
        clinic=clinic,
        date_from=today + timedelta(days=1),
        date_to=today + timedelta(days=DAYS - 1),
        appointment_type=kind,
        step_minutes=30,
    )
    by_doctor: dict[int, list[datetime]] = {}
    for slot in slots:
        by_doctor.setdefault(slot.doctor.pk, []).append(slot.start)
    # Each client books for one doctor; two clients share a doctor when there are more
    # clients than doctors, and take alternate slots so that neither waits on a clash.
    plans = []
    for n in range(clients):
        doctor = doctors[n % DOCTORS]
        mine = by_doctor[doctor.pk][n // DOCTORS :: -(-clients // DOCTORS)]
        plans.append((doctor.pk, mine[:per_client]))
    if any(len(starts) < per_client for _doctor, starts in plans):
        sys.exit("not enough free slots left for this many bookings; use a fresh database")
    api_plans, sql_plans = (
        [(d, starts[: per_client // 2]) for d, starts in plans],
        [(d, starts[per_client // 2 :]) for d, starts in plans],
    )
    patient_ids = list(Patient.objects.values_list("pk", flat=True)[:1000])

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = subprocess_gunicorn(port)
    try:
        wait_until_up(base, server)
        token = httpx.post(
            f"{base}/api/v1/auth/token",
            json={"username": "boss", "password": "chairside-demo"},
            timeout=10,
        ).json()["token"]
        headers = {"Authorization": f"Bearer {token}", "X-Clinic-Id": str(clinic.pk)}
        failures: list[str] = []

        def through_the_api(number: int) -> list[float]:
            doctor_id, starts = api_plans[number]
            samples = []
            with httpx.Client(base_url=base, headers=headers, timeout=60) as http:
                for i, start in enumerate(starts):
                    body = {
                        "patient_id": patient_ids[(number * 97 + i) % len(patient_ids)],
                        "doctor_id": doctor_id,
                        "start": start.isoformat(),
                        "appointment_type_id": kind.pk,
                    }
                    began = time.perf_counter()
                    answer = http.post("/api/v1/appointments", json=body)
                    samples.append((time.perf_counter() - began) * 1000)
                    if answer.status_code != 201:
                        failures.append(f"{answer.status_code} {answer.text[:160]}")
            return samples

        api_wall, api_latencies = run_threads(clients, through_the_api)
    finally:
        server.terminate()
        server.wait(timeout=10)

    dsn = connection.get_connection_params()
    insert = (
        "INSERT INTO scheduling_appointment (organization_id, clinic_id, patient_id, doctor_id,"
        ' appointment_type_id, start, "end", status, source, note, cancel_reason, created_at,'
        " updated_at) VALUES (%s, %s, %s, %s, %s, %s, %s, 'booked', 'front_desk', '', '',"
        " now(), now())"
    )

    def as_raw_sql(number: int) -> list[float]:
        doctor_id, starts = sql_plans[number]
        samples = []
        with psycopg.connect(**{k: v for k, v in dsn.items() if k != "cursor_factory"}) as db:
            for i, start in enumerate(starts):
                began = time.perf_counter()
                with db.transaction():
                    db.execute(
                        insert,
                        (
                            clinic.organization_id,
                            clinic.pk,
                            patient_ids[(number * 97 + i) % len(patient_ids)],
                            doctor_id,
                            kind.pk,
                            start,
                            start + timedelta(minutes=kind.duration_minutes),
                        ),
                    )
                samples.append((time.perf_counter() - began) * 1000)
        return samples

    sql_wall, sql_latencies = run_threads(clients, as_raw_sql)
    api_rate = len(api_latencies) / api_wall
    sql_rate = len(sql_latencies) / sql_wall
    print(f"booking throughput, {clients} concurrent clients")
    print(
        f"  API (gunicorn, 4 workers): {len(api_latencies)} bookings in {api_wall:.1f} s = "
        f"{api_rate:.0f}/s, p50 {percentile(api_latencies, 0.5):.0f} ms, "
        f"p95 {percentile(api_latencies, 0.95):.0f} ms, failed {len(failures)}"
    )
    for failure in failures[:3]:
        print("    ", failure)
    print(
        f"  raw SQL INSERT:            {len(sql_latencies)} rows in {sql_wall:.1f} s = "
        f"{sql_rate:.0f}/s, p50 {statistics.median(sql_latencies):.1f} ms"
    )
    print(f"  ratio raw/API: {sql_rate / api_rate:.1f}")


def subprocess_gunicorn(port: int):  # type: ignore[no-untyped-def]
    import subprocess

    return subprocess.Popen(
        [
            BIN / "gunicorn",
            "chairside.wsgi",
            "--workers=4",
            f"--bind=127.0.0.1:{port}",
            "--log-level=warning",
        ],
        env={**os.environ, "CHAIRSIDE_DEBUG": "false"},
    )


def main() -> None:
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per request otherwise
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--bookings", type=int, default=20, help="per client, half via the API")
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        sys.exit("Run this against PostgreSQL: set CHAIRSIDE_DATABASE_URL=postgres://...")
    if not demo_exists():
        seed_demo(patients=5_000, progress=lambda _: None)
    demo = Organization.objects.get(slug="demo")
    with tenant_scope(demo):
        clinic, doctors, kind = bench_clinic(demo)
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    with tenant_scope(demo, clinic):
        slot_search(clinic, doctors, kind, args.rounds)
        booking_throughput(clinic, doctors, kind, args.clients, args.bookings)


if __name__ == "__main__":
    main()
