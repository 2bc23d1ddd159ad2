"""Data keys in their own SQLite file, written with secure_delete so shredded keys
do not linger in free pages.

Known limit: while a shred commits, SQLite copies the page holding the wrapped key
into its rollback journal, and deleting the journal afterwards unlinks those bytes
without overwriting them, so they may survive in free disk blocks until reused. An
encrypted file system, or a key store in an HSM (issue 3), lifts this.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from uuid import UUID

from crypto_shredding.errors import KeyStoreError
from crypto_shredding.key_store import KeyStore, StoredKey, Tombstone, WrappedDataKey

SCHEMA = """
CREATE TABLE IF NOT EXISTS data_keys (
    subject_id TEXT PRIMARY KEY,
    data_key_id TEXT NOT NULL,
    wrapped_key BLOB,
    wrapping_key_version INTEGER,
    created_at TEXT NOT NULL,
    shredded_at TEXT,
    shred_reason TEXT
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS data_keys_by_wrapping_key_version
    ON data_keys (wrapping_key_version);
CREATE TABLE IF NOT EXISTS shred_version (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    version INTEGER NOT NULL
);
INSERT OR IGNORE INTO shred_version (id, version) VALUES (1, 0)
"""

LIVE_KEY_COLUMNS = (
    "subject_id, data_key_id, wrapped_key, wrapping_key_version, created_at"
)


class SQLiteKeyStore(KeyStore):
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists():
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
        self._lock = threading.Lock()
        try:
            self._connection = sqlite3.connect(
                path, check_same_thread=False, isolation_level=None, timeout=10
            )
            # A rollback journal, not WAL: old key pages must not survive in a log.
            self._connection.execute("PRAGMA journal_mode=DELETE")
            self._connection.execute("PRAGMA secure_delete=ON")
            self._connection.executescript(SCHEMA)
        except sqlite3.Error as error:
            raise KeyStoreError(f"cannot open the key store at {path}") from error

    def find(self, subject_id: UUID) -> StoredKey | None:
        with self._transaction() as cursor:
            return _select(cursor, subject_id)

    def find_many(self, subject_ids: Sequence[UUID]) -> dict[UUID, StoredKey]:
        with self._transaction() as cursor:
            found = {
                subject_id: _select(cursor, subject_id) for subject_id in subject_ids
            }
        return {subject: key for subject, key in found.items() if key is not None}

    def add(self, data_key: WrappedDataKey) -> StoredKey:
        return self.add_many([data_key])[0]

    def add_many(self, data_keys: Sequence[WrappedDataKey]) -> list[StoredKey]:
        stored: list[StoredKey] = []
        with self._transaction(write=True) as cursor:
            for data_key in data_keys:
                cursor.execute(
                    "INSERT INTO data_keys (subject_id, data_key_id, wrapped_key, "
                    "wrapping_key_version, created_at) VALUES (?, ?, ?, ?, ?) "
                    "ON CONFLICT (subject_id) DO NOTHING",
                    (
                        data_key.subject_id.hex,
                        data_key.data_key_id.hex,
                        data_key.wrapped,
                        data_key.wrapping_key_version,
                        data_key.created_at.isoformat(),
                    ),
                )
                if cursor.rowcount == 1:
                    stored.append(data_key)
                    continue
                raced = _select(cursor, data_key.subject_id)
                assert raced is not None
                stored.append(raced)
        return stored

    def shred(self, subject_id: UUID, reason: str, at: datetime) -> Tombstone:
        with self._transaction(write=True) as cursor:
            cursor.execute(
                "INSERT INTO data_keys (subject_id, data_key_id, created_at) "
                "VALUES (?, ?, ?) ON CONFLICT (subject_id) DO NOTHING",
                (subject_id.hex, uuid.uuid4().hex, at.isoformat()),
            )
            cursor.execute(
                "UPDATE data_keys SET wrapped_key = NULL, wrapping_key_version = NULL,"
                " shredded_at = ?, shred_reason = ? "
                "WHERE subject_id = ? AND shredded_at IS NULL",
                (at.isoformat(), reason, subject_id.hex),
            )
            if cursor.rowcount == 1:
                cursor.execute("UPDATE shred_version SET version = version + 1")
            stored = _select(cursor, subject_id)
        assert isinstance(stored, Tombstone)
        return stored

    def shred_version(self) -> int:
        with self._transaction() as cursor:
            cursor.execute("SELECT version FROM shred_version")
            (version,) = cursor.fetchone()
        return int(version)

    def wrapping_key_versions(self) -> dict[int, int]:
        with self._transaction() as cursor:
            cursor.execute(
                "SELECT wrapping_key_version, count(*) FROM data_keys "
                "WHERE shredded_at IS NULL GROUP BY wrapping_key_version"
            )
            return {int(version): int(count) for version, count in cursor}

    def wrapped_by(self, version: int, limit: int) -> list[WrappedDataKey]:
        with self._transaction() as cursor:
            cursor.execute(
                f"SELECT {LIVE_KEY_COLUMNS} FROM data_keys "
                "WHERE wrapping_key_version = ? AND shredded_at IS NULL LIMIT ?",
                (version, limit),
            )
            rows = cursor.fetchall()
        return [
            WrappedDataKey(
                UUID(subject), UUID(key_id), wrapped, number, _time(created_at)
            )
            for subject, key_id, wrapped, number, created_at in rows
        ]

    def rewrap(self, old: WrappedDataKey, wrapped: bytes, version: int) -> bool:
        with self._transaction(write=True) as cursor:
            cursor.execute(
                "UPDATE data_keys SET wrapped_key = ?, wrapping_key_version = ? "
                "WHERE subject_id = ? AND wrapped_key = ? AND shredded_at IS NULL",
                (wrapped, version, old.subject_id.hex, old.wrapped),
            )
            return cursor.rowcount == 1

    def close(self) -> None:
        self._connection.close()

    @contextmanager
    def _transaction(self, *, write: bool = False) -> Iterator[sqlite3.Cursor]:
        with self._lock:
            cursor = self._connection.cursor()
            try:
                cursor.execute("BEGIN IMMEDIATE" if write else "BEGIN")
                yield cursor
                cursor.execute("COMMIT")
            except sqlite3.Error as error:
                self._connection.rollback()
                raise KeyStoreError("the key store failed") from error
            except BaseException:
                self._connection.rollback()
                raise
            finally:
                cursor.close()


def _select(cursor: sqlite3.Cursor, subject_id: UUID) -> StoredKey | None:
    cursor.execute(
        "SELECT data_key_id, wrapped_key, wrapping_key_version, created_at, "
        "shredded_at, shred_reason FROM data_keys WHERE subject_id = ?",
        (subject_id.hex,),
    )
    row = cursor.fetchone()
    if row is None:
        return None
    key_id, wrapped, version, created_at, shredded_at, reason = row
    if shredded_at is not None:
        return Tombstone(
            subject_id, UUID(key_id), datetime.fromisoformat(shredded_at), reason
        )
    return WrappedDataKey(subject_id, UUID(key_id), wrapped, version, _time(created_at))


def _time(text: str) -> datetime:
    return datetime.fromisoformat(text)
