"""Purpose-bound reads per second over a real uvicorn: reads recorded one commit
each (the reference) against reads recorded in shared transactions, same run.

    .venv/bin/python bench/reads.py                      # SQLite
    .venv/bin/python bench/reads.py --postgres URL URL   # two empty databases
"""

import argparse
import socket
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import uvicorn

from api.app import create_app
from api.demo import load_demo
from api.settings import load_settings
from api.wiring import Services, open_services
from crypto_shredding import create_wrapping_key_file
from domain import Written
from ledger import create_signing_key


class OneCommitPerRead:
    """The reference: every read recorded in its own transaction."""

    def __init__(self, services: Services) -> None:
        self.crm = services.crm

    def record(self, *read: Any) -> Written:
        return self.crm.record_personal_data_read(*read)


def deployment(database_url: str) -> Services:
    data_dir = Path(tempfile.mkdtemp()) / "var"
    settings = load_settings(data_dir=data_dir, database_url=database_url)
    create_wrapping_key_file(settings.key_file)
    create_signing_key(settings.signing_key_file, settings.ledger_origin)
    services = open_services(settings)
    load_demo(services.crm)
    for runner in services.runners:
        runner.catch_up()
    return services


def reads_per_second(
    services: Services, grouped: bool, clients: int, reads: int
) -> float:
    if not grouped:
        services.__dict__["read_log"] = OneCommitPerRead(services)
    _, token = services.access.create("sales", "bench")
    customer = next(
        row
        for row in services.customers.customers(services.read_models, limit=100)
        if row.has_basis_for("customer-care")
    )
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = uvicorn.Config(create_app(services), port=port, log_level="error")
    server = uvicorn.Server(config)
    serving = threading.Thread(target=server.run)
    serving.start()
    while not server.started:
        time.sleep(0.05)
    url = f"http://127.0.0.1:{port}/v1/customers/{customer.customer_id}"
    headers = {"Authorization": f"Bearer {token}"}

    failures: list[str] = []

    def client() -> None:
        with httpx.Client(headers=headers) as http:
            for _ in range(reads):
                answer = http.get(url, params={"purpose": "customer-care"})
                if answer.status_code != 200:
                    failures.append(answer.text)

    started = time.perf_counter()
    workers = [threading.Thread(target=client) for _ in range(clients)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    rate = clients * reads / (time.perf_counter() - started)
    server.should_exit = True
    serving.join()
    if failures:
        raise SystemExit(f"{len(failures)} reads failed, such as {failures[0]}")
    return rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--postgres", nargs=2, metavar="URL", default=["", ""])
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--reads", type=int, default=150, help="per client")
    arguments = parser.parse_args()
    rates = {}
    for grouped, url in zip((False, True), arguments.postgres, strict=True):
        services = deployment(url)
        try:
            rates[grouped] = reads_per_second(
                services, grouped, arguments.clients, arguments.reads
            )
        finally:
            services.close()
    backend = "PostgreSQL" if arguments.postgres[0] else "SQLite"
    print(
        f"{backend}, {arguments.clients} clients: one commit per read "
        f"{rates[False]:.0f} reads/s, shared transactions {rates[True]:.0f} reads/s, "
        f"ratio {rates[True] / rates[False]:.2f}"
    )


if __name__ == "__main__":
    main()
