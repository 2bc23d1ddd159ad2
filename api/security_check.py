"""`ledgercrm security check`: the periodic assessment of the deployment's controls.

Each check gives findings that pass, warn or fail; the report fails when any
finding fails. The report is recorded as a security event, so the firm can
show when it assessed its controls and what it found.
"""

import json
import os
import sqlite3
import stat
from collections.abc import Callable, Iterator
from contextlib import closing
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Literal

import psycopg
from cryptography import x509
from psycopg.conninfo import conninfo_to_dict

from api.monitoring import stored_state
from api.security import SYSTEM_ACTOR
from api.settings import Settings
from api.wiring import SQLITE_EVENTS, Services
from domain.security import record_security_event, security_events
from projections import StorageError

Status = Literal["pass", "warn", "fail"]
MAX_ADMINS = 3
LOOPBACK_HOSTS = ("127.0.0.1", "::1", "localhost")
SECURE_SSLMODES = ("require", "verify-ca", "verify-full")
# Tables the service may only append to and read (tiles grow in place).
APPEND_ONLY_LEDGER = ("ledger.entries", "ledger.ledger_checkpoints")
LEDGER_TRIGGERS = {
    "postgres": (
        "entries_append_only",
        "entries_not_truncated",
        "tiles_only_grow",
        "tiles_never_deleted",
        "tiles_not_truncated",
        "ledger_checkpoints_append_only",
        "ledger_checkpoints_not_truncated",
    ),
    "sqlite": (
        "entries_append_only",
        "entries_never_deleted",
        "tiles_only_grow",
        "tiles_never_deleted",
        "ledger_checkpoints_append_only",
        "ledger_checkpoints_never_deleted",
    ),
}


@dataclass(frozen=True)
class Finding:
    check: str
    status: Status
    detail: str


@dataclass
class SecurityReport:
    checked_at: datetime
    findings: list[Finding] = field(default_factory=list)

    @property
    def result(self) -> Literal["pass", "fail"]:
        return "fail" if any(f.status == "fail" for f in self.findings) else "pass"

    def as_dict(self) -> dict[str, object]:
        return {
            "result": self.result,
            "checked_at": self.checked_at.isoformat(),
            "findings": [asdict(finding) for finding in self.findings],
        }

    def as_json(self) -> str:
        return json.dumps(self.as_dict(), indent=2)

    def as_text(self) -> str:
        lines = [f"security check {self.result.upper()} at {self.checked_at:%c} UTC"]
        for finding in self.findings:
            lines.append(
                f"  {finding.status.upper():4}  {finding.check}: {finding.detail}"
            )
        return "\n".join(lines)


def security_check(services: Services, *, record: bool = True) -> SecurityReport:
    """Runs every check; records the report as a `security-check` event.

    1. Key files: private, and not kept beside the databases.
    2. The database role: no UPDATE, DELETE or TRUNCATE on event tables.
    3. Append-only triggers present on event and ledger tables.
    4. TLS to clients and to the database.
    5. Tokens: expiry, use, number of administrators.
    6. Ledger lag and the last full ledger audit; projections' lag.
    7. Backups configured and recent.
    """
    report = SecurityReport(datetime.now(UTC))
    settings = services.settings
    checks: dict[str, Callable[[], Iterator[Finding]]] = {
        "key files": lambda: key_files(settings),
        "database role": lambda: database_role(services),
        "append-only triggers": lambda: append_only_triggers(services),
        "TLS": lambda: tls(settings),
        "tokens": lambda: tokens(services),
        "lags": lambda: lags_and_audit(services),
        "backups": lambda: backups(settings),
    }
    for name, check in checks.items():
        try:
            report.findings.extend(check())
        except (OSError, ValueError, psycopg.Error, StorageError) as error:
            report.findings.append(
                Finding(name, "fail", f"could not be checked: {error}")
            )
    if record:
        failing = sorted({f.check for f in report.findings if f.status == "fail"})
        record_security_event(
            services.crm,
            SYSTEM_ACTOR,
            "security-check",
            result=report.result,
            findings=len(report.findings),
            failing=failing,
            warnings=sum(f.status == "warn" for f in report.findings),
        )
    return report


