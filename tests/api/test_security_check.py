"""`ledgercrm security check`: each control passes or fails for the right reason."""

import json
import os
import sqlite3
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from api.cli import main
from api.monitoring import Metrics
from api.postgres_roles import service_role_statements
from api.security import SecurityOps
from api.security_check import (
    SecurityReport,
    event_table_grants,
    events_table,
    security_check,
)
from api.settings import Settings
from api.wiring import Services, open_services
from domain import Actor, AgreementCapture, CustomerProfile, PersonalDetails
from domain.security import security_events
from tests.api.security_support import reconfigured
from tests.conftest import ADMIN_CONNINFO


def statuses(report: SecurityReport, check: str) -> set[str]:
    return {f.status for f in report.findings if f.check == check}


def details(report: SecurityReport, check: str) -> str:
    return " | ".join(f.detail for f in report.findings if f.check == check)


def define_a_purpose(services: Services) -> None:
    services.crm.define_purpose(
        Actor("u-admin", "admin"), "newsletter", "Bản tin", "Newsletter", "consent",
        [("email", "basic")], 30,
    )  # fmt: skip


def register_a_customer(services: Services) -> None:
    actor = Actor("u-admin", "admin")
    services.crm.define_purpose(
        actor, "service", "Dịch vụ", "Service", "agreement", [("contact", "basic")], 30
    )
    services.crm.register_customer(
        Actor("u-sales", "sales"),
        PersonalDetails("Phạm Văn D"),
        CustomerProfile(),
        agreements=[AgreementCapture("service", "contract-9")],
    )


def sign_the_ledger(services: Services) -> None:
    with services.ledger_integrator() as integrator:
        integrator.run_once()
        integrator.sign_ledger_checkpoint()


@pytest.fixture
def backed_up(settings: Settings, tmp_path: Path) -> Iterator[Services]:
    """A deployment whose backup job reported a backup just now."""
    status = tmp_path / "backup.ok"
    status.write_text("ok")
    opened = open_services(reconfigured(settings, backup_status_file=status))
    try:
        yield opened
    finally:
        opened.close()


def test_a_world_readable_key_file_fails_the_check(backed_up: Services) -> None:
    backed_up.settings.key_file.chmod(0o644)

    report = security_check(backed_up)

    assert report.result == "fail"
    assert statuses(report, "wrapping key file") == {"fail"}
    assert "mode 0644" in details(report, "wrapping key file")
    (recorded,) = security_events(backed_up.crm, "security-check")
    assert recorded.details["result"] == "fail"
    assert "wrapping key file" in recorded.details["failing"]


def test_private_key_files_pass(backed_up: Services) -> None:
    report = security_check(backed_up, record=False)

    assert statuses(report, "wrapping key file") == {"pass"}
    assert statuses(report, "ledger signing key file") == {"pass"}


def test_a_sqlite_deployment_with_its_controls_in_place_passes(
    backed_up: Services,
) -> None:
    if backed_up.settings.uses_postgres:
        pytest.skip("on PostgreSQL the test server's superuser fails the role check")
    define_a_purpose(backed_up)
    sign_the_ledger(backed_up)
    backed_up.runner.catch_up()
    backed_up.erasure_runner.catch_up()
    backed_up.access.create("admin", "the-admin")
    for database in backed_up.settings.data_dir.glob("*.sqlite3"):
        database.chmod(0o600)
    SecurityOps(backed_up, Metrics()).run_ledger_audit()

    report = security_check(backed_up)

    assert report.result == "pass", report.as_text()
    assert statuses(report, "ledger audit") == {"pass"}
    assert statuses(report, "append-only triggers") == {"pass"}


def test_the_postgres_superuser_fails_the_role_check(backed_up: Services) -> None:
    if not backed_up.settings.uses_postgres:
        pytest.skip("SQLite has no database roles")

    report = security_check(backed_up, record=False)

    assert statuses(report, "database role") == {"fail"}
    assert "superuser" in details(report, "database role")


@pytest.fixture
def service_role(postgres_url: str) -> Iterator[tuple[str, str]]:
    """A login role on the test database, and its URL; dropped afterwards."""
    role = f"ledgercrm_service_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(ADMIN_CONNINFO, autocommit=True) as admin:
        admin.execute(f'CREATE ROLE "{role}" LOGIN')  # type: ignore[arg-type]
    try:
        yield role, postgres_url.replace("postgres@", f"{role}@")
    finally:
        with psycopg.connect(postgres_url, autocommit=True) as owner:
            owner.execute(f'DROP OWNED BY "{role}"')  # type: ignore[arg-type]
        with psycopg.connect(ADMIN_CONNINFO, autocommit=True) as admin:
            admin.execute(f'DROP ROLE IF EXISTS "{role}"')  # type: ignore[arg-type]


