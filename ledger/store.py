"""The ledger store interface: entries, tiles, integrator position, checkpoints."""

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Self

from ledger.errors import LedgerStoreError
from ledger.tiles import Tile


@dataclass(frozen=True)
class IntegratorPosition:
    """How far the integrator has read: last notification id and tree size."""

    notification_id: int | None
    tree_size: int


@dataclass(frozen=True)
class NewEntry:
    """An entry to append, with the notification it was made from."""

    notification_id: int
    entry: bytes


class IntegratorLock(ABC):
    """Held by the one running integrator; released when it stops."""

    @abstractmethod
    def release(self) -> None:
        """Give the lock up; safe to call twice."""


class LedgerStore(ABC):
    """Where the ledger keeps its state; one implementation per database.

    Entries and tiles are append-only: a tile only grows at its end until it
    holds 256 hashes. `append` writes entries, tiles and the position in one
    transaction, so a crash never leaves one without the others.
    """

    @abstractmethod
    def integrator_position(self) -> IntegratorPosition:
        """The stored position (None and 0 for an empty ledger)."""

    @abstractmethod
    def append(
        self,
        entries: Sequence[NewEntry],
        tiles: Sequence[Tile],
        position: IntegratorPosition,
    ) -> None:
        """Append entries after the current tree, upsert tiles, move the position.

        Raises LedgerStoreError when the stored tree size is not
        `position.tree_size - len(entries)`: someone else appended meanwhile.
        """

    @abstractmethod
    def read_entries(self, start: int, stop: int) -> list[bytes]:
        """The entries at leaf indexes [start, stop), as stored."""

    @abstractmethod
    def leaf_index_of(self, notification_id: int) -> int | None:
        """The leaf index of a notification's entry, or None."""

    @abstractmethod
    def notification_id_at(self, leaf_index: int) -> int | None:
        """The notification id the entry at a leaf index was made from, or None."""

    @abstractmethod
    def read_tile(self, level: int, index: int) -> bytes | None:
        """The stored hashes of a tile (partial or full), or None."""

    @abstractmethod
    def add_ledger_checkpoint(self, tree_size: int, signed_note: bytes) -> None:
        """Keep a signed ledger checkpoint."""

    @abstractmethod
    def latest_ledger_checkpoint(self) -> bytes | None:
        """The signed note of the largest ledger checkpoint, or None."""

    def latest_ledger_checkpoint_signed_at(self) -> datetime | None:
        """When the latest ledger checkpoint was stored (None before the first)."""
        raise NotImplementedError(
            f"{type(self).__name__} does not record signing times"
        )

    @abstractmethod
    def ledger_checkpoint_at(self, tree_size: int) -> bytes | None:
        """The signed note of the ledger checkpoint at this size, or None."""

    @abstractmethod
    def lock_integrator(self) -> IntegratorLock:
        """Take the integrator lock, or raise IntegratorAlreadyRunning."""

    @abstractmethod
    def close(self) -> None:
        """Close connections; the store cannot be used afterwards."""

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


def check_append_start(stored_size: int, start: int) -> None:
    """Refuse an append that does not start where the stored tree ends."""
    if stored_size != start:
        raise LedgerStoreError(
            f"the ledger holds {stored_size} entries where {start} were expected: "
            "another writer appended; restart the integrator to resume from there"
        )


def open_ledger_store(database_url: str) -> LedgerStore:
    """The ledger store for a LedgerCRM database URL.

    `sqlite:///DATA_DIR` gives `DATA_DIR/ledger.sqlite3`; `postgresql://...`
    gives schema `ledger` in that database.
    """
    if database_url.startswith("sqlite:///"):
        from ledger.sqlite_ledger_store import SQLiteLedgerStore

        data_dir = Path(database_url.removeprefix("sqlite:///"))
        data_dir.mkdir(parents=True, exist_ok=True)
        return SQLiteLedgerStore(data_dir / "ledger.sqlite3")
    if database_url.startswith(("postgresql://", "postgres://")):
        from ledger.postgres_ledger_store import PostgresLedgerStore

        return PostgresLedgerStore(database_url)
    raise LedgerStoreError(
        f"unsupported ledger database URL {database_url.split(':', 1)[0]!r}; use "
        "sqlite:///DATA_DIR or postgresql://user@host:5432/dbname"
    )
