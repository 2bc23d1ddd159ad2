"""Data keys in their own PostgreSQL schema, apart from the event tables.

The key store may connect as a role of its own (LEDGERCRM_KEY_STORE_URL) that owns
the `crypto_shredding` schema and has no right on the event tables, so that a
leaked service connection cannot read the keys, nor the keys' role the events.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

import psycopg
from psycopg_pool import ConnectionPool

from crypto_shredding.errors import KeyStoreError
from crypto_shredding.key_store import KeyStore, StoredKey, Tombstone, WrappedDataKey

# A dedicated key store role may own the schema without the right to create
# schemas in the database: create it only when it is missing.
CREATE_SCHEMA = """
DO $$ BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = 'crypto_shredding')
    THEN CREATE SCHEMA crypto_shredding;
    END IF;
END $$;
"""

SCHEMA = """
CREATE TABLE IF NOT EXISTS crypto_shredding.data_keys (
    subject_id uuid PRIMARY KEY,
    data_key_id uuid NOT NULL,
    wrapped_key bytea,
    wrapping_key_version integer,
    created_at timestamptz NOT NULL,
    shredded_at timestamptz,
    shred_reason text
);
CREATE INDEX IF NOT EXISTS data_keys_by_wrapping_key_version
    ON crypto_shredding.data_keys (wrapping_key_version);
