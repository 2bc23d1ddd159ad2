"""One small face over SQLite and PostgreSQL for the tables that events feed."""

from __future__ import annotations

import fcntl
import hashlib
import os
import re
import sqlite3
import threading
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any, Literal

import psycopg
from psycopg_pool import ConnectionPool

Dialect = Literal["sqlite", "postgres"]
ADD_COLUMN = re.compile(r"\s*ALTER TABLE\s+(\w+)\s+ADD COLUMN\s+(\w+)", re.I)


class StorageError(Exception):
    """A read-model database failed; the driver error is chained as the cause."""


class LockTaken(Exception):
    """Another process holds the named lock."""


class Cursor(ABC):
    @abstractmethod
    def execute(self, statement: str, params: Sequence[Any] = ()) -> None:
        """Runs one statement written with %s placeholders."""

    @abstractmethod
    def fetchone(self) -> tuple[Any, ...] | None: ...

    @abstractmethod
    def fetchall(self) -> list[tuple[Any, ...]]: ...

    def executemany(self, statement: str, rows: Sequence[Sequence[Any]]) -> None:
        """Runs one statement once per row of parameters."""
        for params in rows:
            self.execute(statement, params)


_RETURNS_ROWS = re.compile(r"^\s*(SELECT|WITH|VALUES|SHOW|TABLE)\b|\bRETURNING\b", re.I)


class BatchingCursor(Cursor):
    """Holds back statements that return no rows and sends each run of the same
    statement at once (`executemany`); a statement that returns rows is sent at
    once, after everything held back, so effects keep their order. `flush()`
    before the transaction ends."""

    def __init__(self, cursor: Cursor) -> None:
        self._cursor = cursor
        self._statement: str | None = None
        self._rows: list[Sequence[Any]] = []

    def execute(self, statement: str, params: Sequence[Any] = ()) -> None:
        if _RETURNS_ROWS.search(statement):
            self.flush()
            self._cursor.execute(statement, params)
            return
        if statement != self._statement:
            self.flush()
            self._statement = statement
        self._rows.append(params)

    def flush(self) -> None:
        if self._statement is None:
            return
        statement, rows = self._statement, self._rows
        self._statement, self._rows = None, []
        if len(rows) == 1:
            self._cursor.execute(statement, rows[0])
        else:
            # Not one multi-row INSERT: psycopg parses a statement of more than 50
            # parameters anew every time (its query cache skips them), which cost
            # more than the round trips it saved; executemany reuses the parse.
            self._cursor.executemany(statement, rows)

    def fetchone(self) -> tuple[Any, ...] | None:
        return self._cursor.fetchone()

    def fetchall(self) -> list[tuple[Any, ...]]:
        return self._cursor.fetchall()


class Database(ABC):
    """Transactions on one database; statements use %s placeholders on both."""

    dialect: Dialect

    @abstractmethod
    def transaction(self) -> Any:
        """A context manager yielding a Cursor; commits on success, else rolls back."""

    def exclusive(self, name: str) -> Any:
        """A context manager holding a lock named `name` across processes while
        it is open; LockTaken if another holder has it."""
        raise NotImplementedError

    def reading(self) -> Any:
        """A context manager yielding a Cursor for queries only, taking no write
        lock, so that readers never wait for writers: on SQLite a connection per
        thread beside the writers' one (one snapshot for the block); on
        PostgreSQL autocommit connections (each statement reads the last commit)."""
        return self.transaction()

    def pipelined_transaction(self) -> Any:
        """A transaction for many statements whose results are mostly not read:
        on PostgreSQL they are sent without waiting for each answer (pipeline
        mode; a fetch waits for what was sent before it)."""
        return self.transaction()

    @abstractmethod
    def close(self) -> None: ...

    def create(self, schema: dict[Dialect, str]) -> None:
        """Creates tables from per-dialect DDL, one statement per `;`."""
        with self.transaction() as cursor:
            for statement in schema[self.dialect].split(";"):
                if statement.strip():
                    cursor.execute(statement)


class _SQLiteCursor(Cursor):
    def __init__(self, cursor: sqlite3.Cursor) -> None:
        self._cursor = cursor

    def execute(self, statement: str, params: Sequence[Any] = ()) -> None:
        self._cursor.execute(statement.replace("%s", "?"), tuple(params))

    def fetchone(self) -> tuple[Any, ...] | None:
        row: tuple[Any, ...] | None = self._cursor.fetchone()
        return row

    def fetchall(self) -> list[tuple[Any, ...]]:
        return self._cursor.fetchall()


