"""Data keys in their own PostgreSQL schema, apart from the event tables."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any
from uuid import UUID

import psycopg
from psycopg_pool import ConnectionPool

from crypto_shredding.errors import KeyStoreError
from crypto_shredding.key_store import KeyStore, StoredKey, Tombstone, WrappedDataKey

SCHEMA = """
CREATE SCHEMA IF NOT EXISTS crypto_shredding;
CREATE TABLE IF NOT EXISTS crypto_shredding.data_keys (
    subject_id uuid PRIMARY KEY,
    data_key_id uuid NOT NULL,
    wrapped_key bytea,
    wrapping_key_version integer,
    created_at timestamptz NOT NULL,
    shredded_at timestamptz,
    shred_reason text
);
"""

SELECT = (
    "SELECT data_key_id, wrapped_key, wrapping_key_version, created_at, "
    "shredded_at, shred_reason FROM crypto_shredding.data_keys WHERE subject_id = %s"
)


class PostgresKeyStore(KeyStore):
    def __init__(self, conninfo: str, *, max_size: int = 8) -> None:
        try:
            self._pool = ConnectionPool(
                conninfo, min_size=1, max_size=max_size, open=True, timeout=10
            )
            with self._pool.connection() as connection:
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

    def shred(self, subject_id: UUID, reason: str, at: datetime) -> Tombstone:
        try:
            with self._pool.connection() as connection, connection.transaction():
                connection.execute(
                    "INSERT INTO crypto_shredding.data_keys (subject_id, data_key_id, "
                    "created_at) VALUES (%s, %s, %s) ON CONFLICT DO NOTHING",
                    (subject_id, uuid.uuid4(), at),
                )
                connection.execute(
                    "UPDATE crypto_shredding.data_keys SET wrapped_key = NULL, "
                    "wrapping_key_version = NULL, shredded_at = %s, shred_reason = %s "
                    "WHERE subject_id = %s AND shredded_at IS NULL",
                    (at, reason, subject_id),
                )
                row = connection.execute(SELECT, (subject_id,)).fetchone()
        except psycopg.Error as error:
            raise KeyStoreError("the PostgreSQL key store failed") from error
        stored = _as_stored_key(subject_id, row)
        assert isinstance(stored, Tombstone)
        return stored

    def close(self) -> None:
        self._pool.close()

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