def key_files(settings: Settings) -> Iterator[Finding]:
    """Key files exist, are readable by their owner only, and live apart."""
    files = {
        "wrapping key file": settings.key_file,
        "ledger signing key file": settings.signing_key_file,
        "overlap signing key file": settings.ledger_overlap_signing_key_file,
        "TLS key file": settings.tls_key_file,
    }
    for name, path in files.items():
        if path is None:
            continue
        if not path.is_file():
            yield Finding(name, "fail", f"{path} is missing")
            continue
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            yield Finding(
                name,
                "fail",
                f"{path} has mode {mode:04o}: others can read it; chmod 600 it and "
                "rotate the key if it may have been copied",
            )
        else:
            yield Finding(name, "pass", f"{path} has mode {mode:04o}")
        if not settings.uses_postgres and _inside(path, settings.data_dir):
            yield Finding(
                f"{name} location",
                "warn",
                f"{path} lies in the data folder beside the databases: one copy of "
                "the folder carries keys and data together; keep keys on another "
                "volume and back them up apart",
            )


def database_role(services: Services) -> Iterator[Finding]:
    """The service's database role may not rewrite history."""
    settings = services.settings
    if not settings.uses_postgres:
        yield from _sqlite_file_modes(settings)
        return
    yield from event_table_grants(settings.database_url, events_table(services))


def event_table_grants(database_url: str, events: str) -> Iterator[Finding]:
    """Findings on the role `database_url` connects as (PostgreSQL)."""
    name = "database role"
    with psycopg.connect(database_url, connect_timeout=10) as connection:
        role, superuser = _fetch(
            connection,
            "SELECT current_user, rolsuper FROM pg_roles WHERE rolname = current_user",
        )
        if superuser:
            yield Finding(
                name,
                "fail",
                f"the service connects as superuser {role!r}, which can disable "
                "triggers and rewrite events; connect as a role that may only "
                "INSERT and SELECT on event tables (docs/deploy.md)",
            )
            return
        for table in (events, *APPEND_ONLY_LEDGER, "ledger.tiles"):
            owner = _fetch(
                connection,
                "SELECT tableowner = current_user FROM pg_tables "
                "WHERE schemaname || '.' || tablename = %s",
                (table,),
            )
            if owner and owner[0]:
                yield Finding(
                    name,
                    "fail",
                    f"role {role!r} owns {table} and so can drop its triggers; "
                    "let another role own the tables",
                )
            for privilege in _forbidden_privileges(table):
                allowed = _fetch(
                    connection,
                    "SELECT has_table_privilege(current_user, %s, %s)",
                    (table, privilege),
                )
                if allowed and allowed[0]:
                    yield Finding(
                        name,
                        "fail",
                        f"role {role!r} may {privilege} {table}; REVOKE {privilege} "
                        f"ON {table} FROM {role}",
                    )
        yield Finding(name, "pass", f"role {role!r} checked on event tables")


def _forbidden_privileges(table: str) -> tuple[str, ...]:
    if table == "ledger.tiles":
        return ("DELETE", "TRUNCATE")  # tiles grow by UPDATE, guarded by a trigger
    return ("UPDATE", "DELETE", "TRUNCATE")


