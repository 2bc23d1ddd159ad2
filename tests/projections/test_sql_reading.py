"""Queries on SQLite read models run on a connection per thread: they see the
last commit and never wait for a writer."""

import threading
from pathlib import Path

import pytest

from projections.sql import SQLiteDatabase, StorageError


def test_a_query_answers_while_a_writer_holds_its_transaction(tmp_path: Path) -> None:
    database = SQLiteDatabase(tmp_path / "models.sqlite3")
    database.create({"sqlite": "CREATE TABLE t (n INTEGER)", "postgres": ""})
    with database.transaction() as cursor:
        cursor.execute("INSERT INTO t VALUES (1)")
    writing, release = threading.Event(), threading.Event()

    def writer() -> None:
        with database.transaction() as cursor:
            cursor.execute("INSERT INTO t VALUES (2)")
            writing.set()
            release.wait(30)

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        assert writing.wait(30)
        with database.reading() as cursor:
            cursor.execute("SELECT n FROM t ORDER BY n")
            during = cursor.fetchall()
    finally:
        release.set()
        thread.join(30)
    with database.reading() as cursor:
        cursor.execute("SELECT n FROM t ORDER BY n")
        after = cursor.fetchall()
    database.close()

    assert during == [(1,)]  # the last commit, not the writer's open work
    assert after == [(1,), (2,)]


def test_a_reading_connection_cannot_write(tmp_path: Path) -> None:
    database = SQLiteDatabase(tmp_path / "models.sqlite3")
    database.create({"sqlite": "CREATE TABLE t (n INTEGER)", "postgres": ""})

    with pytest.raises(StorageError), database.reading() as cursor:
        cursor.execute("INSERT INTO t VALUES (1)")
    database.close()


def test_a_closed_database_refuses_queries(tmp_path: Path) -> None:
    database = SQLiteDatabase(tmp_path / "models.sqlite3")
    database.create({"sqlite": "CREATE TABLE t (n INTEGER)", "postgres": ""})
    with database.reading() as cursor:
        cursor.execute("SELECT count(*) FROM t")
    database.close()

    with pytest.raises(StorageError, match="closed"), database.reading():
        pass
