"""The ledger store in the `ledger` schema of PostgreSQL, with an advisory lock."""

import hashlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime

import psycopg
from psycopg.rows import TupleRow
from psycopg_pool import ConnectionPool

from ledger.errors import IntegratorAlreadyRunning, LedgerStoreError
from ledger.store import (
    IntegratorLock,
    IntegratorPosition,
    LedgerStore,
    NewEntry,
    check_append_start,
)
from ledger.tiles import Tile


def _lock_key(purpose: bytes) -> int:
    return int.from_bytes(hashlib.sha256(purpose).digest()[:8], "big", signed=True)


INTEGRATOR_LOCK_KEY = _lock_key(b"ledgercrm ledger integrator")
SCHEMA_LOCK_KEY = _lock_key(b"ledgercrm ledger schema")

_SCHEMA = """
CREATE SCHEMA IF NOT EXISTS ledger;
CREATE TABLE IF NOT EXISTS ledger.entries (
    leaf_index bigint PRIMARY KEY,
    notification_id bigint NOT NULL UNIQUE,
    entry bytea NOT NULL
);
CREATE TABLE IF NOT EXISTS ledger.tiles (
    level smallint NOT NULL,
    tile_index bigint NOT NULL,
    hashes bytea NOT NULL,
    PRIMARY KEY (level, tile_index)
);
CREATE TABLE IF NOT EXISTS ledger.integrator_position (
    singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    notification_id bigint,
    tree_size bigint NOT NULL
);
CREATE TABLE IF NOT EXISTS ledger.ledger_checkpoints (
    tree_size bigint PRIMARY KEY,
    signed_note bytea NOT NULL,
    signed_at timestamptz NOT NULL DEFAULT now()
);
CREATE OR REPLACE FUNCTION ledger.refuse_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'ledger.% is append-only', TG_TABLE_NAME;
END $$;
CREATE OR REPLACE FUNCTION ledger.tile_only_grows() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF substring(NEW.hashes FROM 1 FOR length(OLD.hashes)) <> OLD.hashes
        OR NEW.level <> OLD.level OR NEW.tile_index <> OLD.tile_index THEN
        RAISE EXCEPTION 'ledger tiles only grow at their end';
    END IF;
    RETURN NEW;
END $$;
CREATE OR REPLACE TRIGGER entries_append_only
    BEFORE UPDATE OR DELETE ON ledger.entries
    FOR EACH ROW EXECUTE FUNCTION ledger.refuse_change();
CREATE OR REPLACE TRIGGER entries_not_truncated BEFORE TRUNCATE ON ledger.entries
    FOR EACH STATEMENT EXECUTE FUNCTION ledger.refuse_change();
CREATE OR REPLACE TRIGGER tiles_only_grow BEFORE UPDATE ON ledger.tiles
    FOR EACH ROW EXECUTE FUNCTION ledger.tile_only_grows();
CREATE OR REPLACE TRIGGER tiles_never_deleted BEFORE DELETE ON ledger.tiles
    FOR EACH ROW EXECUTE FUNCTION ledger.refuse_change();
CREATE OR REPLACE TRIGGER tiles_not_truncated BEFORE TRUNCATE ON ledger.tiles
    FOR EACH STATEMENT EXECUTE FUNCTION ledger.refuse_change();
CREATE OR REPLACE TRIGGER ledger_checkpoints_append_only
    BEFORE UPDATE OR DELETE ON ledger.ledger_checkpoints
    FOR EACH ROW EXECUTE FUNCTION ledger.refuse_change();
CREATE OR REPLACE TRIGGER ledger_checkpoints_not_truncated
    BEFORE TRUNCATE ON ledger.ledger_checkpoints
    FOR EACH STATEMENT EXECUTE FUNCTION ledger.refuse_change();
"""

# A role that only appends (the service) finds the schema made by its owner
# (`ledgercrm init`) and must not try to replace the owner's triggers.
_CREATED_BY_ANOTHER_ROLE = """
SELECT pg_get_userbyid(relowner) <> current_user FROM pg_class
WHERE oid = to_regclass('ledger.entries')
"""


