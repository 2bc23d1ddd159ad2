"""The `ledgercrm` command: init, serve, projections, import, token, demo, ledger."""

import argparse
import gc
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from api.access import TokenError
from api.key_custody import create_wrapping_key, wrapping_key_exists
from api.keys_cli import add_key_commands
from api.settings import Settings, SettingsError, load_settings
from crypto_shredding import CryptoShreddingError
from ledger import LedgerError, create_signing_key
from projections import StorageError

if TYPE_CHECKING:
    from api.access import Principal
    from api.wiring import Services

logger = logging.getLogger("ledgercrm")


def main(argv: Sequence[str] | None = None) -> int:
    arguments = _parser().parse_args(argv)
    os.umask(0o077)  # databases and keys this process creates are its owner's only
    try:
        settings = load_settings()
        _configure_logging(settings)
        result: int = arguments.command(settings, arguments)
        return result
    except (
        SettingsError,
        CryptoShreddingError,
        StorageError,
        TokenError,
        LedgerError,
    ) as error:
        print(f"ledgercrm: {error}", file=sys.stderr)
        return 2


def init(settings: Settings, arguments: argparse.Namespace) -> int:
    """Creates the data folder, the wrapping key, the tables and a first admin token."""
    from api.demo import load_demo
    from api.wiring import open_services

    settings.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    if wrapping_key_exists(settings):
        if not arguments.if_needed:
            print("already initialised: the wrapping key exists", file=sys.stderr)
            return 1
    else:
        _refuse_fresh_wrapping_key_over_data(settings)
        print(f"created the wrapping key {create_wrapping_key(settings)}")
    if not settings.signing_key_file.exists():
        vkey = create_signing_key(settings.signing_key_file, settings.ledger_origin)
        print(f"created the ledger signing key {settings.signing_key_file} (mode 0600)")
        print(f"ledger verifier key (publish it to auditors): {vkey}")
    services = open_services(settings)
    try:
        if not services.access.has_any():
            _, token = _first_admin_token(services)
            print("admin token (shown once, keep it secret):")
            print(f"  {token}")
        declare_store_regions(services)
        if arguments.demo:
            loaded = load_demo(services.crm)
            if loaded:
                print(f"loaded the demo data set: {loaded} customers")
    finally:
        services.close()
    return 0


def _refuse_fresh_wrapping_key_over_data(settings: Settings) -> None:
    """A new wrapping key cannot open data keys made under another one."""
    from api.wiring import open_key_store

    store = open_key_store(settings)
    try:
        wrapped = sum(store.wrapping_key_versions().values())
    finally:
        store.close()
    if wrapped:
        raise SettingsError(
            f"the key store holds {wrapped} data keys but their wrapping key is "
            "missing; restore the wrapping key and point LEDGERCRM_WRAPPING_KEY_FILE "
            "(or the LEDGERCRM_PKCS11_* settings) at it, never make a new one"
        )


def _first_admin_token(services: "Services") -> tuple["Principal", str]:
    from datetime import timedelta

    from api.security import CLI_ACTOR
    from domain.security import record_security_event

    days = services.settings.token_lifetime_days
    principal, token = services.access.create(
        "admin", "first-admin", timedelta(days=days)
    )
    record_security_event(
        services.crm,
        CLI_ACTOR,
        "token-created",
        principal.principal_id,
        role="admin",
        lifetime_days=days,
    )
    return principal, token


def serve(settings: Settings, arguments: argparse.Namespace) -> int:
    """Serves the API with the projection runner alongside."""
    import uvicorn

    from api.app import create_app
    from api.security import record_configuration
    from api.wiring import open_services

    if not wrapping_key_exists(settings):
        raise SettingsError(
            f"no wrapping key at {settings.key_file}; run `ledgercrm init` first, or "
            "set LEDGERCRM_WRAPPING_KEY_FILE (or the LEDGERCRM_PKCS11_* settings)"
        )
    if arguments.no_projections:
        settings = settings.model_copy(update={"serve_projections": False})
    tls = _tls_files(settings)
    services = open_services(settings)
    try:
        record_configuration(services)
        declare_store_regions(services)
        app = create_app(services)
        # Everything alive now (modules, the app, its routes and models) lives as
        # long as the process: kept out of the cyclic collector's full passes, which
        # otherwise stop every request for 50 to 80 ms a few times a minute under
        # load (docs/performance.md, API reads).
        gc.collect()
        gc.freeze()
        uvicorn.run(
            app,
            host=settings.host,
            port=settings.port,
            log_level=settings.log_level,
            access_log=False,  # api.access writes one line per request instead
            ssl_certfile=tls and tls[0],
            ssl_keyfile=tls and tls[1],
        )
    finally:
        services.close()
    return 0


