"""The ledger store contract, run on SQLite and on PostgreSQL."""

import sqlite3

import psycopg
import pytest

from ledger import IntegratorAlreadyRunning, IntegratorPosition, LedgerStoreError
from ledger.merkle import leaf_hash
from ledger.store import NewEntry
from ledger.tiles import Tile
from tests.ledger.ledger_test_support import LedgerSetup


def entries(first_id: int, count: int) -> list[NewEntry]:
    return [
        NewEntry(first_id + i, f"entry {first_id + i}".encode()) for i in range(count)
    ]


def level0(start: int, count: int) -> Tile:
    hashes = b"".join(leaf_hash(f"entry {start + i}".encode()) for i in range(count))
    return Tile(0, 0, hashes)


def raw_execute(setup: LedgerSetup, statement: str) -> None:
    """Run SQL as the superuser, bypassing the store (to show what triggers refuse)."""
    if setup.backend == "sqlite":
        with sqlite3.connect(setup.ledger_file) as connection:
            connection.execute(statement)
        return
    with psycopg.connect(setup.database_url, autocommit=True) as connection:
        connection.execute(
            statement.replace("FROM ", "FROM ledger.").replace(
                "UPDATE ", "UPDATE ledger."
            )
        )


REFUSED_CHANGES = [
    "UPDATE entries SET entry = substr(entry, 2)",
    "DELETE FROM entries",
    "DELETE FROM tiles",
    "UPDATE tiles SET hashes = substr(hashes, 2)",
    "DELETE FROM ledger_checkpoints",
]


class TestLedgerStoreContract:
    def test_empty_store_has_no_position_entries_or_checkpoint(
        self, setup: LedgerSetup
    ) -> None:
        store = setup.store()

        assert store.integrator_position() == IntegratorPosition(None, 0)
        assert store.read_entries(0, 10) == []
        assert store.latest_ledger_checkpoint() is None
        assert store.read_tile(0, 0) is None

    def test_append_writes_entries_tiles_and_position_together(
        self, setup: LedgerSetup
    ) -> None:
        store = setup.store()

        store.append(entries(5, 3), [level0(5, 3)], IntegratorPosition(7, 3))

        assert store.integrator_position() == IntegratorPosition(7, 3)
        assert store.read_entries(0, 3) == [b"entry 5", b"entry 6", b"entry 7"]
        assert store.read_tile(0, 0) == level0(5, 3).hashes
        assert store.leaf_index_of(6) == 1 and store.leaf_index_of(99) is None
        assert store.notification_id_at(2) == 7 and store.notification_id_at(3) is None

    def test_failed_append_leaves_nothing_behind(self, setup: LedgerSetup) -> None:
        store = setup.store()
        store.append(entries(1, 2), [level0(1, 2)], IntegratorPosition(2, 2))

        with pytest.raises(LedgerStoreError):
            store.append(
                [NewEntry(3, b"entry 3"), NewEntry(2, b"again")],
                [level0(1, 4)],
                IntegratorPosition(3, 4),
            )

        assert store.integrator_position() == IntegratorPosition(2, 2)
        assert store.read_entries(0, 10) == [b"entry 1", b"entry 2"]
        assert store.read_tile(0, 0) == level0(1, 2).hashes

    def test_append_that_does_not_start_at_the_tree_end_is_refused(
        self, setup: LedgerSetup
    ) -> None:
        store = setup.store()
        store.append(entries(1, 2), [level0(1, 2)], IntegratorPosition(2, 2))

        with pytest.raises(LedgerStoreError, match="another writer appended"):
            store.append(entries(3, 1), [], IntegratorPosition(3, 4))

    def test_tiles_only_grow_at_their_end(self, setup: LedgerSetup) -> None:
        store = setup.store()
        store.append(entries(1, 2), [level0(1, 2)], IntegratorPosition(2, 2))
        rewritten = Tile(0, 0, bytes(32) + level0(1, 3).hashes[32:])

        with pytest.raises(LedgerStoreError):
            store.append(entries(3, 1), [rewritten], IntegratorPosition(3, 3))
        store.append(entries(3, 1), [level0(1, 3)], IntegratorPosition(3, 3))

        assert store.read_tile(0, 0) == level0(1, 3).hashes

    def test_database_refuses_to_change_or_delete_ledger_rows(
        self, setup: LedgerSetup
    ) -> None:
        store = setup.store()
        store.append(entries(1, 2), [level0(1, 2)], IntegratorPosition(2, 2))
        store.add_ledger_checkpoint(2, b"note at 2")

        for statement in REFUSED_CHANGES:
            with pytest.raises(
                (sqlite3.Error, psycopg.Error), match=r"append-only|grow"
            ):
                raw_execute(setup, statement)

        assert store.read_entries(0, 2) == [b"entry 1", b"entry 2"]

    def test_checkpoints_are_kept_by_tree_size(self, setup: LedgerSetup) -> None:
        store = setup.store()

        store.add_ledger_checkpoint(3, b"note at 3")
        store.add_ledger_checkpoint(10, b"note at 10")

        assert store.latest_ledger_checkpoint() == b"note at 10"
        assert store.ledger_checkpoint_at(3) == b"note at 3"
        assert store.ledger_checkpoint_at(4) is None

    def test_only_one_integrator_lock_is_granted(self, setup: LedgerSetup) -> None:
        first, second = setup.store(), setup.store()
        lock = first.lock_integrator()

        with pytest.raises(IntegratorAlreadyRunning, match="run only one"):
            second.lock_integrator()
        lock.release()
        second.lock_integrator().release()
