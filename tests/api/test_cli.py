"""The `ledgercrm` command, run as a real process."""

import os
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from api.settings import load_settings
from api.wiring import open_services


def ledgercrm(
    data_dir: Path, *arguments: str, **env: str
) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "LEDGERCRM_DATA_DIR": str(data_dir), **env}
    environment.pop("LEDGERCRM_DATABASE_URL", None)
    environment.update(env)
    return subprocess.run(
        [sys.executable, "-m", "api", *arguments],
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )


def admin_token(output: str) -> str:
    return next(w for w in output.split() if w.startswith("lcrm_"))


def test_init_creates_a_private_key_file_and_prints_an_admin_token_once(
    tmp_path: Path,
) -> None:
    data_dir = tmp_path / "var"

    first = ledgercrm(data_dir, "init")
    again = ledgercrm(data_dir, "init")
    quiet = ledgercrm(data_dir, "init", "--if-needed")

    assert first.returncode == 0, first.stderr
    assert admin_token(first.stdout)
    key_file = data_dir / "wrapping_key.json"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert again.returncode == 1 and "already initialised" in again.stderr
    assert quiet.returncode == 0 and "lcrm_" not in quiet.stdout


def test_files_the_command_creates_are_readable_by_their_owner_only(
    tmp_path: Path,
) -> None:
    data_dir = tmp_path / "var"

    ledgercrm(data_dir, "init", "--demo")

    loose = [
        path.name
        for path in data_dir.iterdir()
        if stat.S_IMODE(path.stat().st_mode) & 0o077
    ]
    assert loose == []


def test_token_create_refuses_an_unknown_role_and_names_the_roles(
    tmp_path: Path,
) -> None:
    data_dir = tmp_path / "var"
    ledgercrm(data_dir, "init")

    refused = ledgercrm(data_dir, "token", "create", "--role", "boss", "--name", "x")
    created = ledgercrm(data_dir, "token", "create", "--role", "sales", "--name", "an")

    assert refused.returncode == 2
    assert "admin, sales, manager, auditor, dpo" in refused.stderr
    assert created.returncode == 0 and admin_token(created.stdout)


def test_a_malformed_setting_stops_the_command_naming_the_variable(
    tmp_path: Path,
) -> None:
    result = ledgercrm(tmp_path / "var", "serve", LEDGERCRM_PORT="eighty")

    assert result.returncode == 2
    assert "LEDGERCRM_PORT" in result.stderr


def test_a_database_url_is_never_echoed_in_a_settings_error(tmp_path: Path) -> None:
    result = ledgercrm(
        tmp_path / "var", "serve", LEDGERCRM_DATABASE_URL="mysql://u:hunter2@db/x"
    )

    assert result.returncode == 2
    assert "LEDGERCRM_DATABASE_URL" in result.stderr
    assert "hunter2" not in result.stderr


