"""Fixtures for the ledger: keys, a backend setup and database backups."""

from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
import pytest

from ledger import LedgerSigner, create_signing_key
from tests.ledger.ledger_test_support import (
    ADMIN_CONNINFO,
    ORIGIN,
    DatabaseBackup,
    LedgerSetup,
    copy_database,
    sqlite_copy,
)


@pytest.fixture
def key_file(tmp_path: Path) -> Path:
    path = tmp_path / "keys" / "ledger-signing.key"
    path.parent.mkdir()
    create_signing_key(path, ORIGIN)
    return path


@pytest.fixture
def signer(key_file: Path) -> LedgerSigner:
    return LedgerSigner.from_key_files(key_file)


@pytest.fixture
def setup(
    backend: str,
    database_url: str,
    tmp_path: Path,
    signer: LedgerSigner,
    key_file: Path,
) -> Iterator[LedgerSetup]:
    data_dir = tmp_path / "data"
    data_dir.mkdir(exist_ok=True)
    copy = tmp_path / "elsewhere" / "ledger-checkpoint"
    copy.parent.mkdir()
    ledger_setup = LedgerSetup(backend, database_url, data_dir, signer, key_file, copy)
    yield ledger_setup
    ledger_setup.close_all()


@pytest.fixture
def back_up(
    setup: LedgerSetup, tmp_path: Path
) -> Iterator[Callable[[], DatabaseBackup]]:
    """A function that copies the whole database, closing connections first."""
    copies: list[str] = []

    def take() -> DatabaseBackup:
        setup.close_all()
        if setup.backend == "sqlite":
            folder = tmp_path / f"backup-{len(copies)}"
            folder.mkdir()
            for name in ("events.sqlite3", "ledger.sqlite3"):
                sqlite_copy(setup.data_dir / name, folder / name)
            copies.append(str(folder))
            return DatabaseBackup(setup, str(folder))
        source = urlsplit(setup.database_url).path.lstrip("/")
        name = f"{source}_backup{len(copies)}"
        copy_database(source, name)
        copies.append(name)
        return DatabaseBackup(setup, name)

    yield take
    setup.close_all()
    if setup.backend == "postgres":
        with psycopg.connect(ADMIN_CONNINFO, autocommit=True) as admin:
            for name in copies:
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