def append_only_triggers(services: Services) -> Iterator[Finding]:
    """The triggers that refuse UPDATE, DELETE and TRUNCATE are in place."""
    settings = services.settings
    events = events_table(services)
    if settings.uses_postgres:
        table_name = events.split(".")[-1]
        wanted = {f"{table_name}_refuse_change", f"{table_name}_refuse_truncate"}
        wanted |= set(LEDGER_TRIGGERS["postgres"])
        with psycopg.connect(settings.database_url, connect_timeout=10) as connection:
            rows = connection.execute(
                "SELECT tgname FROM pg_trigger WHERE NOT tgisinternal "
                "AND tgenabled <> 'D'"
            ).fetchall()
        present = {row[0] for row in rows}
    else:
        wanted = {f"{events}_refuse_update", f"{events}_refuse_delete"}
        wanted |= set(LEDGER_TRIGGERS["sqlite"])
        present = _sqlite_triggers(settings.data_dir / SQLITE_EVENTS)
        present |= _sqlite_triggers(settings.data_dir / "ledger.sqlite3")
    missing = sorted(wanted - present)
    if missing:
        yield Finding(
            "append-only triggers",
            "fail",
            f"missing or disabled: {', '.join(missing)}; restart `ledgercrm serve` "
            "as the tables' owner to recreate them, then audit the ledger",
        )
    else:
        yield Finding("append-only triggers", "pass", f"{len(wanted)} present")


def tls(settings: Settings) -> Iterator[Finding]:
    """HTTPS to clients (here or at a proxy) and TLS to PostgreSQL."""
    certificate = settings.tls_certificate_file
    if certificate is not None and certificate.is_file():
        yield _certificate_finding(certificate)
    elif settings.host in LOOPBACK_HOSTS:
        yield Finding(
            "TLS to clients",
            "warn",
            f"plain HTTP on loopback ({settings.host}); only a TLS reverse proxy on "
            "this host may front it",
        )
    else:
        yield Finding(
            "TLS to clients",
            "fail",
            f"plain HTTP on {settings.host}: set LEDGERCRM_TLS_CERTIFICATE_FILE and "
            "LEDGERCRM_TLS_KEY_FILE, or listen on loopback behind a TLS proxy",
        )
    if settings.uses_postgres:
        parts = conninfo_to_dict(settings.database_url)
        host = str(parts.get("host", ""))
        sslmode = str(parts.get("sslmode", ""))
        if sslmode in SECURE_SSLMODES:
            yield Finding("TLS to the database", "pass", f"sslmode={sslmode}")
        elif host in LOOPBACK_HOSTS or host.startswith("/"):
            yield Finding("TLS to the database", "pass", "the database is local")
        else:
            yield Finding(
                "TLS to the database",
                "fail",
                f"the database at {host} is reached without TLS; add "
                "sslmode=verify-full to LEDGERCRM_DATABASE_URL",
            )


def _certificate_finding(path: Path) -> Finding:
    certificate = x509.load_pem_x509_certificate(path.read_bytes())
    left = certificate.not_valid_after_utc - datetime.now(UTC)
    if left < timedelta(0):
        return Finding("TLS to clients", "fail", f"{path} expired; renew it")
    if left < timedelta(days=14):
        return Finding(
            "TLS to clients", "warn", f"{path} expires in {left.days} days; renew it"
        )
    return Finding(
        "TLS to clients", "pass", f"HTTPS with {path}, {left.days} days left"
    )


def tokens(services: Services) -> Iterator[Finding]:
    """No token without expiry, none unused for long, few administrators."""
    now = datetime.now(UTC)
    unused_for = timedelta(days=services.settings.token_unused_days)
    active = [t for t in services.access.tokens() if t.active(now)]
    for token in active:
        if token.expires_at is None:
            yield Finding(
                "token expiry",
                "fail",
                f"token {token.token_id} ({token.role}) never expires; replace it "
                "with one that does, then `ledgercrm token revoke` it",
            )
        last_used = token.last_used_at or token.created_at
        if now - last_used > unused_for:
            yield Finding(
                "unused tokens",
                "fail",
                f"token {token.token_id} ({token.role}) unused for "
                f"{(now - last_used).days} days; revoke it if no longer needed",
            )
    admins = sum(token.role == "admin" for token in active)
    if admins > MAX_ADMINS:
        yield Finding(
            "administrators",
            "fail",
            f"{admins} active admin tokens; keep at most {MAX_ADMINS}",
        )
    else:
        yield Finding(
            "administrators",
            "pass" if admins else "warn",
            f"{admins} active admin token(s)",
        )
    yield Finding("tokens", "pass", f"{len(active)} active token(s) reviewed")


