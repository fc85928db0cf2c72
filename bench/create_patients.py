"""Create-patient throughput through the API: a real gunicorn server, several clients at once.

    CHAIRSIDE_DATABASE_URL=postgres://postgres@127.0.0.1:5432/chairside_bench \
        .venv/bin/python bench/create_patients.py [--clients 8] [--per-client 100]

Starts gunicorn on a free loopback port with the current settings, signs in as the demo
boss (loads the demo chain first when it is missing), then each client registers patients
with POST /api/v1/patients. Prints requests per second and latency p50/p95, and checks that
every patient was created once with its own record number.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx

BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until_up(base: str, server: subprocess.Popen[bytes]) -> None:
    for _ in range(100):
        if server.poll() is not None:
            sys.exit("gunicorn exited; see its output above")
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    sys.exit("gunicorn did not answer within 20 s")


def percentile(samples: list[float], share: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(len(ordered) * share))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--per-client", type=int, default=100)
    parser.add_argument("--workers", type=int, default=4, help="gunicorn worker processes")
    args = parser.parse_args()

    subprocess.run([BIN / "chairside", "seed", "--if-empty"], check=True)
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
        # As in production: without DEBUG's per-query bookkeeping.
        env={**os.environ, "CHAIRSIDE_DEBUG": "false"},
    )
    try:
        wait_until_up(base, server)
        answer = httpx.post(
            f"{base}/api/v1/auth/token",
            json={"username": "boss", "password": "chairside-demo"},
            timeout=10,
        )
        answer.raise_for_status()
        headers = {"Authorization": f"Bearer {answer.json()['token']}"}
        latencies: list[float] = []
        failures: list[str] = []
        record_numbers: list[str] = []
        lock = threading.Lock()
        # Phones of a block no demo patient uses: 170 + client + serial.
        run_tag = int(time.time()) % 100

        def client(number: int) -> None:
            with httpx.Client(base_url=base, headers=headers, timeout=30) as http:
                for i in range(args.per_client):
                    body = {
                        "name": f"压测{number}号{i}",
                        "phone": f"170{run_tag:02d}{number:02d}{i:04d}",
                    }
                    started = time.perf_counter()
                    response = http.post("/api/v1/patients", json=body)
                    elapsed = (time.perf_counter() - started) * 1000
                    with lock:
                        if response.status_code == 201:
                            latencies.append(elapsed)
                            record_numbers.append(response.json()["record_no"])
                        else:
                            failures.append(f"{response.status_code} {response.text[:200]}")

        threads = [threading.Thread(target=client, args=(n,)) for n in range(args.clients)]
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
        f"{len(latencies)} patients created by {args.clients} clients "
        f"({args.workers} gunicorn workers) in {wall:.1f} s: {len(latencies) / wall:.0f} per second"
    )
    if latencies:
        p50, p95 = percentile(latencies, 0.5), percentile(latencies, 0.95)
        print(f"latency p50 {p50:.1f} ms, p95 {p95:.1f} ms")
    print(f"failed requests: {len(failures)}")
    for failure in failures[:5]:
        print("  ", failure)
    print(f"distinct record numbers: {len(set(record_numbers))} of {len(record_numbers)}")


if __name__ == "__main__":
    main()