class SQLiteDatabase(Database):
    """One SQLite file in WAL mode; writers are serialised by a lock per process."""

    dialect: Dialect = "sqlite"

    def create(self, schema: dict[Dialect, str]) -> None:
        """As Database.create; `ALTER TABLE t ADD COLUMN c` is skipped where `c`
        exists, since SQLite lacks PostgreSQL's ADD COLUMN IF NOT EXISTS."""
        with self.transaction() as cursor:
            for statement in schema[self.dialect].split(";"):
                added = ADD_COLUMN.match(statement)
                if added and self._has_column(cursor, *added.groups()):
                    continue
                if statement.strip():
                    cursor.execute(statement)

    @staticmethod
    def _has_column(cursor: Cursor, table: str, column: str) -> bool:
        cursor.execute(f"SELECT name FROM pragma_table_info('{table}')")
        return column in {row[0] for row in cursor.fetchall()}

    def __init__(self, path: Path, *, durable: bool = True) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._lock = threading.RLock()
        self._connection = sqlite3.connect(
            path, check_same_thread=False, isolation_level=None, timeout=30
        )
        self._connection.execute("PRAGMA journal_mode=WAL")
        if not durable:  # see PostgresDatabase
            self._connection.execute("PRAGMA synchronous=NORMAL")
        self._readers = threading.local()
        self._reader_connections: list[sqlite3.Connection] = []
        self._readers_lock = threading.Lock()
        self._closed = False

    @contextmanager
    def reading(self) -> Iterator[Cursor]:
        """A deferred transaction on this thread's reading connection: in WAL
        mode it reads the last commit while writers go on."""
        if self._closed:
            raise StorageError(f"SQLite database {self.path} is closed")
        connection = getattr(self._readers, "connection", None)
        if connection is None:
            connection = sqlite3.connect(
                f"{self.path.resolve().as_uri()}?mode=ro",
                uri=True,
                check_same_thread=False,  # closed by close(), from any thread
                isolation_level=None,
                timeout=30,
            )
            with self._readers_lock:
                self._reader_connections.append(connection)
            self._readers.connection = connection
        cursor = connection.cursor()
        try:
            cursor.execute("BEGIN")
            yield _SQLiteCursor(cursor)
        except sqlite3.Error as error:
            raise StorageError(f"SQLite database {self.path} failed") from error
        finally:
            if connection.in_transaction:
                connection.rollback()  # nothing was written: ending is enough
            cursor.close()

    @contextmanager
    def transaction(self) -> Iterator[Cursor]:
        with self._lock:
            cursor = self._connection.cursor()
            try:
                cursor.execute("BEGIN IMMEDIATE")
                yield _SQLiteCursor(cursor)
                cursor.execute("COMMIT")
            except BaseException as error:
                self._connection.rollback()
                if isinstance(error, sqlite3.Error):
                    raise StorageError(f"SQLite database {self.path} failed") from error
                raise
            finally:
                cursor.close()

    @contextmanager
    def exclusive(self, name: str) -> Iterator[None]:
        lock_path = self.path.with_name(f"{self.path.name}.{name}.lock")
        handle = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise LockTaken(f"another process holds {lock_path}") from None
            yield
        finally:
            os.close(handle)  # closing releases the lock

    def close(self) -> None:
        with self._readers_lock:
            self._closed = True
            for connection in self._reader_connections:
                connection.close()
            self._reader_connections.clear()
        self._connection.close()


class _PostgresCursor(Cursor):
    def __init__(self, cursor: psycopg.Cursor[Any]) -> None:
        self._cursor = cursor

    def execute(self, statement: str, params: Sequence[Any] = ()) -> None:
        self._cursor.execute(statement.encode(), tuple(params))

    def executemany(self, statement: str, rows: Sequence[Sequence[Any]]) -> None:
        self._cursor.executemany(statement.encode(), [tuple(row) for row in rows])

    def fetchone(self) -> tuple[Any, ...] | None:
        row: tuple[Any, ...] | None = self._cursor.fetchone()
        return row

    def fetchall(self) -> list[tuple[Any, ...]]:
        return self._cursor.fetchall()