def test_serve_without_init_says_to_run_init(tmp_path: Path) -> None:
    result = ledgercrm(tmp_path / "var", "serve")

    assert result.returncode == 2
    assert "ledgercrm init" in result.stderr


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.mark.requirement("ROLE-ACCESS")
def test_serve_answers_on_loopback_with_the_demo_data(tmp_path: Path) -> None:
    data_dir, port = tmp_path / "var", free_port()
    token = admin_token(ledgercrm(data_dir, "init", "--demo").stdout)
    environment = {
        **os.environ,
        "LEDGERCRM_DATA_DIR": str(data_dir),
        "LEDGERCRM_PORT": str(port),
    }
    environment.pop("LEDGERCRM_DATABASE_URL", None)
    server = subprocess.Popen(
        [sys.executable, "-m", "api", "serve"],
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        purposes = wait_for_answer(f"http://127.0.0.1:{port}/v1/purposes", token)
        for _ in range(100):  # the purposes read model catches up just after start
            if purposes.json():
                break
            time.sleep(0.1)
            purposes = wait_for_answer(f"http://127.0.0.1:{port}/v1/purposes", token)
        anonymous = httpx.get(f"http://127.0.0.1:{port}/v1/purposes")
    finally:
        server.terminate()
        _, log = server.communicate(timeout=30)

    assert {p["code"] for p in purposes.json()} == {"marketing-email", "customer-care"}
    assert anonymous.status_code == 401
    assert b"Nguy" not in log  # the server log holds no demo names


def wait_for_answer(url: str, token: str, **options: Any) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"}
    for _ in range(100):
        try:
            return httpx.get(url, headers=headers, timeout=2, **options)
        except httpx.TransportError:
            time.sleep(0.1)
    raise AssertionError(f"nothing answered at {url}")


def wait_for_file(path: Path, process: subprocess.Popen[bytes]) -> None:
    for _ in range(300):
        if path.exists() or process.poll() is not None:
            return
        time.sleep(0.05)


@pytest.mark.requirement("PROCESSING-LOG")
def test_ledger_integrate_export_and_offline_verification(tmp_path: Path) -> None:
    data_dir, export_dir = tmp_path / "var", tmp_path / "export"
    ledgercrm(data_dir, "init", "--demo")
    vkey = ledgercrm(data_dir, "ledger", "vkey").stdout.strip()
    environment = {**os.environ, "LEDGERCRM_DATA_DIR": str(data_dir)}
    environment.pop("LEDGERCRM_DATABASE_URL", None)
    integrator = subprocess.Popen(
        [sys.executable, "-m", "api", "ledger", "integrate"],
        env=environment,
        stderr=subprocess.PIPE,
    )
    try:
        wait_for_file(data_dir / "ledger_checkpoint.latest", integrator)
        second = ledgercrm(data_dir, "ledger", "integrate")
    finally:
        integrator.terminate()
        integrator.communicate(timeout=30)

    exported = ledgercrm(data_dir, "ledger", "export", str(export_dir), "--quiet")
    verified = subprocess.run(
        [sys.executable, "-m", "ledger.verify", str(export_dir), "--vkey", vkey],
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert integrator.returncode == 0
    assert second.returncode == 2 and "another ledger integrator" in second.stderr
    assert exported.returncode == 0, exported.stderr
    assert verified.returncode == 0, verified.stdout
    assert b"Nguy" not in b"".join(
        p.read_bytes() for p in export_dir.rglob("*") if p.is_file()
    )


def test_replay_prints_a_customers_state_without_personal_fields(
    tmp_path: Path,
) -> None:
    data_dir = tmp_path / "var"
    ledgercrm(data_dir, "init", "--demo")
    services = open_services(load_settings(data_dir=data_dir))
    try:
        services.runner.catch_up()
        customer = services.customers.customers(services.read_models, limit=1)[0]
    finally:
        services.close()

    result = ledgercrm(data_dir, "replay", str(customer.customer_id))
    too_early = ledgercrm(
        data_dir, "replay", str(customer.customer_id), "--as-of", "2000-01-01"
    )

    assert result.returncode == 0, result.stderr
    assert f'"id": "{customer.customer_id}"' in result.stdout
    assert '"personal": null' in result.stdout
    assert "Nguy" not in result.stdout and "@example.vn" not in result.stdout
    assert too_early.returncode == 2 and "no customer" in too_early.stderr


def test_replay_at_a_notification_position(tmp_path: Path) -> None:
    data_dir = tmp_path / "var"
    ledgercrm(data_dir, "init", "--demo")
    services = open_services(load_settings(data_dir=data_dir))
    try:
        services.runner.catch_up()
        customer = services.customers.customers(services.read_models, limit=1)[0]
    finally:
        services.close()

    at_registration = ledgercrm(
        data_dir,
        "replay",
        str(customer.customer_id),
        "--as-of-position",
        str(customer.position),
    )

    assert at_registration.returncode == 0, at_registration.stderr
    assert f'"as_of_position": {customer.position}' in at_registration.stdout
    assert '"personal": null' in at_registration.stdout
