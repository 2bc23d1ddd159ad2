"""A runner process killed in the middle of a batch, and a runner whose database
connection is cut: neither applies an event twice nor skips one."""

import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import psycopg
import pytest

from api.settings import Settings
from api.wiring import Services, open_services
from projections.positions import table
from tests.projections.test_runner import (
    listening,
    register_customers,
    stored_customers,
)

RUNNER_PROCESS = Path(__file__).with_name("runner_process.py")
ROOT = Path(__file__).resolve().parents[2]
BATCH = 100


def start_runner(
    settings: Settings, pause_after: int, marker: Path
) -> subprocess.Popen[bytes]:
    environment = {
        **os.environ,
        "LEDGERCRM_DATA_DIR": str(settings.data_dir),
        "LEDGERCRM_DATABASE_URL": settings.database_url,
        "PYTHONPATH": str(ROOT),
    }
    return subprocess.Popen(
        [sys.executable, str(RUNNER_PROCESS), str(BATCH), str(pause_after), marker],
        env=environment,
        stderr=subprocess.PIPE,
    )


def wait_for_file(path: Path, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while not path.exists():
        if process.poll() is not None:
            pytest.fail(f"the runner exited early: {process.stderr.read()!r}")  # type: ignore[union-attr]
        assert time.monotonic() < deadline, "the runner never reached its pause"
        time.sleep(0.05)


def applied_positions(services: Services) -> Counter[int]:
    applied = table(services.read_models.dialect, "applied_events")
    with services.read_models.transaction() as cursor:
        cursor.execute(f"SELECT position FROM {applied}")
        return Counter(int(row[0]) for row in cursor.fetchall())


def notification_ids(services: Services) -> list[int]:
    head = services.crm.recorder.max_notification_id() or 0
    notifications = services.crm.recorder.select_notifications(start=1, limit=head)
    return [n.id for n in notifications]


def test_a_runner_killed_mid_batch_applies_every_event_exactly_once(
    services: Services, tmp_path: Path
) -> None:
    register_customers(services, 150)  # 301 events: three batches and a bit
    marker = tmp_path / "paused"
    killed = start_runner(services.settings, pause_after=2 * BATCH + 40, marker=marker)
    wait_for_file(marker, killed)
    killed.send_signal(signal.SIGKILL)
    killed.wait(timeout=30)
    ids = notification_ids(services)

    after_kill = applied_positions(services)
    position_after_kill = services.runner.position()

    finished = start_runner(services.settings, pause_after=0, marker=marker)
    _, errors = finished.communicate(timeout=120)
    assert finished.returncode == 0, errors
    assert killed.returncode == -signal.SIGKILL
    assert int(marker.read_text()) == ids[2 * BATCH + 39], "paused mid third batch"
    assert position_after_kill == ids[2 * BATCH - 1], "two whole batches committed"
    assert after_kill == Counter(ids[: 2 * BATCH]), "nothing of the third batch"
    assert applied_positions(services) == Counter(ids), "each event exactly once"
    assert services.runner.position() == ids[-1]
    assert stored_customers(services) == 150


@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
def test_a_runner_whose_connections_are_terminated_reconnects_and_resumes(
    settings: Settings,
) -> None:
    runner_side = open_services(settings)
    stop = threading.Event()
    runner_side.runner.poll_seconds = 0.1
    thread = threading.Thread(target=runner_side.runner.run, args=(stop,))
    thread.start()
    try:
        register_customers(runner_side, 5)
        assert runner_side.runner.wait_for(runner_side.runner.head(), timeout=30)

        terminated = terminate_backends(settings.database_url)
        writer = open_services(settings)  # a fresh process's worth of connections
        try:
            register_customers(writer, 5)
            head = writer.runner.head()
        finally:
            writer.close()

        assert terminated > 0
        assert runner_side.runner.wait_for(head, timeout=60)
        assert stored_customers(runner_side) == 10
        assert thread.is_alive()
    finally:
        stop.set()
        runner_side.runner.news.set()
        thread.join(timeout=30)
        runner_side.close()


@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
def test_the_events_listener_reconnects_after_its_connection_is_terminated(
    services: Services,
) -> None:
    with listening(services) as news:
        assert terminate_backends(services.settings.database_url, listeners=True)
        assert news.wait(30), "it announces itself again once reconnected"
        news.clear()
        writer = open_services(services.settings)
        try:
            register_customers(writer, 1)
        finally:
            writer.close()

        assert news.wait(10), "and hears of new events again"


def terminate_backends(database_url: str, *, listeners: bool = False) -> int:
    """Cuts every other connection to the test's database, as a failover would;
    with `listeners`, only those waiting on LISTEN."""
    query = (
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
        "WHERE datname = current_database() AND pid <> pg_backend_pid()"
    )
    if listeners:
        query += " AND query LIKE 'LISTEN%%'"
    with psycopg.connect(database_url, autocommit=True) as connection:
        row = connection.execute(query).fetchone()
    return int(row[0]) if row else 0