class _AdvisoryLock(IntegratorLock):
    """A session advisory lock, held as long as its own connection is open.

    Known limit: if the server ends that idle session (idle_session_timeout),
    the lock is lost without notice; `append` still refuses to write past a
    tree another writer grew, so the ledger cannot fork, but two integrators
    could then alternate. Leave idle_session_timeout off for the ledger role.
    """

    def __init__(self, connection: psycopg.Connection) -> None:
        self._connection: psycopg.Connection | None = connection

    def release(self) -> None:
        """Unlocks before closing: closing alone frees the lock only once the
        server's session has ended, after `close()` returns, so a new
        integrator started at once could still be refused."""
        if self._connection is not None:
            try:
                self._connection.execute(
                    "SELECT pg_advisory_unlock(%s)", (INTEGRATOR_LOCK_KEY,)
                )
            except psycopg.Error:
                pass  # the session is gone, and the lock with it
            finally:
                self._connection.close()
                self._connection = None


class PostgresLedgerStore(LedgerStore):
    """The ledger in schema `ledger` of a PostgreSQL database.

    Takes a `postgresql://` URL; the schema is created on first use. Reads
    and writes share a small connection pool; the integrator lock holds a
    connection of its own.
    """

    def __init__(self, url: str, *, max_connections: int = 4) -> None:
        if not url.startswith(("postgresql://", "postgres://")):
            raise LedgerStoreError(
                "the ledger database URL must start with postgresql://, "
                "e.g. postgresql://user@host:5432/ledgercrm"
            )
        self.url = url
        with self._errors("connect to"):
            self._pool = ConnectionPool(
                url, min_size=1, max_size=max_connections, open=True, timeout=30
            )
        with self._errors("create the ledger schema in"), self._transaction() as cur:
            cur.execute("SELECT pg_advisory_xact_lock(%s)", (SCHEMA_LOCK_KEY,))
            cur.execute(_CREATED_BY_ANOTHER_ROLE)
            row = cur.fetchone()
            if not (row and row[0]):
                cur.execute(_SCHEMA)

    @contextmanager
    def _errors(self, doing: str) -> Iterator[None]:
        try:
            yield
        except psycopg.Error as error:
            raise LedgerStoreError(
                f"could not {doing} the ledger database: {error}; check that "
                "PostgreSQL is reachable and the role may use schema ledger"
            ) from error

    @contextmanager
    def _transaction(self) -> Iterator[psycopg.Cursor[TupleRow]]:
        with (
            self._pool.connection() as connection,
            connection.transaction(),
            connection.cursor() as cursor,
        ):
            yield cursor

    def _fetch_one(
        self, query: str, params: tuple[object, ...] = ()
    ) -> TupleRow | None:
        with self._transaction() as cursor:
            cursor.execute(query, params)
            return cursor.fetchone()

    def integrator_position(self) -> IntegratorPosition:
        with self._errors("read the integrator position from"):
            row = self._fetch_one(_SELECT_POSITION)
        return _position(row)

    def append(
        self,
        entries: Sequence[NewEntry],
        tiles: Sequence[Tile],
        position: IntegratorPosition,
    ) -> None:
        start = position.tree_size - len(entries)
        with self._errors("append to"), self._transaction() as cursor:
            cursor.execute(_SELECT_POSITION + " FOR UPDATE")
            check_append_start(_position(cursor.fetchone()).tree_size, start)
            cursor.executemany(
                "INSERT INTO ledger.entries (leaf_index, notification_id, entry) "
                "VALUES (%s, %s, %s)",
                [
                    (start + i, new.notification_id, new.entry)
                    for i, new in enumerate(entries)
                ],
            )
            cursor.executemany(
                "INSERT INTO ledger.tiles (level, tile_index, hashes) "
                "VALUES (%s, %s, %s) ON CONFLICT (level, tile_index) "
                "DO UPDATE SET hashes = excluded.hashes",
                [(tile.level, tile.index, tile.hashes) for tile in tiles],
            )
            cursor.execute(
                "INSERT INTO ledger.integrator_position (notification_id, tree_size) "
                "VALUES (%s, %s) ON CONFLICT (singleton) DO UPDATE SET "
                "notification_id = excluded.notification_id, "
                "tree_size = excluded.tree_size",
                (position.notification_id, position.tree_size),
            )

    def read_entries(self, start: int, stop: int) -> list[bytes]:
        with self._errors("read entries from"), self._transaction() as cursor:
            cursor.execute(
                "SELECT entry FROM ledger.entries "
                "WHERE leaf_index >= %s AND leaf_index < %s ORDER BY leaf_index",
                (start, stop),
            )
            return [bytes(row[0]) for row in cursor.fetchall()]

    def leaf_index_of(self, notification_id: int) -> int | None:
        with self._errors("look up an entry in"):
            row = self._fetch_one(
                "SELECT leaf_index FROM ledger.entries WHERE notification_id = %s",
                (notification_id,),
            )
        return None if row is None else int(row[0])

    def notification_id_at(self, leaf_index: int) -> int | None:
        with self._errors("look up an entry in"):
            row = self._fetch_one(
                "SELECT notification_id FROM ledger.entries WHERE leaf_index = %s",
                (leaf_index,),
            )
        return None if row is None else int(row[0])

    def read_tile(self, level: int, index: int) -> bytes | None:
        with self._errors("read a tile from"):
            row = self._fetch_one(
                "SELECT hashes FROM ledger.tiles WHERE level = %s AND tile_index = %s",
                (level, index),
            )
        return None if row is None else bytes(row[0])

    def add_ledger_checkpoint(self, tree_size: int, signed_note: bytes) -> None:
        with self._errors("add a ledger checkpoint to"), self._transaction() as cursor:
            cursor.execute(
                "INSERT INTO ledger.ledger_checkpoints (tree_size, signed_note) "
                "VALUES (%s, %s)",
                (tree_size, signed_note),
            )

    def latest_ledger_checkpoint(self) -> bytes | None:
        with self._errors("read the latest ledger checkpoint from"):
            row = self._fetch_one(
                "SELECT signed_note FROM ledger.ledger_checkpoints "
                "ORDER BY tree_size DESC LIMIT 1"
            )
        return None if row is None else bytes(row[0])

    def latest_ledger_checkpoint_signed_at(self) -> datetime | None:
        with self._errors("read the latest ledger checkpoint from"):
            row = self._fetch_one(
                "SELECT signed_at FROM ledger.ledger_checkpoints "
                "ORDER BY tree_size DESC LIMIT 1"
            )
        return None if row is None else row[0]

    def ledger_checkpoint_at(self, tree_size: int) -> bytes | None:
        with self._errors("read a ledger checkpoint from"):
            row = self._fetch_one(
                "SELECT signed_note FROM ledger.ledger_checkpoints "
                "WHERE tree_size = %s",
                (tree_size,),
            )
        return None if row is None else bytes(row[0])

    def lock_integrator(self) -> IntegratorLock:
        with self._errors("take the integrator lock in"):
            connection = psycopg.connect(self.url, autocommit=True)
            row = connection.execute(
                "SELECT pg_try_advisory_lock(%s)", (INTEGRATOR_LOCK_KEY,)
            ).fetchone()
        if row is None or not row[0]:
            connection.close()
            raise IntegratorAlreadyRunning(
                "another ledger integrator holds the advisory lock on this database; "
                "run only one integrator per ledger and stop the other first"
            )
        return _AdvisoryLock(connection)

    def close(self) -> None:
        self._pool.close()


_SELECT_POSITION = "SELECT notification_id, tree_size FROM ledger.integrator_position"


def _position(row: TupleRow | None) -> IntegratorPosition:
    if row is None:
        return IntegratorPosition(None, 0)
    return IntegratorPosition(row[0], row[1])
