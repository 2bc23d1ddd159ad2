"""The ledger store in its own SQLite file, locked for one integrator by fcntl."""

import fcntl
import os
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from ledger.errors import IntegratorAlreadyRunning, LedgerStoreError
from ledger.store import (
    IntegratorLock,
    IntegratorPosition,
    LedgerStore,
    NewEntry,
    check_append_start,
)
from ledger.tiles import Tile

_SCHEMA = """
CREATE TABLE IF NOT EXISTS entries (
    leaf_index INTEGER PRIMARY KEY,
    notification_id INTEGER NOT NULL UNIQUE,
    entry BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS tiles (
    level INTEGER NOT NULL,
    tile_index INTEGER NOT NULL,
    hashes BLOB NOT NULL,
    PRIMARY KEY (level, tile_index)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS integrator_position (
    singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
    notification_id INTEGER,
    tree_size INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS ledger_checkpoints (
    tree_size INTEGER PRIMARY KEY,
    signed_note BLOB NOT NULL,
    signed_at TEXT NOT NULL
);
CREATE TRIGGER IF NOT EXISTS entries_append_only BEFORE UPDATE ON entries
BEGIN SELECT RAISE(ABORT, 'ledger entries are append-only'); END;
CREATE TRIGGER IF NOT EXISTS entries_never_deleted BEFORE DELETE ON entries
BEGIN SELECT RAISE(ABORT, 'ledger entries are append-only'); END;
CREATE TRIGGER IF NOT EXISTS tiles_only_grow BEFORE UPDATE ON tiles
WHEN substr(NEW.hashes, 1, length(OLD.hashes)) IS NOT OLD.hashes
BEGIN SELECT RAISE(ABORT, 'ledger tiles only grow at their end'); END;
CREATE TRIGGER IF NOT EXISTS tiles_never_deleted BEFORE DELETE ON tiles
BEGIN SELECT RAISE(ABORT, 'ledger tiles are append-only'); END;
CREATE TRIGGER IF NOT EXISTS ledger_checkpoints_append_only
BEFORE UPDATE ON ledger_checkpoints
BEGIN SELECT RAISE(ABORT, 'ledger checkpoints are append-only'); END;
CREATE TRIGGER IF NOT EXISTS ledger_checkpoints_never_deleted
BEFORE DELETE ON ledger_checkpoints
BEGIN SELECT RAISE(ABORT, 'ledger checkpoints are append-only'); END;
"""


class _FileLock(IntegratorLock):
    def __init__(self, lock_file: int) -> None:
        self._lock_file: int | None = lock_file

    def release(self) -> None:
        if self._lock_file is not None:
            fcntl.flock(self._lock_file, fcntl.LOCK_UN)
            os.close(self._lock_file)
            self._lock_file = None