CREATE TABLE IF NOT EXISTS crypto_shredding.shred_version (
    id integer PRIMARY KEY CHECK (id = 1),
    version bigint NOT NULL
);
INSERT INTO crypto_shredding.shred_version VALUES (1, 0) ON CONFLICT DO NOTHING;
"""

LIVE_KEY_COLUMNS = (
    "subject_id, data_key_id, wrapped_key, wrapping_key_version, created_at"
)

SELECT = (
    "SELECT data_key_id, wrapped_key, wrapping_key_version, created_at, "
    "shredded_at, shred_reason FROM crypto_shredding.data_keys WHERE subject_id = %s"
)

SELECT_MANY = (
    "SELECT subject_id, data_key_id, wrapped_key, wrapping_key_version, created_at, "
    "shredded_at, shred_reason FROM crypto_shredding.data_keys "
    "WHERE subject_id = ANY(%s)"
)


class PostgresKeyStore(KeyStore):
    def __init__(self, conninfo: str, *, max_size: int = 8) -> None:
        try:
            self._pool = ConnectionPool(
                conninfo, min_size=1, max_size=max_size, open=True, timeout=10
            )
            with self._pool.connection() as connection:
                connection.execute(CREATE_SCHEMA)
                connection.execute(SCHEMA)
        except psycopg.Error as error:
            raise KeyStoreError("cannot open the PostgreSQL key store") from error

    def find(self, subject_id: UUID) -> StoredKey | None:
        return _as_stored_key(subject_id, self._fetch(SELECT, (subject_id,)))

    def add(self, data_key: WrappedDataKey) -> StoredKey:
        inserted = self._fetch(
            "INSERT INTO crypto_shredding.data_keys (subject_id, data_key_id, "
            "wrapped_key, wrapping_key_version, created_at) "
            "VALUES (%s, %s, %s, %s, %s) ON CONFLICT (subject_id) DO NOTHING "
            "RETURNING data_key_id",
            (
                data_key.subject_id,
                data_key.data_key_id,
                data_key.wrapped,
                data_key.wrapping_key_version,
                data_key.created_at,
            ),
        )
        if inserted is not None:
            return data_key
        stored = self.find(data_key.subject_id)

        assert stored is not None
        return stored

    def find_many(self, subject_ids: Sequence[UUID]) -> dict[UUID, StoredKey]:
        found: dict[UUID, StoredKey] = {}
        for subject_id, *columns in self._fetch_all(SELECT_MANY, (list(subject_ids),)):
            stored = _as_stored_key(subject_id, columns)
            assert stored is not None
            found[subject_id] = stored
        return found

    def add_many(self, data_keys: Sequence[WrappedDataKey]) -> list[StoredKey]:
        inserted = {
            subject_id
            for (subject_id,) in self._fetch_all(
                "INSERT INTO crypto_shredding.data_keys (subject_id, data_key_id, "
                "wrapped_key, wrapping_key_version, created_at) "
                "SELECT * FROM unnest(%s::uuid[], %s::uuid[], %s::bytea[], "
                "%s::integer[], %s::timestamptz[]) "
                "ON CONFLICT (subject_id) DO NOTHING RETURNING subject_id",
                (
                    [key.subject_id for key in data_keys],
                    [key.data_key_id for key in data_keys],
                    [key.wrapped for key in data_keys],
                    [key.wrapping_key_version for key in data_keys],
                    [key.created_at for key in data_keys],
                ),
            )
        }
        lost = [key.subject_id for key in data_keys if key.subject_id not in inserted]
        raced = self.find_many(lost) if lost else {}
        return [
            key if key.subject_id in inserted else raced[key.subject_id]
            for key in data_keys
        ]

    def shred(self, subject_id: UUID, reason: str, at: datetime) -> Tombstone:
        try:
            with self._pool.connection() as connection, connection.transaction():
                connection.execute(
                    "INSERT INTO crypto_shredding.data_keys (subject_id, data_key_id, "
                    "created_at) VALUES (%s, %s, %s) ON CONFLICT DO NOTHING",
                    (subject_id, uuid.uuid4(), at),
                )
                shredded = connection.execute(
                    "UPDATE crypto_shredding.data_keys SET wrapped_key = NULL, "
                    "wrapping_key_version = NULL, shredded_at = %s, shred_reason = %s "
                    "WHERE subject_id = %s AND shredded_at IS NULL",
                    (at, reason, subject_id),
                )
                if shredded.rowcount == 1:
                    connection.execute(
                        "UPDATE crypto_shredding.shred_version "
                        "SET version = version + 1"
                    )
                row = connection.execute(SELECT, (subject_id,)).fetchone()
        except psycopg.Error as error:
            raise KeyStoreError("the PostgreSQL key store failed") from error
        stored = _as_stored_key(subject_id, row)
        assert isinstance(stored, Tombstone)
        return stored

    def shred_version(self) -> int:
        (version,) = self._fetch(
            "SELECT version FROM crypto_shredding.shred_version", ()
        )
        return int(version)

    def wrapping_key_versions(self) -> dict[int, int]:
        rows = self._fetch_all(
            "SELECT wrapping_key_version, count(*) FROM crypto_shredding.data_keys "
            "WHERE shredded_at IS NULL GROUP BY wrapping_key_version",
            (),
        )
        return {int(version): int(count) for version, count in rows}

    def wrapped_by(self, version: int, limit: int) -> list[WrappedDataKey]:
        rows = self._fetch_all(
            f"SELECT {LIVE_KEY_COLUMNS} FROM crypto_shredding.data_keys "
            "WHERE wrapping_key_version = %s AND shredded_at IS NULL LIMIT %s",
            (version, limit),
        )
        return [
            WrappedDataKey(subject, key_id, bytes(wrapped), number, created_at)
            for subject, key_id, wrapped, number, created_at in rows
        ]

    def rewrap(self, old: WrappedDataKey, wrapped: bytes, version: int) -> bool:
        updated = self._fetch(
            "UPDATE crypto_shredding.data_keys SET wrapped_key = %s, "
            "wrapping_key_version = %s WHERE subject_id = %s AND wrapped_key = %s "
            "AND shredded_at IS NULL RETURNING subject_id",
            (wrapped, version, old.subject_id, old.wrapped),
        )
        return updated is not None

    def close(self) -> None:
        self._pool.close()

    def _fetch_all(self, statement: str, params: tuple[Any, ...]) -> list[Any]:
        try:
            with self._pool.connection() as connection:
                return connection.execute(statement, params).fetchall()
        except psycopg.Error as error:
            raise KeyStoreError("the PostgreSQL key store failed") from error

    def _fetch(self, statement: str, params: tuple[Any, ...]) -> Any:
        try:
            with self._pool.connection() as connection:
                cursor = connection.execute(statement, params)
                return cursor.fetchone() if cursor.description else None
        except psycopg.Error as error:
            raise KeyStoreError("the PostgreSQL key store failed") from error


def _as_stored_key(subject_id: UUID, row: Any) -> StoredKey | None:
    if row is None:
        return None
    key_id, wrapped, version, created_at, shredded_at, reason = row
    if shredded_at is not None:
        return Tombstone(subject_id, key_id, shredded_at, reason)
    return WrappedDataKey(subject_id, key_id, bytes(wrapped), version, created_at)