def _tls_files(settings: Settings) -> tuple[str, str] | None:
    """The certificate and key to serve HTTPS with, both or neither."""
    certificate, key = settings.tls_certificate_file, settings.tls_key_file
    if certificate is None and key is None:
        return None
    if certificate is None or key is None:
        raise SettingsError(
            "set both LEDGERCRM_TLS_CERTIFICATE_FILE and LEDGERCRM_TLS_KEY_FILE to "
            "serve HTTPS, or neither to serve plain HTTP behind a TLS proxy"
        )
    for path in (certificate, key):
        if not path.is_file():
            raise SettingsError(f"TLS file {path} does not exist or is not a file")
    return str(certificate), str(key)


def run_projections(settings: Settings, arguments: argparse.Namespace) -> int:
    """Runs every projection runner alone, until interrupted (SIGINT or SIGTERM)."""
    import signal
    import threading

    from api.app import projection_work
    from api.wiring import open_services

    stop = threading.Event()
    for number in (signal.SIGINT, signal.SIGTERM):
        signal.signal(number, lambda *_: stop.set())
    services = open_services(settings)
    try:
        threads = projection_work(services, stop)
        for thread in threads:
            thread.start()
        stop.wait()
        services.wake_runners()
        for thread in threads:
            thread.join(timeout=30)
    finally:
        services.close()
    return 0


def projection_status(settings: Settings, arguments: argparse.Namespace) -> int:
    """Prints each projection's position, the head and the lag."""
    import json

    from api.wiring import open_services
    from projections.rebuild import rebuilds_in_progress

    services = open_services(settings)
    try:
        head = services.runner.head()
        rebuilding = rebuilds_in_progress(services.read_models)
        rows: list[dict[str, object]] = []
        for runner in services.runners:
            name = runner.read_model.name
            positions = {name: runner.position()}
            if name in rebuilding:
                positions[f"{name} (rebuilding)"] = rebuilding[name]
            rows += [
                {"name": shown, "position": at, "head": head, "lag": max(0, head - at)}
                for shown, at in positions.items()
            ]
    finally:
        services.close()
    if arguments.json:
        print(json.dumps({"head": head, "projections": rows}, indent=2))
        return 0
    width = max(len("projection"), *(len(str(row["name"])) for row in rows))
    print(f"{'projection':<{width}}  {'position':>10}  {'head':>10}  {'lag':>10}")
    for row in rows:
        print(
            f"{row['name']:<{width}}  {row['position']:>10,}  {row['head']:>10,}  "
            f"{row['lag']:>10,}"
        )
    return 0


def rebuild_projections(settings: Settings, arguments: argparse.Namespace) -> int:
    """Rebuilds one projection, or all, from the first event, beside the live rows."""
    from tqdm import tqdm

    from api.wiring import open_services
    from projections.rebuild import RebuildError, rebuild

    services = open_services(settings)
    try:
        try:
            runners = (
                [services.runner_named(arguments.name)]
                if arguments.name
                else services.runners
            )
        except ValueError as error:
            raise SettingsError(str(error)) from None
        for runner in runners:
            name = runner.read_model.name
            with tqdm(unit="event", desc=name, disable=arguments.quiet) as bar:

                def progress(done: int, total: int) -> None:
                    bar.total = total
                    bar.update(done - bar.n)

                try:
                    reached = rebuild(runner, progress=progress)
                except RebuildError as error:
                    raise SettingsError(str(error)) from None
            print(f"rebuilt {name} up to position {reached}; it now serves")
    finally:
        services.close()
    return 0


def import_customers(settings: Settings, arguments: argparse.Namespace) -> int:
    """Registers the customers of a CSV file; reports each refused row."""
    from tqdm import tqdm

    from api.importer import ImportFileError, check_file
    from api.importer import import_customers as run_import
    from api.wiring import open_services
    from domain import Actor

    try:
        rows = check_file(arguments.file)
    except ImportFileError as error:
        raise SettingsError(str(error)) from None
    services = open_services(settings)
    try:
        with tqdm(
            total=rows, unit="row", desc="importing", disable=arguments.quiet
        ) as bar:
            report = run_import(
                services.crm,
                Actor(arguments.by, "sales"),
                arguments.file,
                batch_size=settings.import_batch_size,
                progress=bar.update,
            )
    except ImportFileError as error:
        raise SettingsError(str(error)) from None
    finally:
        services.close()
    for refused in report.refused:
        print(
            f"{arguments.file}, line {refused.line}: {refused.reason}", file=sys.stderr
        )
    print(
        f"imported {report.imported} customers up to position {report.position}; "
        f"refused {len(report.refused)} rows (nothing of them was stored)"
    )
    return 1 if report.refused else 0


