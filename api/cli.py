"""The `ledgercrm` command: init, serve, token create, demo."""

import argparse
import logging
import os
import sys
from collections.abc import Sequence

from api.access import TokenError
from api.settings import Settings, SettingsError, load_settings
from crypto_shredding import CryptoShreddingError, create_wrapping_key_file
from projections import StorageError

logger = logging.getLogger("ledgercrm")


def main(argv: Sequence[str] | None = None) -> int:
    arguments = _parser().parse_args(argv)
    os.umask(0o077)  # databases and keys this process creates are its owner's only
    try:
        settings = load_settings()
        _configure_logging(settings)
        result: int = arguments.command(settings, arguments)
        return result
    except (SettingsError, CryptoShreddingError, StorageError, TokenError) as error:
        print(f"ledgercrm: {error}", file=sys.stderr)
        return 2


def init(settings: Settings, arguments: argparse.Namespace) -> int:
    """Creates the data folder, the wrapping key, the tables and a first admin token."""
    from api.demo import load_demo
    from api.wiring import open_services

    settings.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    if settings.key_file.exists():
        if not arguments.if_needed:
            print(f"already initialised: {settings.key_file} exists", file=sys.stderr)
            return 1
    else:
        create_wrapping_key_file(settings.key_file)
        print(f"created the wrapping key {settings.key_file} (mode 0600); back it up")
    services = open_services(settings)
    try:
        if not services.access.has_any():
            _, token = services.access.create("admin", "first-admin")
            print("admin token (shown once, keep it secret):")
            print(f"  {token}")
        if arguments.demo:
            loaded = load_demo(services.crm)
            if loaded:
                print(f"loaded the demo data set: {loaded} customers")
    finally:
        services.close()
    return 0


def serve(settings: Settings, arguments: argparse.Namespace) -> int:
    """Serves the API with the projection runner alongside."""
    import uvicorn

    from api.app import create_app
    from api.wiring import open_services

    if not settings.key_file.exists():
        raise SettingsError(
            f"no wrapping key at {settings.key_file}; run `ledgercrm init` first"
        )
    services = open_services(settings)
    try:
        uvicorn.run(
            create_app(services),
            host=settings.host,
            port=settings.port,
            log_level=settings.log_level,
        )
    finally:
        services.close()
    return 0


def create_token(settings: Settings, arguments: argparse.Namespace) -> int:
    from api.wiring import open_services

    services = open_services(settings)
    try:
        principal, token = services.access.create(arguments.role, arguments.name)
    finally:
        services.close()
    print(f"token for {principal.name} ({principal.role}), shown once:")
    print(f"  {token}")
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
    commands.add_parser("serve", help="serve the HTTP API").set_defaults(command=serve)
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
    create.set_defaults(command=create_token)
    return parser


def _configure_logging(settings: Settings) -> None:
    logging.basicConfig(
        level=settings.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
    )
