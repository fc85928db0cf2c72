"""`chairside seed`: load the demo chain ("demo" and "demo-b") used by `make run` and benches."""

from __future__ import annotations

import time
from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from chairside.demo.seeding import demo_exists, seed_demo


class Command(BaseCommand):
    help = "Load the demo organizations, clinics, staff and patients."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--patients", type=int, default=2_000, help="patients of the demo chain"
        )
        parser.add_argument(
            "--if-empty", action="store_true", help="do nothing when the demo already exists"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if demo_exists():
            if options["if_empty"]:
                self.stdout.write("The demo data is already loaded.")
                return
            raise CommandError("The demo organization exists already; use a fresh database.")
        if options["patients"] < 0:
            raise CommandError("--patients must be zero or more.")
        started = time.perf_counter()
        seed_demo(patients=options["patients"], progress=self._progress)
        self.stdout.write(
            self.style.SUCCESS(f"Demo data loaded in {time.perf_counter() - started:.1f} s.")
        )

    def _progress(self, message: str) -> None:
        self.stdout.write(message)
