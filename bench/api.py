"""Reading a customer over HTTP: latency at a fixed rate, and throughput against a
bare FastAPI endpoint, each served by a real uvicorn process on loopback.

1. `ledgercrm serve` (uvicorn, projection runners and ledger integrator in-process)
   on a fresh deployment with --customers customers; the load reads
   GET /v1/customers/{id}?purpose=... with a sales token: authentication, the
   purpose check, the recorded read (an event, committed before the answer) and
   the opening of five sealed fields.
2. A bare FastAPI app in its own uvicorn process answering a JSON document of the
   same shape from a dict: the reference for what uvicorn and FastAPI cost here.

Latency: an open loop at --rate requests per second for --seconds, each latency
measured from the moment the request was due (so a stall counts against every
request queued behind it). Throughput: --clients closed-loop clients for
--seconds against each server. The load generator runs on the same 2 cores as
the server; its share is the same for both servers. Prints figures; asserts
nothing.

    .venv/bin/python bench/api.py [--backend sqlite|postgres] [--rate 200]
"""

from __future__ import annotations

import argparse
import http.client
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import psycopg

# The project root ahead of this script's folder, where this file would
# shadow the package of the same name.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from api.settings import load_settings
from api.wiring import open_services
from crypto_shredding import create_wrapping_key_file
from domain import Actor, AgreementCapture, CustomerProfile, PersonalDetails
from ledger import create_signing_key

DEFAULT_POSTGRES = "postgresql://postgres@127.0.0.1:5432/postgres"
ROOT = Path(__file__).resolve().parents[1]
ADMIN = Actor("bench-admin", "admin")
SALES = Actor("bench-sales", "sales")
PURPOSE = "customer-care"
BARE_DOCUMENT = {
    "id": "0b6f1f8e-8f3e-4a57-9d9b-2f3a5c0f6d21",
    "stage": "customer",
    "owner": "Trần Thu Hà",
    "tags": ["hội chợ 2026"],
    "jurisdiction": "VN",
    "consents": {},
    "agreements": {PURPOSE: "HD-2026-0001"},
    "registered_at": "2026-12-01T08:00:00+00:00",
    "updated_at": "2026-12-01T08:00:00+00:00",
    "purpose": PURPOSE,
    "personal": {
        "full_name": "Nguyễn Văn An",
        "phone": "0912 345 678",
        "email": "an@example.vn",
        "postal_address": "12 Phố Huế, Quận Hoàn Kiếm, Hà Nội",
        "date_of_birth": "1990-04-30",
    },
}