def declare_store_regions(services: "Services") -> None:
    """LOCALISATION: records the stores' regions whenever they changed."""
    from api.privacy import privacy_office
    from domain import Actor

    office = privacy_office(services)
    regions = services.settings.store_regions
    if office.declare_store_regions(Actor("start-up", "system"), regions):
        logger.info("recorded the stores' regions: %s", regions)


def create_token(settings: Settings, arguments: argparse.Namespace) -> int:
    from datetime import timedelta

    from api.security import CLI_ACTOR
    from api.wiring import open_services
    from domain.security import record_security_event

    days = settings.token_lifetime_days if arguments.days is None else arguments.days
    lifetime = None if arguments.no_expiry else timedelta(days=days)
    services = open_services(settings)
    try:
        principal, token = services.access.create(
            arguments.role, arguments.name, lifetime
        )
        record_security_event(
            services.crm,
            CLI_ACTOR,
            "token-created",
            principal.principal_id,
            role=principal.role,
            lifetime_days=None if lifetime is None else days,
        )
    finally:
        services.close()
    print(f"token {principal.principal_id} for {principal.name} ({principal.role}), ")
    print("expires " + ("never" if lifetime is None else f"in {days} days") + ".")
    print("Shown once:")
    print(f"  {token}")
    return 0


def list_tokens(settings: Settings, arguments: argparse.Namespace) -> int:
    """Prints every token's id, holder, role and state; never a secret."""
    from datetime import UTC, datetime

    from api.wiring import open_services

    services = open_services(settings)
    try:
        records = services.access.tokens()
        suspended = services.access.suspended()
    finally:
        services.close()
    now = datetime.now(UTC)
    token_ids = {record.token_id for record in records}
    for principal_id, since, reason in suspended:
        if principal_id not in token_ids:
            print(
                f"{principal_id}  person   suspended since {since:%Y-%m-%d} ({reason})"
            )
    for record in records:
        state = (
            "revoked"
            if record.revoked_at
            else "suspended"
            if record.suspended
            else "active"
            if record.active(now)
            else "expired"
        )
        expires = record.expires_at.date().isoformat() if record.expires_at else "never"
        used = (
            record.last_used_at.date().isoformat() if record.last_used_at else "never"
        )
        print(
            f"{record.token_id}  {record.role:8} {state:9} expires {expires:10} "
            f"last used {used:10} {record.name}"
        )
    return 0


def change_token(settings: Settings, arguments: argparse.Namespace) -> int:
    """Revokes, reinstates or re-roles a token, recording a security event."""
    from api.security import CLI_ACTOR
    from api.wiring import open_services
    from domain.security import record_security_event

    services = open_services(settings)
    try:
        access, action = services.access, arguments.action
        details: dict[str, str] = {}
        if action == "revoke":
            principal_id = access.revoke(arguments.token_id).token_id
            kind = "token-revoked"
        elif action == "reinstate":
            # A person signed in through OIDC has no token row, only a suspension.
            principal_id = access.reinstate(arguments.token_id)
            kind = "token-reinstated"
        else:
            record = access.change_role(arguments.token_id, arguments.role)
            principal_id = record.token_id
            details = {"from_role": record.role, "to_role": arguments.role}
            kind = "role-changed"
        record_security_event(services.crm, CLI_ACTOR, kind, principal_id, **details)
    finally:
        services.close()
    print(f"{kind.replace('-', ' ')}: {principal_id}")
    return 0


def demo(settings: Settings, arguments: argparse.Namespace) -> int:
    from api.demo import load_demo
    from api.wiring import open_services

    services = open_services(settings)
    try:
        loaded = load_demo(services.crm)
    finally:
        services.close()
    print(f"loaded {loaded} demo customers" if loaded else "demo data already loaded")
    return 0


