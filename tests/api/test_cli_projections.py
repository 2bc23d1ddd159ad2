"""`ledgercrm projections run|status|rebuild` and `serve --no-projections`, as real
processes on the backend under test."""

import json
import os
import signal
import subprocess
import sys
import time
from typing import Any

import httpx

from api.settings import Settings
from api.wiring import Services
from tests.api.test_cli import free_port
from tests.projections.test_runner import register_customers, stored_customers


def environment(settings: Settings, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "LEDGERCRM_DATA_DIR": str(settings.data_dir),
        "LEDGERCRM_DATABASE_URL": settings.database_url,
        **extra,
    }


def ledgercrm(settings: Settings, *arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "api", *arguments],
        env=environment(settings),
        capture_output=True,
        text=True,
        timeout=120,
    )


def start(settings: Settings, *arguments: str, **extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "api", *arguments],
        env=environment(settings, **extra),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_status_shows_each_projection_position_head_and_lag(
    services: Services,
) -> None:
    register_customers(services, 3)
    services.erasure_runner.catch_up()
    head = services.runner.head()

    text = ledgercrm(services.settings, "projections", "status")
    as_json = ledgercrm(services.settings, "projections", "status", "--json")

    assert text.returncode == 0, text.stderr
    lines = text.stdout.splitlines()
    assert lines[0].split() == ["projection", "position", "head", "lag"]
    assert lines[1].split() == ["customers_by_id", "0", str(head), str(head)]
    assert lines[2].split() == ["erasures", str(head), str(head), "0"]
    status = json.loads(as_json.stdout)
    assert status["head"] == head
    assert status["projections"][0] == {
        "name": "customers_by_id",
        "position": 0,
        "head": head,
        "lag": head,
    }


def test_rebuild_rebuilds_the_named_projection_and_reports_its_position(
    services: Services,
) -> None:
    register_customers(services, 4)
    services.runner.catch_up()

    rebuilt = ledgercrm(services.settings, "projections", "rebuild", "customers_by_id")
    unknown = ledgercrm(services.settings, "projections", "rebuild", "nonsense")

    assert rebuilt.returncode == 0, rebuilt.stderr
    head = services.runner.head()
    assert f"rebuilt customers_by_id up to position {head}" in rebuilt.stdout
    assert "customers_by_id" in rebuilt.stderr  # the progress bar
    assert stored_customers(services) == 4
    assert unknown.returncode == 2
    assert "known: customers_by_id, erasures" in unknown.stderr


def test_projections_run_keeps_read_models_up_to_date_until_terminated(
    services: Services,
) -> None:
    runner = start(services.settings, "projections", "run")
    try:
        register_customers(services, 3)
        reached = services.runner.wait_for(services.runner.head(), timeout=60)
    finally:
        runner.send_signal(signal.SIGTERM)
        _, log = runner.communicate(timeout=60)

    assert reached, log
    assert runner.returncode == 0, log
    assert stored_customers(services) == 3
    assert "projection customers_by_id stopped" in log


def test_serve_without_projections_reads_its_writes_once_a_runner_catches_up(
    services: Services,
) -> None:
    port = free_port()
    _, token = services.access.create("sales", "seller")
    services.access.create("admin", "boss")
    register_customers(services, 1)  # defines the purpose `care`
    server = start(
        services.settings,
        "serve",
        "--no-projections",
        LEDGERCRM_PORT=str(port),
        LEDGERCRM_READ_WAIT_SECONDS="1",
    )
    runner = None
    try:
        base, headers = f"http://127.0.0.1:{port}", {"Authorization": f"Bearer {token}"}
        wait_until_up(base, headers)
        written = httpx.post(
            f"{base}/v1/customers",
            headers=headers,
            json=registration(),
            timeout=30,
        ).json()
        query = {"purpose": "care", "after_position": written["position"]}
        url = f"{base}/v1/customers/{written['id']}"

        behind = httpx.get(url, headers=headers, params=query, timeout=30)
        runner = start(services.settings, "projections", "run")
        caught_up = retry_while_behind(url, headers, query)
    finally:
        for process in (server, runner):
            if process is not None:
                process.send_signal(signal.SIGTERM)
                process.communicate(timeout=60)

    assert behind.status_code == 503
    assert behind.headers["Retry-After"]
    assert behind.json()["error"]["code"] == "read_side_behind"
    assert caught_up.status_code == 200, caught_up.text
    assert caught_up.json()["personal"]["full_name"] == "Trần Thị Bình"


def registration() -> dict[str, Any]:
    return {
        "full_name": "Trần Thị Bình",
        "agreements": [{"purpose_code": "care", "agreement_ref": "HD-9"}],
    }


def retry_while_behind(
    url: str, headers: dict[str, str], query: dict[str, Any]
) -> httpx.Response:
    """As a client should: again after Retry-After while the answer is 503."""
    deadline = time.monotonic() + 60
    while True:
        answer = httpx.get(url, headers=headers, params=query, timeout=30)
        if answer.status_code != 503 or time.monotonic() > deadline:
            return answer
        time.sleep(float(answer.headers["Retry-After"]))


def wait_until_up(base: str, headers: dict[str, str]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/healthz", headers=headers).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise AssertionError("the server did not come up")