def bare_app() -> Any:
    from fastapi import FastAPI

    app = FastAPI()

    @app.get("/bare/{item_id}")
    def bare(item_id: str, purpose: str) -> dict[str, Any]:
        return BARE_DOCUMENT

    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--postgres", default=DEFAULT_POSTGRES)
    parser.add_argument("--customers", type=int, default=200)
    parser.add_argument("--rate", type=float, default=200.0)
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument(
        "--server-setting",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="an environment variable for the served processes, e.g. "
        "LEDGERCRM_SERVE_PROJECTIONS=false",
    )
    parser.add_argument(
        "--apart",
        action="store_true",
        help="run the projection runners (`ledgercrm projections run`) and the "
        "ledger integrator (`ledgercrm ledger integrate`) in processes of their "
        "own beside `serve --no-projections`; the CPU per request counts all three",
    )
    arguments = parser.parse_args()
    with (
        tempfile.TemporaryDirectory() as folder,
        database(arguments.backend, arguments.postgres) as url,
    ):
        settings = load_settings(data_dir=Path(folder) / "var", database_url=url)
        create_wrapping_key_file(settings.key_file)
        create_signing_key(settings.signing_key_file, settings.ledger_origin)
        token, ids = prepare(settings, arguments.customers)
        environment = {
            **os.environ,
            "LEDGERCRM_DATA_DIR": str(settings.data_dir),
            "LEDGERCRM_DATABASE_URL": url,
            "LEDGERCRM_LOG_LEVEL": "warning",
            # One token plays every client here: lift its per-token abuse limits
            # (rate limit, bulk-read alert), which would otherwise answer 429.
            "LEDGERCRM_RATE_LIMIT_PER_MINUTE": "100000000",
            "LEDGERCRM_BULK_READ_CUSTOMERS": "100000000",
            **dict(a.split("=", 1) for a in arguments.server_setting),
        }
        crm_port, bare_port = free_port(), free_port()
        crm = f"http://127.0.0.1:{crm_port}"
        bare = f"http://127.0.0.1:{bare_port}"
        headers = {"Authorization": f"Bearer {token}"}
        crm_paths = [f"/v1/customers/{i}?purpose={PURPOSE}" for i in ids]
        bare_paths = [f"/bare/{i}?purpose={PURPOSE}" for i in ids]
        print(
            f"\n{arguments.backend}: {arguments.customers} customers; uvicorn on "
            "loopback, one server process at a time; load average "
            f"{os.getloadavg()[0]:.1f}"
        )
        serve = ["-m", "api", "serve"] + (
            ["--no-projections"] if arguments.apart else []
        )
        subjects = (
            ("read a customer", serve, crm_port, crm, crm_paths),
            (
                "bare FastAPI",
                [
                    *("-m", "uvicorn", "--factory", "bench.api:bare_app"),
                    *("--port", str(bare_port), "--log-level", "warning"),
                ],
                bare_port,
                bare,
                bare_paths,
            ),
        )
        rates = {}
        for name, command, port, base, paths in subjects:
            with (
                helpers(
                    arguments.apart and name == "read a customer", environment
                ) as helper_pids,
                server(command, port, environment, base, headers) as process,
            ):
                pids = [process.pid, *helper_pids]
                warm_up(base, paths, headers)
                latencies = open_loop(base, paths, headers, arguments)
                p50, p99 = percentile(latencies, 50), percentile(latencies, 99)
                print(
                    f"{name:<16} at {arguments.rate:.0f}/s for {arguments.seconds:.0f}"
                    f" s: p50 {p50:6.1f} ms   p90 {percentile(latencies, 90):6.1f} ms"
                    f"   p99 {p99:6.1f} ms   max {max(latencies):6.1f} ms"
                )
                time.sleep(2)  # let the background work settle
                cpu_before, started = cpu_seconds(*pids), time.perf_counter()
                rates[name] = closed_loop(base, paths, headers, arguments)
                cpu = cpu_seconds(*pids) - cpu_before
                requests = rates[name] * (time.perf_counter() - started)
                print(
                    f"{name:<16} {arguments.clients} clients: "
                    f"{rates[name]:7,.0f} requests/s, server CPU "
                    f"{cpu / requests * 1000:.2f} ms per request"
                )
        ratio = rates["read a customer"] / rates["bare FastAPI"]
        print(f"{'throughput ratio':<16} {ratio:.0%} of the bare endpoint")


def cpu_seconds(*pids: int) -> float:
    """User and system CPU time the processes used so far (Linux /proc)."""
    total = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


@contextmanager
def helpers(start: bool, environment: dict[str, str]) -> Iterator[list[int]]:
    """With `start`, the projection runners and the ledger integrator in processes
    of their own, started before the server so that it leaves both to them."""
    if not start:
        yield []
        return
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "api", *command],
            env={**environment, "PYTHONPATH": str(ROOT)},
            cwd=ROOT,
        )
        for command in (["projections", "run"], ["ledger", "integrate"])
    ]
    try:
        time.sleep(3)  # the integrator takes the ledger's lock before serve starts
        for process in processes:
            if process.poll() is not None:
                raise SystemExit(f"{process.args} stopped: {process.returncode}")
        yield [process.pid for process in processes]
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=30)


@contextmanager
def database(backend: str, admin_url: str) -> Iterator[str]:
    if backend == "sqlite":
        yield ""
        return
    name = f"ledgercrm_bench_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        try:
            yield f"{admin_url.rsplit('/', 1)[0]}/{name}"
        finally:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def prepare(settings: Any, customers: int) -> tuple[str, list[str]]:
    services = open_services(settings)
    try:
        crm = services.crm
        crm.define_purpose(
            ADMIN, PURPOSE, "Chăm sóc", "Care", "agreement", [("c", "basic")], 365
        )
        ids = [
            str(
                crm.register_customer(
                    SALES,
                    PersonalDetails(
                        f"Nguyễn Văn An {n}",
                        f"0912 345 {n % 1000:03d}",
                        f"an{n}@example.vn",
                        "12 Phố Huế, Quận Hoàn Kiếm, Hà Nội",
                        "1990-04-30",
                    ),
                    CustomerProfile(stage="customer", owner="Trần Thu Hà"),
                    agreements=[AgreementCapture(PURPOSE, f"HD-2026-{n:04d}")],
                ).id
            )
            for n in range(customers)
        ]
        for runner in services.runners:
            runner.catch_up()
        _, token = services.access.create("sales", "bench-sales")
    finally:
        services.close()
    return token, ids