def integrate_ledger(settings: Settings, arguments: argparse.Namespace) -> int:
    """Runs the ledger integrator alone, until interrupted (SIGINT or SIGTERM)."""
    import signal
    import threading

    from api.wiring import open_services

    stop = threading.Event()
    for number in (signal.SIGINT, signal.SIGTERM):
        signal.signal(number, lambda *_: stop.set())
    services = open_services(settings)
    try:
        integrator = services.ledger_integrator()
        integrator.start()  # a second integrator stops here, saying so
        integrator.run(stop)
    finally:
        services.close()
    return 0


def export_ledger(settings: Settings, arguments: argparse.Namespace) -> int:
    """Writes the ledger in the tlog-tiles layout, with the stored event records."""
    from tqdm import tqdm

    from api.wiring import open_services
    from ledger import export

    services = open_services(settings)
    try:
        with tqdm(unit="entry", desc="exporting", disable=arguments.quiet) as bar:

            def progress(done: int, total: int) -> None:
                bar.total = total
                bar.update(done - bar.n)

            signed = export(
                services.ledger_store,
                arguments.directory,
                event_records=services.crm.recorder,
                vkeys=services.signer.vkeys,
                progress=progress,
            )
    finally:
        services.close()
    print(f"exported the ledger at tree size {signed.size} to {arguments.directory}")
    return 0


def create_ledger_signing_key(settings: Settings, arguments: argparse.Namespace) -> int:
    """Creates a new signing key file for a rotation; prints its vkey to publish."""
    vkey = create_signing_key(arguments.path, settings.ledger_origin)
    print(f"created {arguments.path} (mode 0600); its verifier key: {vkey}")
    return 0


def print_vkey(settings: Settings, arguments: argparse.Namespace) -> int:
    from api.wiring import ledger_signer

    for vkey in ledger_signer(settings).vkeys:
        print(vkey)
    return 0


def replay(settings: Settings, arguments: argparse.Namespace) -> int:
    """Prints a customer's non-personal state as of a moment or a notification
    position, replayed from events."""
    from datetime import UTC, datetime
    from uuid import UUID

    from api.errors import ApiError
    from api.routes.replay import customer_then, replayed
    from api.wiring import open_services
    from domain.errors import DomainError

    position = arguments.as_of_position
    try:
        customer_id = UUID(arguments.customer_id)
        as_of = None
        if position is None:
            moment = arguments.as_of or datetime.now(UTC).isoformat()
            as_of = datetime.fromisoformat(moment)
    except ValueError as error:
        raise SettingsError(
            f"{error}: give a customer id (UUID) and --as-of as an ISO time such as "
            "2026-12-01T00:00:00+07:00"
        ) from None
    if as_of is not None and as_of.tzinfo is None:
        as_of = as_of.replace(tzinfo=UTC)
    services = open_services(settings)
    try:
        if position is not None:
            services.timeline_runner.catch_up()  # maps the position to a version
        customer, moment = customer_then(services, customer_id, as_of, position)
    except (DomainError, ApiError) as error:
        raise SettingsError(str(error)) from None
    finally:
        services.close()
    print(replayed(customer, moment, None, position).model_dump_json(indent=2))
    return 0


def check_security(settings: Settings, arguments: argparse.Namespace) -> int:
    """Prints the pass/fail report (text or JSON) and records it as an event."""
    from api.monitoring import Metrics
    from api.security import SecurityOps
    from api.security_check import security_check
    from api.wiring import open_services

    services = open_services(settings)
    try:
        if arguments.audit_ledger:
            SecurityOps(services, Metrics()).run_ledger_audit()
        report = security_check(services)
    finally:
        services.close()
    print(report.as_json() if arguments.json else report.as_text())
    return 0 if report.result == "pass" else 1


def service_role_grants(settings: Settings, arguments: argparse.Namespace) -> int:
    """Prints (or, as the owner, applies) the grants for the service's role."""
    import psycopg
    from psycopg.conninfo import conninfo_to_dict

    from api.postgres_roles import service_role_statements

    if not settings.uses_postgres:
        raise SettingsError("grants apply to PostgreSQL: set LEDGERCRM_DATABASE_URL")
    database = str(conninfo_to_dict(settings.database_url).get("dbname", ""))
    try:
        statements = service_role_statements(arguments.role, database)
    except ValueError as error:
        raise SettingsError(str(error)) from None
    try:
        with psycopg.connect(settings.database_url, autocommit=True) as connection:
            for statement in statements:
                print(statement.as_string(connection) + ";")
                if arguments.apply:
                    connection.execute(statement)
    except psycopg.Error as error:
        raise SettingsError(
            f"the grants failed ({error}); run them as the tables' owner"
        ) from None
    return 0


