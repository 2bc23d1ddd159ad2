"""Feeds a read model from the notification log, a batch per transaction."""

from __future__ import annotations

import logging
import threading
import time
from typing import Any, Protocol

from eventsourcing.persistence import (
    ApplicationRecorder,
    Notification,
    PersistenceError,
)

from projections.positions import SCHEMA as POSITIONS_SCHEMA
from projections.positions import read_position, table, write_position
from projections.sql import Database, Dialect, StorageError

logger = logging.getLogger(__name__)


class ReadModel(Protocol):
    name: str
    schema: dict[Dialect, str]

    def apply(self, event: Any, cursor: Any, position: int) -> None: ...


class SealedEventMapper(Protocol):
    def to_sealed_domain_event(self, stored_event: Notification) -> Any: ...


class ProjectionRunner:
    """Applies events to a read model with its projection_position in one transaction.

    A crash between batches loses nothing and repeats nothing: the rows and the
    position commit together, and a batch starts only where the position says.
    """

    def __init__(
        self,
        read_model: ReadModel,
        database: Database,
        recorder: ApplicationRecorder,
        mapper: SealedEventMapper,
        *,
        batch_size: int = 500,
        poll_seconds: float = 0.5,
    ) -> None:
        self.read_model = read_model
        self.database = database
        self.recorder = recorder
        self.mapper = mapper
        self.batch_size = batch_size
        self.poll_seconds = poll_seconds
        self.news = threading.Event()
        self._advanced = threading.Condition()
        database.create(POSITIONS_SCHEMA)
        database.create(read_model.schema)

    def position(self) -> int:
        with self.database.transaction() as cursor:
            return read_position(cursor, self.database.dialect, self.read_model.name)

    def run_once(self) -> int:
        """Applies the next batch, if any; returns how many events it applied."""
        start = self.position()
        notifications = self.recorder.select_notifications(
            start=start + 1, limit=self.batch_size
        )
        if not notifications:
            return 0
        events = [self.mapper.to_sealed_domain_event(n) for n in notifications]
        with self.database.transaction() as cursor:
            if self._lock_position(cursor) != start:
                return 0  # another runner applied this batch first
            for event, notification in zip(events, notifications, strict=True):
                self.read_model.apply(event, cursor, notification.id)
            end = notifications[-1].id
            write_position(cursor, self.database.dialect, self.read_model.name, end)
        with self._advanced:
            self._advanced.notify_all()
        return len(notifications)

    def run(self, stop: threading.Event) -> None:
        """Keeps the read model up to date until `stop` is set; survives outages."""
        logger.info(
            "projection %s started at %d", self.read_model.name, self.position()
        )
        while not stop.is_set():
            try:
                applied = self.run_once()
            except (StorageError, PersistenceError):
                logger.warning(
                    "projection %s cannot reach its database; retrying",
                    self.read_model.name,
                    exc_info=True,
                )
                stop.wait(1.0)
                continue
            if applied == 0:
                self.news.wait(self.poll_seconds)
                self.news.clear()
        logger.info("projection %s stopped", self.read_model.name)

    def catch_up(self) -> int:
        """Applies everything recorded so far; returns how many events it applied."""
        total = 0
        while applied := self.run_once():
            total += applied
        return total

    def wait_for(self, position: int, timeout: float) -> bool:
        """Blocks until the read model reached `position`, or `timeout` passed."""
        deadline = time.monotonic() + timeout
        while self.position() < position:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            with self._advanced:
                self._advanced.wait(min(remaining, 0.05))
        return True

    def _lock_position(self, cursor: Any) -> int:
        dialect = self.database.dialect
        positions = table(dialect, "projection_positions")
        if dialect == "postgres":
            cursor.execute(
                f"INSERT INTO {positions} (name, position) "
                "VALUES (%s, 0) ON CONFLICT DO NOTHING",
                (self.read_model.name,),
            )
            cursor.execute(
                f"SELECT position FROM {positions} WHERE name = %s FOR UPDATE",
                (self.read_model.name,),
            )
            row = cursor.fetchone()
            return int(row[0]) if row else 0
        # SQLite: BEGIN IMMEDIATE already holds the database's write lock.
        return read_position(cursor, dialect, self.read_model.name)
