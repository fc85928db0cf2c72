"""Run the same action from several threads at once, each on its own database connection.

Concurrency tests use it against PostgreSQL (`@pytest.mark.postgres`): SQLite serialises
writers, so a race there proves nothing.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from django.db import connections
from django.utils import translation


def run_concurrently(action: Callable[[int], Any], times: int) -> list[Any]:
    """Start `times` threads that call `action(i)` together; return results or exceptions."""
    barrier = threading.Barrier(times)
    results: list[Any] = [None] * times
    # The active language is per thread: the workers speak the caller's, as a request would.
    language = translation.get_language()

    def worker(i: int) -> None:
        try:
            barrier.wait(timeout=10)
            with translation.override(language):
                results[i] = action(i)
        except Exception as e:  # noqa: BLE001 - the test inspects what each thread met
            results[i] = e
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(times)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results