def lags_and_audit(services: Services) -> Iterator[Finding]:
    """Ledger lag, the last full ledger audit, and the projections' lag."""
    settings = services.settings
    state = stored_state(services)
    lag_status: Status = (
        "fail" if state.ledger_lag > settings.ledger_lag_limit else "pass"
    )
    yield Finding(
        "ledger lag",
        lag_status,
        f"{state.ledger_lag} events await a signed ledger checkpoint "
        f"(limit {settings.ledger_lag_limit})",
    )
    for name, lag in state.projection_lags.items():
        status: Status = "fail" if lag > settings.projection_lag_limit else "pass"
        yield Finding(f"projection {name}", status, f"lags {lag} events")
    yield _last_audit(services)


def _last_audit(services: Services) -> Finding:
    audits = security_events(services.crm, "ledger-audit")
    if not audits:
        return Finding(
            "ledger audit",
            "warn",
            "no full ledger audit recorded yet; `ledgercrm serve` runs one every "
            f"{services.settings.ledger_audit_interval_hours:g} h, or run "
            "`ledgercrm security check --audit-ledger`",
        )
    last = audits[-1]
    if last.details["result"] != "pass":
        return Finding(
            "ledger audit",
            "fail",
            f"the last full ledger audit failed: {last.details['problem']}; see "
            "docs/operations.md",
        )
    return Finding(
        "ledger audit",
        "pass",
        f"passed at tree size {last.details['tree_size']} on "
        f"{last.created_on:%Y-%m-%d %H:%M} UTC",
    )


def backups(settings: Settings) -> Iterator[Finding]:
    """The backup job leaves a status file; it must be recent."""
    path = settings.backup_status_file
    if path is None:
        yield Finding(
            "backups",
            "fail",
            "no backup configured: point LEDGERCRM_BACKUP_STATUS_FILE at the file "
            "the backup job rewrites after each good backup (docs/deploy.md)",
        )
        return
    if not path.is_file():
        yield Finding("backups", "fail", f"{path} is missing: no backup has finished")
        return
    age = datetime.now(UTC) - datetime.fromtimestamp(path.stat().st_mtime, UTC)
    hours = age.total_seconds() / 3600
    if hours > settings.backup_max_age_hours:
        yield Finding(
            "backups",
            "fail",
            f"the last backup finished {hours:.0f} h ago (limit "
            f"{settings.backup_max_age_hours:g} h)",
        )
    else:
        yield Finding("backups", "pass", f"last backup {hours:.1f} h ago")


def events_table(services: Services) -> str:
    table = str(services.crm.recorder.events_table_name)  # type: ignore[attr-defined]
    return f"public.{table}" if services.settings.uses_postgres else table


def _sqlite_file_modes(settings: Settings) -> Iterator[Finding]:
    for path in sorted(settings.data_dir.glob("*.sqlite3")):
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            yield Finding(
                "database files",
                "fail",
                f"{path} has mode {mode:04o}; chmod 600 it: SQLite has no roles, "
                "file permissions are its only access control",
            )
    yield Finding(
        "database role",
        "pass",
        "SQLite: no database roles; append-only triggers and file modes apply",
    )


def _sqlite_triggers(path: Path) -> set[str]:
    if not path.exists():
        return set()
    with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as connection:
        rows = connection.execute(
            "SELECT name FROM sqlite_master WHERE type = 'trigger'"
        ).fetchall()
    return {row[0] for row in rows}


def _fetch(
    connection: psycopg.Connection[tuple[object, ...]],
    query: str,
    params: tuple[object, ...] = (),
) -> tuple[object, ...]:
    row = connection.execute(query.encode(), params).fetchone()
    return tuple(row) if row else ()


def _inside(path: Path, folder: Path) -> bool:
    return os.path.commonpath([path.resolve(), folder.resolve()]) == str(
        folder.resolve()
    )
