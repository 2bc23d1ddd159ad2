"""The full ledger self-audit that `serve` runs on a schedule."""

import logging
import sqlite3
import time

import psycopg
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.monitoring import Metrics
from api.security import SecurityOps
from api.settings import Settings
from api.wiring import Services, open_services
from domain import Actor
from domain.security import security_events
from tests.api.security_support import reconfigured


def some_events(services: Services, count: int = 3) -> None:
    for number in range(count):
        services.crm.define_purpose(
            Actor("u-admin", "admin"), f"purpose-{number}", "Mục đích", "Purpose",
            "consent", [("email", "basic")], 30,
        )  # fmt: skip


def sign_the_ledger(services: Services) -> None:
    with services.ledger_integrator() as integrator:
        integrator.run_once()
        integrator.sign_ledger_checkpoint()


def rewrite_an_entry(settings: Settings) -> None:
    """What an intruder with database access might do, triggers off."""
    statement = "UPDATE {ledger}entries SET entry = %s WHERE leaf_index = 1"
    forged = b'{"format":"forged"}'
    if settings.uses_postgres:
        with psycopg.connect(settings.database_url, autocommit=True) as connection:
            connection.execute("SET session_replication_role = replica")
            connection.execute(statement.format(ledger="ledger."), (forged,))  # type: ignore[arg-type]
        return
    with sqlite3.connect(settings.data_dir / "ledger.sqlite3") as connection:
        connection.execute("DROP TRIGGER entries_append_only")
        connection.execute(statement.format(ledger="").replace("%s", "?"), (forged,))


@pytest.mark.requirement("PROCESSING-LOG")
def test_an_intact_ledger_passes_and_the_result_is_recorded(services: Services) -> None:
    some_events(services)
    sign_the_ledger(services)
    metrics = Metrics()

    result = SecurityOps(services, metrics).run_ledger_audit()

    assert result.ok and result.tree_size == 3
    (recorded,) = security_events(services.crm, "ledger-audit")
    assert recorded.details["result"] == "pass"
    assert metrics.registry.get_sample_value("ledgercrm_ledger_audit_ok") == 1


@pytest.mark.requirement("PROCESSING-LOG")
def test_a_rewritten_ledger_entry_fails_with_an_error_line_and_a_metric(
    services: Services, caplog: pytest.LogCaptureFixture
) -> None:
    some_events(services)
    sign_the_ledger(services)
    rewrite_an_entry(services.settings)
    metrics = Metrics()

    with caplog.at_level(logging.ERROR):
        result = SecurityOps(services, metrics).run_ledger_audit()

    assert not result.ok and result.problem
    (recorded,) = security_events(services.crm, "ledger-audit")
    assert recorded.details["result"] == "fail"
    assert metrics.registry.get_sample_value("ledgercrm_ledger_audit_ok") == 0
    assert (
        metrics.registry.get_sample_value(
            "ledgercrm_ledger_audits_total", {"result": "fail"}
        )
        == 1
    )
    assert any(
        r.levelno == logging.ERROR and "ledger audit FAILED" in r.getMessage()
        for r in caplog.records
    )


def test_the_audit_of_an_unsigned_ledger_passes_with_nothing_to_check(
    services: Services,
) -> None:
    result = SecurityOps(services, Metrics()).run_ledger_audit()

    assert result.ok and result.tree_size == 0


def test_serve_audits_the_ledger_on_its_schedule(settings: Settings) -> None:
    frequent = reconfigured(settings, ledger_audit_interval_hours=0.0001)  # 0.36 s
    opened = open_services(frequent)
    try:
        with TestClient(create_app(opened)):
            deadline = time.monotonic() + 30
            while not security_events(opened.crm, "ledger-audit"):
                assert time.monotonic() < deadline, "no scheduled audit ran"
                time.sleep(0.1)
        audits = security_events(opened.crm, "ledger-audit")
    finally:
        opened.close()

    assert audits[0].details["result"] == "pass"