def grant(postgres_url: str, role: str, privileges: str, events: str) -> None:
    with psycopg.connect(postgres_url, autocommit=True) as owner:
        for statement in (
            f'GRANT USAGE ON SCHEMA ledger TO "{role}"',
            f"GRANT SELECT, INSERT ON ledger.entries, ledger.ledger_checkpoints "
            f'TO "{role}"',
            f'GRANT SELECT, INSERT, UPDATE ON ledger.tiles TO "{role}"',
            f'GRANT {privileges} ON {events} TO "{role}"',
        ):
            owner.execute(statement)  # type: ignore[arg-type]


@pytest.mark.requirement("PROCESSING-LOG")
def test_a_service_role_allowed_to_update_events_fails_the_check(
    settings: Settings, service_role: tuple[str, str]
) -> None:
    if not settings.uses_postgres:
        pytest.skip("roles exist on PostgreSQL only")
    role, url = service_role
    opened = open_services(settings)
    try:
        events = events_table(opened)
    finally:
        opened.close()
    grant(settings.database_url, role, "SELECT, INSERT, UPDATE", events)

    findings = list(event_table_grants(url, events))

    failing = [f.detail for f in findings if f.status == "fail"]
    assert failing == [
        f"role {role!r} may UPDATE {events}; REVOKE UPDATE ON {events} FROM {role}"
    ]


def test_a_service_role_that_only_appends_and_reads_passes(
    settings: Settings, service_role: tuple[str, str]
) -> None:
    if not settings.uses_postgres:
        pytest.skip("roles exist on PostgreSQL only")
    role, url = service_role
    opened = open_services(settings)
    try:
        events = events_table(opened)
    finally:
        opened.close()
    grant(settings.database_url, role, "SELECT, INSERT", events)

    findings = list(event_table_grants(url, events))

    assert [f.status for f in findings] == ["pass"]


def test_a_missing_append_only_trigger_fails_the_check(backed_up: Services) -> None:
    events = events_table(backed_up)
    trigger = events.split(".")[-1] + (
        "_refuse_change" if backed_up.settings.uses_postgres else "_refuse_update"
    )
    if backed_up.settings.uses_postgres:
        with psycopg.connect(backed_up.settings.database_url) as connection:
            connection.execute(f"DROP TRIGGER {trigger} ON {events}")  # type: ignore[arg-type]
    else:
        path = backed_up.settings.data_dir / "events.sqlite3"
        with sqlite3.connect(path) as connection:
            connection.execute(f"DROP TRIGGER {trigger}")

    report = security_check(backed_up, record=False)

    assert statuses(report, "append-only triggers") == {"fail"}
    assert trigger in details(report, "append-only triggers")


def test_tokens_without_expiry_or_unused_for_long_fail(backed_up: Services) -> None:
    forever, _ = backed_up.access.create("sales", "machine", lifetime=None)
    idle, _ = backed_up.access.create("auditor", "idle")
    table = backed_up.access.table
    with backed_up.access.database.transaction() as cursor:
        cursor.execute(
            f"UPDATE {table} SET created_at = %s WHERE token_id = %s",
            ("2020-01-01T00:00:00+00:00", idle.principal_id),
        )

    report = security_check(backed_up, record=False)

    assert forever.principal_id in details(report, "token expiry")
    assert idle.principal_id in details(report, "unused tokens")
    assert (
        statuses(report, "token expiry")
        == statuses(report, "unused tokens")
        == {"fail"}
    )


def test_too_many_administrators_fail(backed_up: Services) -> None:
    for number in range(4):
        backed_up.access.create("admin", f"admin-{number}")

    report = security_check(backed_up, record=False)

    assert statuses(report, "administrators") == {"fail"}