@contextmanager
def server(
    arguments: list[str],
    port: int,
    environment: dict[str, str],
    base: str,
    headers: dict[str, str],
) -> Iterator[subprocess.Popen[bytes]]:
    process = subprocess.Popen(
        [sys.executable, *arguments],
        env={**environment, "LEDGERCRM_PORT": str(port), "PYTHONPATH": str(ROOT)},
        cwd=ROOT,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(base + "/healthz", headers=headers, timeout=2)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise SystemExit(f"the server {arguments} did not start") from None
                time.sleep(0.2)
        yield process
    finally:
        process.terminate()
        process.wait(timeout=30)


class Client:
    """A keep-alive HTTP/1.1 client from the standard library: lighter than httpx,
    so that the load generator takes less of the CPU it shares with the server."""

    def __init__(self, base: str, headers: dict[str, str]) -> None:
        host, port = base.removeprefix("http://").split(":")
        self.connection = http.client.HTTPConnection(host, int(port), timeout=30)
        self.headers = headers

    def get(self, path: str) -> tuple[int, bytes]:
        self.connection.request("GET", path, headers=self.headers)
        answer = self.connection.getresponse()
        return answer.status, answer.read()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.connection.close()


def warm_up(base: str, paths: list[str], headers: dict[str, str]) -> None:
    with Client(base, headers) as client:
        for path in paths[:100]:
            status, body = client.get(path)
            if status != 200:
                raise SystemExit(f"{path} answered {status}: {body!r}")


def open_loop(
    base: str, paths: list[str], headers: dict[str, str], arguments: Any
) -> list[float]:
    """Latencies (ms) of requests due every 1/rate s, from when each was due."""
    count = int(arguments.rate * arguments.seconds)
    interval, latencies, lock = 1.0 / arguments.rate, [], threading.Lock()
    next_index = iter(range(count))
    start = time.perf_counter() + 0.1

    def worker() -> None:
        with Client(base, headers) as client:
            while True:
                with lock:
                    index = next(next_index, None)
                if index is None:
                    return
                due = start + index * interval
                time.sleep(max(0.0, due - time.perf_counter()))
                status, body = client.get(paths[index % len(paths)])
                latency = (time.perf_counter() - due) * 1000
                if status != 200:
                    raise SystemExit(f"answered {status}: {body!r}")
                with lock:
                    latencies.append(latency)

    run_threads(worker, 16)
    return latencies


def closed_loop(
    base: str, paths: list[str], headers: dict[str, str], arguments: Any
) -> float:
    """Requests per second that `clients` clients, each waiting for its answer
    before sending the next, get through."""
    done, lock = [0], threading.Lock()
    stop_at = time.perf_counter() + arguments.seconds

    def worker() -> None:
        with Client(base, headers) as client:
            number = 0
            while time.perf_counter() < stop_at:
                status, body = client.get(paths[number % len(paths)])
                if status != 200:
                    raise SystemExit(f"answered {status}: {body!r}")
                number += 1
            with lock:
                done[0] += number

    started = time.perf_counter()
    run_threads(worker, arguments.clients)
    return done[0] / (time.perf_counter() - started)


def run_threads(target: Any, count: int) -> None:
    """Runs `target` in `count` threads; a failure in any stops the benchmark
    with its message instead of dying silently with its thread."""
    failures: list[BaseException] = []

    def guarded() -> None:
        try:
            target()
        except BaseException as failure:  # SystemExit too: it carries the answer
            failures.append(failure)

    threads = [threading.Thread(target=guarded) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        raise SystemExit(f"a load thread failed: {failures[0]}")


def percentile(values: list[float], percent: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(percent) - 1]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


if __name__ == "__main__":
    main()