class SQLiteLedgerStore(LedgerStore):
    """The ledger in one SQLite file, e.g. `<data dir>/ledger.sqlite3`.

    Each thread gets its own connection; WAL mode lets readers (the API)
    read while the integrator writes.
    """

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.lock_path = self.path.with_name(self.path.name + ".lock")
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._guard = threading.Lock()
        with self._errors("create the ledger tables in"):
            self._connection().executescript(_SCHEMA)

    @contextmanager
    def _errors(self, doing: str) -> Iterator[None]:
        try:
            yield
        except sqlite3.Error as error:
            raise LedgerStoreError(
                f"could not {doing} the ledger database {self.path}: {error}; "
                "check that the data folder exists, is writable and not full"
            ) from error

    def _connection(self) -> sqlite3.Connection:
        connection: sqlite3.Connection | None = getattr(self._local, "connection", None)
        if connection is None:
            connection = sqlite3.connect(
                self.path, isolation_level=None, check_same_thread=False
            )
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA busy_timeout=10000")
            self._local.connection = connection
            with self._guard:
                self._connections.append(connection)
        return connection

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        connection = self._connection()
        connection.execute("BEGIN IMMEDIATE")
        try:
            yield connection
        except BaseException:
            connection.execute("ROLLBACK")
            raise
        connection.execute("COMMIT")

    def integrator_position(self) -> IntegratorPosition:
        with self._errors("read the integrator position from"):
            return _read_position(self._connection())

    def append(
        self,
        entries: Sequence[NewEntry],
        tiles: Sequence[Tile],
        position: IntegratorPosition,
    ) -> None:
        with self._errors("append to"), self._transaction() as connection:
            start = position.tree_size - len(entries)
            check_append_start(_read_position(connection).tree_size, start)
            connection.executemany(
                "INSERT INTO entries (leaf_index, notification_id, entry) "
                "VALUES (?, ?, ?)",
                [
                    (start + i, new.notification_id, new.entry)
                    for i, new in enumerate(entries)
                ],
            )
            connection.executemany(
                "INSERT INTO tiles (level, tile_index, hashes) VALUES (?, ?, ?) "
                "ON CONFLICT (level, tile_index) "
                "DO UPDATE SET hashes = excluded.hashes",
                [(tile.level, tile.index, tile.hashes) for tile in tiles],
            )
            connection.execute(
                "INSERT INTO integrator_position "
                "(singleton, notification_id, tree_size) VALUES (1, ?, ?) "
                "ON CONFLICT (singleton) DO UPDATE SET "
                "notification_id = excluded.notification_id, "
                "tree_size = excluded.tree_size",
                (position.notification_id, position.tree_size),
            )

    def read_entries(self, start: int, stop: int) -> list[bytes]:
        with self._errors("read entries from"):
            rows = self._connection().execute(
                "SELECT entry FROM entries WHERE leaf_index >= ? AND leaf_index < ? "
                "ORDER BY leaf_index",
                (start, stop),
            )
            return [bytes(entry) for (entry,) in rows]

    def leaf_index_of(self, notification_id: int) -> int | None:
        with self._errors("look up an entry in"):
            row = (
                self._connection()
                .execute(
                    "SELECT leaf_index FROM entries WHERE notification_id = ?",
                    (notification_id,),
                )
                .fetchone()
            )
            return None if row is None else int(row[0])

    def notification_id_at(self, leaf_index: int) -> int | None:
        with self._errors("look up an entry in"):
            row = (
                self._connection()
                .execute(
                    "SELECT notification_id FROM entries WHERE leaf_index = ?",
                    (leaf_index,),
                )
                .fetchone()
            )
            return None if row is None else int(row[0])

    def read_tile(self, level: int, index: int) -> bytes | None:
        with self._errors("read a tile from"):
            row = (
                self._connection()
                .execute(
                    "SELECT hashes FROM tiles WHERE level = ? AND tile_index = ?",
                    (level, index),
                )
                .fetchone()
            )
            return None if row is None else bytes(row[0])

    def add_ledger_checkpoint(self, tree_size: int, signed_note: bytes) -> None:
        signed_at = datetime.now(UTC).isoformat()
        with (
            self._errors("add a ledger checkpoint to"),
            self._transaction() as connection,
        ):
            connection.execute(
                "INSERT INTO ledger_checkpoints (tree_size, signed_note, signed_at) "
                "VALUES (?, ?, ?)",
                (tree_size, signed_note, signed_at),
            )

    def latest_ledger_checkpoint(self) -> bytes | None:
        with self._errors("read the latest ledger checkpoint from"):
            row = (
                self._connection()
                .execute(
                    "SELECT signed_note FROM ledger_checkpoints "
                    "ORDER BY tree_size DESC LIMIT 1"
                )
                .fetchone()
            )
            return None if row is None else bytes(row[0])

    def latest_ledger_checkpoint_signed_at(self) -> datetime | None:
        with self._errors("read the latest ledger checkpoint from"):
            row = (
                self._connection()
                .execute(
                    "SELECT signed_at FROM ledger_checkpoints "
                    "ORDER BY tree_size DESC LIMIT 1"
                )
                .fetchone()
            )
            return None if row is None else datetime.fromisoformat(row[0])

    def ledger_checkpoint_at(self, tree_size: int) -> bytes | None:
        with self._errors("read a ledger checkpoint from"):
            row = (
                self._connection()
                .execute(
                    "SELECT signed_note FROM ledger_checkpoints WHERE tree_size = ?",
                    (tree_size,),
                )
                .fetchone()
            )
            return None if row is None else bytes(row[0])

    def lock_integrator(self) -> IntegratorLock:
        lock_file = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(lock_file)
            raise IntegratorAlreadyRunning(
                f"another ledger integrator holds {self.lock_path}; run only one "
                "integrator per ledger and stop the other before starting this one"
            ) from None
        return _FileLock(lock_file)

    def close(self) -> None:
        with self._guard:
            for connection in self._connections:
                connection.close()
            self._connections.clear()
        self._local = threading.local()


def _read_position(connection: sqlite3.Connection) -> IntegratorPosition:
    row = connection.execute(
        "SELECT notification_id, tree_size FROM integrator_position"
    ).fetchone()
    if row is None:
        return IntegratorPosition(None, 0)
    return IntegratorPosition(row[0], row[1])