def run_retention(settings: Settings, arguments: argparse.Namespace) -> int:
    """RETENTION: lists customers due for erasure; erases them unless --dry-run."""
    import json
    from datetime import UTC, datetime

    from api.retention import run_retention as retention_run
    from api.wiring import open_services

    now = datetime.now(UTC)
    if arguments.as_of:
        if not arguments.dry_run:
            raise SettingsError("--as-of plans ahead: use it with --dry-run only")
        try:
            now = datetime.fromisoformat(arguments.as_of)
        except ValueError:
            raise SettingsError(
                f"--as-of {arguments.as_of!r}: give an ISO time like 2027-01-01T00:00"
            ) from None
        now = now if now.tzinfo else now.replace(tzinfo=UTC)
    services = open_services(settings)
    try:
        for runner in services.runners:
            runner.catch_up()
        results = retention_run(
            services, now, dry_run=arguments.dry_run, drive_read_side=True
        )
    finally:
        services.close()
    for result in results:
        print(json.dumps(result, sort_keys=True))
    verb = "due for erasure" if arguments.dry_run else "erased"
    print(f"{len(results)} customers {verb}", file=sys.stderr)
    return 0


def print_dpia(settings: Settings, arguments: argparse.Namespace) -> int:
    """DPIA: prints the technical annex from the live configuration."""
    import json

    from api.dpia import annex_markdown, dpia_annex
    from api.privacy import render_html
    from api.wiring import open_services

    services = open_services(settings)
    try:
        annex = dpia_annex(services)
    finally:
        services.close()
    if arguments.format == "json":
        print(json.dumps(annex, indent=2, ensure_ascii=False))
    elif arguments.format == "html":
        print(render_html("DPIA technical annex", annex))
    else:
        print(annex_markdown(annex), end="")
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ledgercrm",
        description="LedgerCRM: settings come from LEDGERCRM_* variables or .env",
    )
    commands = parser.add_subparsers(required=True, metavar="COMMAND")
    init_parser = commands.add_parser("init", help="create keys, tables, admin token")
    init_parser.add_argument(
        "--if-needed", action="store_true", help="do nothing if already initialised"
    )
    init_parser.add_argument(
        "--demo", action="store_true", help="also load the demo data set"
    )
    init_parser.set_defaults(command=init)
    serve_parser = commands.add_parser("serve", help="serve the HTTP API")
    serve_parser.add_argument(
        "--no-projections",
        action="store_true",
        help="do not run the projection runners here (`projections run` does); "
        "the same as LEDGERCRM_SERVE_PROJECTIONS=false",
    )
    serve_parser.set_defaults(command=serve)
    projections = commands.add_parser("projections", help="the read models")
    projection_commands = projections.add_subparsers(required=True, metavar="ACTION")
    projection_commands.add_parser(
        "run", help="run the projection runners alone, until interrupted"
    ).set_defaults(command=run_projections)
    status = projection_commands.add_parser(
        "status", help="each projection's position, the head and the lag"
    )
    status.add_argument("--json", action="store_true", help="print JSON")
    status.set_defaults(command=projection_status)
    rebuild = projection_commands.add_parser(
        "rebuild", help="rebuild from the first event; the old rows serve meanwhile"
    )
    rebuild.add_argument("name", nargs="?", help="one projection; default all")
    rebuild.add_argument("--quiet", action="store_true", help="no progress bar")
    rebuild.set_defaults(command=rebuild_projections)
    importing = commands.add_parser("import", help="import data from files")
    import_commands = importing.add_subparsers(required=True, metavar="WHAT")
    customers_import = import_commands.add_parser(
        "customers", help="register customers from a CSV file (docs/operators.md)"
    )
    customers_import.add_argument("file", type=Path, help="a UTF-8 CSV file")
    customers_import.add_argument(
        "--by",
        required=True,
        help="who is responsible for the import; recorded on every event",
    )
    customers_import.add_argument("--quiet", action="store_true", help="no progress")
    customers_import.set_defaults(command=import_customers)
    commands.add_parser("demo", help="load the demo data set").set_defaults(
        command=demo
    )
    token = commands.add_parser("token", help="manage access tokens")
    token_commands = token.add_subparsers(required=True, metavar="ACTION")
    create = token_commands.add_parser("create", help="create a token, shown once")
    create.add_argument(
        "--role", required=True, help="admin, sales, manager, auditor, dpo"
    )
    create.add_argument("--name", required=True, help="who or what holds the token")
    create.add_argument(
        "--days",
        type=int,
        help="lifetime in days (default LEDGERCRM_TOKEN_LIFETIME_DAYS, 90)",
    )
    create.add_argument(
        "--no-expiry",
        action="store_true",
        help="never expires (for a machine client; the security check flags it)",
    )
    create.set_defaults(command=create_token)
    token_commands.add_parser(
        "list", help="every token's id, role and state"
    ).set_defaults(command=list_tokens)
    for action, text in (
        ("revoke", "revoke a token for good; refused at once"),
        ("reinstate", "lift a suspension (after a bulk-read alert)"),
    ):
        parser_ = token_commands.add_parser(action, help=text)
        parser_.add_argument("token_id", help="as `ledgercrm token list` shows it")
        parser_.set_defaults(command=change_token, action=action)
    set_role = token_commands.add_parser("set-role", help="give a token another role")
    set_role.add_argument("token_id", help="as `ledgercrm token list` shows it")
    set_role.add_argument("role", help="admin, sales, manager, auditor, dpo")
    set_role.set_defaults(command=change_token, action="set-role")
    replay_parser = commands.add_parser(
        "replay", help="a customer's state at a moment, without personal fields"
    )
    replay_parser.add_argument("customer_id")
    replay_parser.add_argument("--as-of", help="ISO time; default now (UTC if no zone)")
    replay_parser.add_argument(
        "--as-of-position",
        type=int,
        help="a notification position (as commands return) instead of a time",
    )
    replay_parser.set_defaults(command=replay)
    security = commands.add_parser("security", help="security operations")
    security_commands = security.add_subparsers(required=True, metavar="ACTION")
    check = security_commands.add_parser(
        "check", help="assess the deployment's controls; exit 1 if any fails"
    )
    check.add_argument("--json", action="store_true", help="the report as JSON")
    check.add_argument(
        "--audit-ledger",
        action="store_true",
        help="run a full ledger audit first and report its result",
    )
    check.set_defaults(command=check_security)
    grants = security_commands.add_parser(
        "grants", help="the PostgreSQL grants for a service role that only appends"
    )
    grants.add_argument("role", help="the service's login role, e.g. ledgercrm_service")
    grants.add_argument(
        "--apply", action="store_true", help="run them (connect as the owner)"
    )
    grants.set_defaults(command=service_role_grants)
    retention = commands.add_parser("retention", help="erase data past retention")
    retention_commands = retention.add_subparsers(required=True, metavar="ACTION")
    retention_run = retention_commands.add_parser(
        "run", help="erase customers whose every basis ended and retention passed"
    )
    retention_run.add_argument(
        "--dry-run", action="store_true", help="only list who would be erased"
    )
    retention_run.add_argument(
        "--as-of", help="with --dry-run: who would be due at this ISO time"
    )
    retention_run.set_defaults(command=run_retention)
    dpia = commands.add_parser("dpia", help="print the DPIA technical annex")
    dpia.add_argument(
        "--format", choices=("markdown", "json", "html"), default="markdown"
    )
    dpia.set_defaults(command=print_dpia)
    ledger = commands.add_parser("ledger", help="the audit ledger")

    ledger_commands = ledger.add_subparsers(required=True, metavar="ACTION")
    ledger_commands.add_parser(
        "integrate", help="run the ledger integrator alone, until interrupted"
    ).set_defaults(command=integrate_ledger)
    export = ledger_commands.add_parser("export", help="export for offline audit")
    export.add_argument("directory", help="an empty or new folder")
    export.add_argument("--quiet", action="store_true", help="no progress bar")
    export.set_defaults(command=export_ledger)
    ledger_commands.add_parser(
        "vkey", help="print the ledger's verifier key(s)"
    ).set_defaults(command=print_vkey)
    new_key = ledger_commands.add_parser(
        "create-signing-key", help="create a new signing key file, for a rotation"
    )
    new_key.add_argument("path", help="where to write the key file (mode 0600)")
    new_key.set_defaults(command=create_ledger_signing_key)
    add_key_commands(commands)

    return parser


def _configure_logging(settings: Settings) -> None:
    logging.basicConfig(
        level=settings.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
    )
    if settings.access_log_json:
        # Each access-log line is a JSON object alone, for log shippers.
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(message)s"))
        access = logging.getLogger("api.access")
        access.addHandler(handler)
        access.propagate = False
