"""What the access log and request metrics cost a request, against the same app.

Serves `GET /v1/purposes` in-process (FastAPI TestClient, SQLite), with a token
checked and rate-limited both times: once with the `AccessLog` middleware removed
(the reference), once as deployed. Prints requests per second and the ratio.

    .venv/bin/python bench/request_overhead.py [--requests 2000]
"""

import argparse
import asyncio
import logging
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from fastapi import FastAPI

from api.app import create_app
from api.monitoring import AccessLog
from api.settings import load_settings
from api.wiring import Services, open_services
from crypto_shredding import create_wrapping_key_file
from ledger import create_signing_key

ROUNDS = 7


async def serve_requests(app: FastAPI, token: str, requests: int) -> float:
    """Requests per second, calling the ASGI app directly (no client overhead)."""
    scope: dict[str, Any] = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": "/v1/purposes",
        "raw_path": b"/v1/purposes",
        "query_string": b"",
        "root_path": "",
        "headers": [(b"authorization", f"Bearer {token}".encode())],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
    }
    statuses: list[int] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            statuses.append(message["status"])

    started = time.perf_counter()
    for _ in range(requests):
        await app(dict(scope), receive, send)
    elapsed = time.perf_counter() - started
    assert set(statuses) == {200}, set(statuses)
    return requests / elapsed


def without_access_log(services: Services) -> FastAPI:
    app = create_app(services, run_background_work=False)
    app.user_middleware = [m for m in app.user_middleware if m.cls is not AccessLog]
    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=1000)
    requests = parser.parse_args().requests
    access = logging.getLogger("api.access")
    access.addHandler(logging.NullHandler())
    access.setLevel(logging.INFO)  # the lines are formatted, then dropped
    access.propagate = False
    with tempfile.TemporaryDirectory() as folder:
        settings = load_settings(data_dir=Path(folder), rate_limit_per_minute=10**9)
        create_wrapping_key_file(settings.key_file)
        create_signing_key(settings.signing_key_file, settings.ledger_origin)
        services = open_services(settings)
        try:
            _, token = services.access.create("auditor", "bench")
            apps = {
                "reference": without_access_log(services),
                "deployed": create_app(services, run_background_work=False),
            }
            rates: dict[str, list[float]] = {name: [] for name in apps}
            for _ in range(ROUNDS):  # interleaved, so load changes hit both alike
                for name, app in apps.items():
                    rates[name].append(
                        asyncio.run(serve_requests(app, token, requests))
                    )
        finally:
            services.close()
    reference = statistics.median(rates["reference"])
    deployed = statistics.median(rates["deployed"])
    print(f"{requests} requests x {ROUNDS} interleaved rounds, medians:")
    print(f"reference, token checked, no access log: {reference:8.0f} req/s  1.00")
    print(
        f"with access log and request metrics:     {deployed:8.0f} req/s  "
        f"{deployed / reference:.2f}"
    )


if __name__ == "__main__":
    main()