class _PooledReadCursor(Cursor):
    """Queries on an autocommit connection from `pool`. A connection cut while
    it sat in the pool (restart, failover) fails at its next statement: a query
    holds no transaction, so it is sent again on another connection, and
    callers never see the cut."""

    def __init__(self, pool: ConnectionPool[Any], *, attempts: int) -> None:
        self._pool = pool
        self._attempts = attempts
        self._connection = pool.getconn()
        self._cursor = self._connection.cursor()

    def execute(self, statement: str, params: Sequence[Any] = ()) -> None:
        attempt = 1
        while True:
            try:
                self._cursor.execute(statement.encode(), tuple(params))
                return
            except psycopg.OperationalError:
                if not self._connection.broken or attempt >= self._attempts:
                    raise
            attempt += 1
            self._pool.putconn(self._connection)  # the pool drops a broken one
            self._connection = self._pool.getconn()
            self._cursor = self._connection.cursor()

    def fetchone(self) -> tuple[Any, ...] | None:
        row: tuple[Any, ...] | None = self._cursor.fetchone()
        return row

    def fetchall(self) -> list[tuple[Any, ...]]:
        rows: list[tuple[Any, ...]] = self._cursor.fetchall()
        return rows

    def close(self) -> None:
        self._cursor.close()
        self._pool.putconn(self._connection)


class PostgresDatabase(Database):
    """A connection pool on one PostgreSQL database.

    With `durable=False` a commit returns before it is flushed to disk (SQLite:
    synchronous=NORMAL; PostgreSQL: synchronous_commit=off): a power loss may
    undo the last commits, never part of one. That suits read models, whose rows
    and projection_position commit together and which replay from the events.
    """

    dialect: Dialect = "postgres"

    def __init__(
        self, conninfo: str, *, max_size: int = 8, durable: bool = True
    ) -> None:
        self.conninfo = conninfo
        self._max_size = max_size
        try:
            self._pool = ConnectionPool(
                conninfo,
                kwargs={} if durable else {"options": "-c synchronous_commit=off"},
                min_size=1,
                max_size=max_size,
                open=True,
                timeout=10,
            )
        except psycopg.Error as error:
            raise StorageError("cannot connect to PostgreSQL") from error
        # Queries: autocommit connections, one round trip per statement instead
        # of BEGIN, the statement and COMMIT. Each statement reads the last
        # commit; the read models' queries need no snapshot across statements.
        self._readers = ConnectionPool(
            conninfo,
            kwargs={"autocommit": True},
            min_size=0,
            max_size=max_size,
            open=True,
            timeout=10,
        )

    @contextmanager
    def transaction(self) -> Iterator[Cursor]:
        try:
            with self._begun() as connection, connection.cursor() as cursor:
                yield _PostgresCursor(cursor)
        except psycopg.Error as error:
            raise StorageError("PostgreSQL failed") from error

    @contextmanager
    def reading(self) -> Iterator[Cursor]:
        reader = None
        try:
            reader = _PooledReadCursor(self._readers, attempts=self._max_size + 1)
            yield reader
        except psycopg.Error as error:
            raise StorageError("PostgreSQL failed") from error
        finally:
            if reader is not None:
                reader.close()

    @contextmanager
    def _begun(self) -> Iterator[psycopg.Connection[Any]]:
        """A pooled connection inside a transaction. A connection cut while it sat
        in the pool (restart, failover) fails at BEGIN, before any work: the pool
        drops it and the next is tried, so callers never see it (and no check
        round trip is spent on every checkout)."""
        failures = 0
        while True:
            with ExitStack() as stack:
                connection = stack.enter_context(self._pool.connection())
                try:
                    stack.enter_context(connection.transaction())
                except psycopg.OperationalError:
                    failures += 1
                    if failures > self._max_size:
                        raise
                    continue
                yield connection
                return

    @contextmanager
    def exclusive(self, name: str) -> Iterator[None]:
        """A session advisory lock on a connection of its own."""
        key = int.from_bytes(
            hashlib.sha256(name.encode()).digest()[:8], "big", signed=True
        )
        try:
            with psycopg.connect(self.conninfo, autocommit=True) as connection:
                row = connection.execute(
                    "SELECT pg_try_advisory_lock(%s)", (key,)
                ).fetchone()
                if not (row and row[0]):
                    raise LockTaken(f"another process holds the lock {name!r}")
                yield
        except psycopg.Error as error:
            raise StorageError("PostgreSQL failed") from error

    @contextmanager
    def pipelined_transaction(self) -> Iterator[Cursor]:
        try:
            with (
                self._begun() as connection,
                connection.pipeline(),
                connection.cursor() as cursor,
            ):
                yield _PostgresCursor(cursor)
        except psycopg.Error as error:
            raise StorageError("PostgreSQL failed") from error

    def close(self) -> None:
        self._readers.close()
        self._pool.close()