def test_backups_must_be_configured_and_recent(
    settings: Settings, backed_up: Services
) -> None:
    status = backed_up.settings.backup_status_file
    assert status is not None
    fresh = security_check(backed_up, record=False)
    old = time.time() - 48 * 3600
    os.utime(status, (old, old))
    stale = security_check(backed_up, record=False)
    unconfigured = open_services(settings)
    try:
        missing = security_check(unconfigured, record=False)
    finally:
        unconfigured.close()

    assert statuses(fresh, "backups") == {"pass"}
    assert statuses(stale, "backups") == {"fail"}
    assert statuses(missing, "backups") == {"fail"}
    assert "LEDGERCRM_BACKUP_STATUS_FILE" in details(missing, "backups")


def test_plain_http_beyond_loopback_and_a_remote_database_without_tls_fail(
    settings: Settings,
) -> None:
    from api.security_check import tls

    exposed = reconfigured(settings, host="0.0.0.0")
    remote = reconfigured(
        settings, database_url="postgresql://svc@db.internal.example:5432/crm"
    )
    secured = reconfigured(
        settings,
        database_url="postgresql://svc@db.internal.example/crm?sslmode=verify-full",
    )

    assert next(f.status for f in tls(exposed)) == "fail"
    assert [f.status for f in tls(remote)] == ["warn", "fail"]
    assert [f.status for f in tls(secured)] == ["warn", "pass"]


def test_lags_are_reported(backed_up: Services) -> None:
    define_a_purpose(backed_up)
    strict = reconfigured(
        backed_up.settings, ledger_lag_limit=0, projection_lag_limit=0
    )
    lagging = open_services(strict)
    try:
        report = security_check(lagging, record=False)
    finally:
        lagging.close()

    assert statuses(report, "ledger lag") == {"fail"}
    assert statuses(report, "projection customers_by_id") == {"fail"}


def test_the_command_prints_json_and_exits_1_on_failure(
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("LEDGERCRM_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("LEDGERCRM_DATABASE_URL", settings.database_url)
    monkeypatch.chdir(settings.data_dir.parent)

    code = main(["security", "check", "--json", "--audit-ledger"])
    report = json.loads(capsys.readouterr().out)
    text_code = main(["security", "check"])
    text = capsys.readouterr().out

    assert code == text_code == 1  # no backup is configured
    assert report["result"] == "fail"
    assert {"check": "backups", "status": "fail"}.items() <= report["findings"][
        -1
    ].items()
    assert any(f["check"] == "ledger audit" and f["status"] == "pass"
               for f in report["findings"])  # fmt: skip
    assert text.startswith("security check FAIL")
    assert "FAIL  backups:" in text


@pytest.mark.requirement("PROCESSING-LOG")
def test_serve_runs_as_a_role_that_cannot_rewrite_events(
    settings: Settings, service_role: tuple[str, str]
) -> None:
    if not settings.uses_postgres:
        pytest.skip("roles exist on PostgreSQL only")
    role, url = service_role
    open_services(settings).close()  # `ledgercrm init` as the owner
    database = settings.database_url.rsplit("/", 1)[1]
    with psycopg.connect(settings.database_url, autocommit=True) as owner:
        for statement in service_role_statements(role, database):
            owner.execute(statement)

    service = open_services(reconfigured(settings, database_url=url))
    try:
        register_a_customer(service)  # events, a data key, the read model
        service.access.create("sales", "after-grants")
        service.runner.catch_up()
        sign_the_ledger(service)
        report = security_check(service, record=False)
        events = events_table(service)
    finally:
        service.close()

    assert statuses(report, "database role") == {"pass"}
    assert statuses(report, "ledger lag") == {"pass"}
    with (
        psycopg.connect(url) as connection,
        pytest.raises(psycopg.errors.InsufficientPrivilege, match="permission denied"),
    ):
        connection.execute(f"UPDATE {events} SET topic = 'x'")  # type: ignore[arg-type]


def test_the_grants_command_prints_the_service_role_grants(
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("LEDGERCRM_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("LEDGERCRM_DATABASE_URL", settings.database_url)
    monkeypatch.chdir(settings.data_dir.parent)

    code = main(["security", "grants", "ledgercrm_service"])
    printed = capsys.readouterr()
    refused = main(["security", "grants", "x; DROP TABLE y"])

    if not settings.uses_postgres:
        assert code == 2 and "PostgreSQL" in printed.err
        return
    assert code == 0
    assert (
        'GRANT SELECT, INSERT ON "public"."ledgercrm_events", ledger.entries'
        in printed.out
    )
    assert "UPDATE ON ledger.tiles" in printed.out
    assert refused == 2 and "not a plain role name" in capsys.readouterr().err
