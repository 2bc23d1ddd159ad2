"""Feeds a read model from the notification log, a batch per transaction."""

from __future__ import annotations

import inspect
import logging
import threading
import time
from functools import singledispatchmethod
from typing import Any, Protocol

from eventsourcing.persistence import (
    ApplicationRecorder,
    Notification,
    PersistenceError,
)
from eventsourcing.utils import TopicError, resolve_topic

from projections.positions import SCHEMA as POSITIONS_SCHEMA
from projections.positions import lock_position, read_position, write_position
from projections.sql import BatchingCursor, Database, Dialect, StorageError

logger = logging.getLogger(__name__)


class ReadModel(Protocol):
    """A read model: its name (also its position's), its tables' DDL per dialect
    (`CREATE TABLE` / `CREATE INDEX` statements, which `projections rebuild` reads
    to find the tables to build aside), and how an event changes its rows.

    Optional: `handles(topic) -> bool`, to say which events `apply` wants; without
    it, see `handles_topic`. Events it does not want are neither decoded nor
    applied, and the position still moves past them. Optional too: `sweep(cursor,
    limit) -> int`, background work (clearing erased subjects' sealed copies, see
    `projections.purges`) that the runner does when no event is waiting, with
    `sweep_due() -> bool` saying whether there may be any."""

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
        sweep_size: int = 1000,
        poll_seconds: float = 0.5,
        max_backoff_seconds: float = 30.0,
        settle_seconds: float = 0.0,
    ) -> None:
        self.read_model = read_model
        self.database = database
        self.recorder = recorder
        self.mapper = mapper
        self.batch_size = batch_size
        self.sweep_size = sweep_size
        self.poll_seconds = poll_seconds
        self.max_backoff_seconds = max_backoff_seconds
        self.settle_seconds = settle_seconds
        self.news = threading.Event()
        self._advanced = threading.Condition()
        self._handled: dict[str, bool] = {}
        self._last_batch_at = 0.0
        self._batch_statements = database.dialect == "postgres"
        database.create(POSITIONS_SCHEMA)
        database.create(read_model.schema)

    def position(self) -> int:
        with self.database.transaction() as cursor:
            return read_position(cursor, self.database.dialect, self.read_model.name)

    def head(self) -> int:
        """The last notification id recorded: where the read model is heading."""
        return self.recorder.max_notification_id() or 0

    def run_once(self) -> int:
        """Applies the next batch, if any; returns how many events it applied."""
        start = self.position()
        notifications = self.recorder.select_notifications(
            start=start + 1, limit=self.batch_size
        )
        if not notifications:
            return 0
        self._last_batch_at = time.monotonic()
        # Only the events the read model answers for are decoded and applied;
        # the position still moves past the others.
        events = [
            (self.mapper.to_sealed_domain_event(n), n.id)
            for n in notifications
            if self._handles(n.topic)
        ]
        with self.database.pipelined_transaction() as cursor:
            if self._lock_position(cursor) != start:
                return 0  # another runner applied this batch first
            # On PostgreSQL, runs of the same statement go out together.
            batching = BatchingCursor(cursor) if self._batch_statements else None
            apply = self.read_model.apply  # a singledispatchmethod binds per access
            for event, position in events:
                apply(event, batching or cursor, position)
            if batching:
                batching.flush()
            end = notifications[-1].id
            write_position(cursor, self.database.dialect, self.read_model.name, end)
        with self._advanced:
            self._advanced.notify_all()
        return len(notifications)

    def sweep_once(self) -> int:
        """One transaction of the read model's background work, if it has any;
        returns how much it did (0: nothing left)."""
        sweep = getattr(self.read_model, "sweep", None)
        if sweep is None or not self.read_model.sweep_due():  # type: ignore[attr-defined]
            return 0
        with self.database.transaction() as cursor:
            done: int = sweep(cursor, self.sweep_size)
        return done

    def sweep_all(self) -> int:
        """Does all of the read model's background work now."""
        total = 0
        while done := self.sweep_once():
            total += done
        return total

    def run(self, stop: threading.Event) -> None:
        """Keeps the read model up to date until `stop` is set.

        Supervised: a lost database connection, or any other failure of a batch,
        rolls the batch back and is retried after a pause that doubles up to
        `max_backoff_seconds`, so that a runner never dies silently; it resumes
        from its committed position once the database answers again.
        """
        name = self.read_model.name
        logger.info("projection %s started", name)
        backoff = 0.0
        while not stop.is_set():
            try:
                # Events first; background work only when none is waiting.
                applied = self.run_once() or self.sweep_once()
            except (StorageError, PersistenceError):
                backoff = min(max(2 * backoff, 0.5), self.max_backoff_seconds)
                logger.warning(
                    "projection %s cannot reach its database; retrying in %.1f s",
                    name,
                    backoff,
                    exc_info=True,
                )
                stop.wait(backoff)
                continue
            except Exception:
                backoff = min(max(2 * backoff, 0.5), self.max_backoff_seconds)
                logger.exception(
                    "projection %s failed to apply a batch; retrying in %.1f s",
                    name,
                    backoff,
                )
                stop.wait(backoff)
                continue
            if backoff:
                logger.info("projection %s resumed at %d", name, self.position())
                backoff = 0.0
            if applied == 0:
                if self.news.wait(self.poll_seconds):
                    # Under a stream of events, take at most one batch per
                    # `settle_seconds` so that events gather into batches instead
                    # of a transaction each; after a quiet spell, go at once.
                    since = time.monotonic() - self._last_batch_at
                    if since < self.settle_seconds:
                        stop.wait(self.settle_seconds - since)
                self.news.clear()
        logger.info("projection %s stopped", name)

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

    def _handles(self, topic: str) -> bool:
        handles = self._handled.get(topic)
        if handles is None:
            handles = self._handled[topic] = handles_topic(self.read_model, topic)
        return handles

    def _lock_position(self, cursor: Any) -> int:
        return lock_position(cursor, self.database.dialect, self.read_model.name)


def handles_topic(read_model: ReadModel, topic: str) -> bool:
    """Whether `read_model.apply` does anything with events of `topic`.

    A read model may answer itself (an optional `handles(topic)` method). Else,
    when `apply` is a `functools.singledispatchmethod` whose default (the `object`
    implementation) does nothing, events that dispatch to that default are not
    handled; any other `apply` handles every event.
    """
    handles = getattr(read_model, "handles", None)
    if handles is not None:
        return bool(handles(topic))
    apply = inspect.getattr_static(read_model, "apply", None)
    if not isinstance(apply, singledispatchmethod):
        return True
    try:
        event_class = resolve_topic(topic)
    except TopicError:
        return True
    default = apply.dispatcher.registry[object]
    if getattr(default, "__code__", None) is None or (
        default.__code__.co_code != _does_nothing.__code__.co_code
    ):
        return True  # a default that does something handles every event
    return apply.dispatcher.dispatch(event_class) is not default


def _does_nothing(self: Any, event: Any, cursor: Any, position: int) -> None:
    """The body of a default `apply` that skips events (a docstring at most)."""
