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

from projections.feed import NotificationFeed
from projections.positions import SCHEMA as POSITIONS_SCHEMA
from projections.positions import lock_position, read_position, write_position
from projections.sql import BatchingCursor, Database, Dialect, StorageError

logger = logging.getLogger(__name__)

# How long a runner may hold in memory a position it passed over notifications
# its read model does not handle before it commits it.
SKIP_COMMIT_SECONDS = 1.0


class ReadModel(Protocol):
    """A read model: its name (also its position's), its tables' DDL per dialect
    (`CREATE TABLE` / `CREATE INDEX` statements, which `projections rebuild` reads
    to find the tables to build aside), and how an event changes its rows.

    Optional: `handles(topic) -> bool`, to say which events `apply` wants; without
    it, see `handles_topic`. Events it does not want are neither decoded nor
    applied, and the position still moves past them. Optional too: `sweep(cursor,
    limit) -> int`, background work (clearing erased subjects' sealed copies, see
    `projections.purges`) that the runner does when no event is waiting, with
    `sweep_due() -> bool` saying whether there may be any. And `start_batch()`
    with `finish_batch(cursor)`: a read model that holds its writes back while a
    batch's events are applied (to write each touched row once) is told when a
    batch starts, dropping anything held from a batch that failed, and writes
    what it holds in `finish_batch`, inside the batch's transaction, before the
    position is written."""

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
        recorder: ApplicationRecorder | NotificationFeed,
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
        # Runners of one process share a feed (see projections.feed); a runner
        # given the recorder itself reads through a feed of its own.
        self.recorder = (
            recorder
            if isinstance(recorder, NotificationFeed)
            else NotificationFeed(recorder)
        )
        self.mapper = mapper
        self.batch_size = batch_size
        self.sweep_size = sweep_size
        self.poll_seconds = poll_seconds
        self.max_backoff_seconds = max_backoff_seconds
        self.settle_seconds = settle_seconds
        # Set by notice() and wake(), after the feed noted the time (see run).
        self.news = threading.Event()
        self.hurry = threading.Event()  # someone waits: skip the settling pause
        self._advanced = threading.Condition()
        # One batch at a time in this process; positions as this runner knows
        # them: `_committed` is in the database, `_passed` may run ahead of it
        # over notifications the read model does not handle (see run_once).
        self._batch_lock = threading.Lock()
        self._committed: int | None = None
        self._passed = 0
        self._passed_since = 0.0
        self._handled: dict[str, bool] = {}
        self._last_batch_at = 0.0
        self._batch_statements = database.dialect == "postgres"
        database.create(POSITIONS_SCHEMA)
        database.create(read_model.schema)

    def position(self) -> int:
        """How far the read model has read: its committed position, or further
        where this runner has passed notifications it does not handle."""
        with self.database.reading() as cursor:
            stored = read_position(cursor, self.database.dialect, self.read_model.name)
        return max(stored, self._passed)

    def head(self) -> int:
        """The last notification id recorded: where the read model is heading."""
        return self.recorder.max_notification_id() or 0

    def run_once(self, *, fresh_after: float | None = None) -> int:
        """Applies the next batch, if any; returns how many notifications it read
        (0: none was waiting, or another runner took the batch). `fresh_after`
        (a `time.monotonic()` reading) says which events it must see: those
        committed before then (default: now)."""
        with self._batch_lock:
            return self._run_batch(fresh_after)

    def _run_batch(self, fresh_after: float | None) -> int:
        if self._committed is None:
            with self.database.reading() as cursor:
                self._committed = self._passed = read_position(
                    cursor, self.database.dialect, self.read_model.name
                )
        notifications = self.recorder.select_notifications(
            self._passed + 1, self.batch_size, fresh_after=fresh_after
        )
        if not notifications:
            return 0
        self._last_batch_at = time.monotonic()
        end = notifications[-1].id
        # Only the events the read model answers for are decoded and applied;
        # the position still moves past the others.
        events = [
            (self.mapper.to_sealed_domain_event(n), n.id)
            for n in notifications
            if self._handles(n.topic)
        ]
        if not events:
            # Nothing to write: move on in memory and commit the position later
            # (when idle, or within SKIP_COMMIT_SECONDS), so that a stream of
            # events this read model ignores (recorded reads, say) costs it no
            # transaction each. A crash before then only means reading them again.
            if self._passed == self._committed:
                self._passed_since = time.monotonic()
            self._passed = end
            if time.monotonic() - self._passed_since >= SKIP_COMMIT_SECONDS:
                self._commit_passed()
            self._notify_advanced()
            return len(notifications)
        with self.database.pipelined_transaction() as cursor:
            if self._lock_position(cursor) != self._committed:
                self._committed = None  # another runner moved it: read it again
                return 0
            # On PostgreSQL, runs of the same statement go out together.
            batching = BatchingCursor(cursor) if self._batch_statements else None
            apply_batch(self.read_model, events, batching or cursor)
            if batching:
                batching.flush()
            write_position(cursor, self.database.dialect, self.read_model.name, end)
        self._committed = self._passed = end
        self._notify_advanced()
        return len(notifications)

    def commit_position(self) -> None:
        """Commits the position this runner has passed, if it is ahead of the
        committed one (the runner does it when idle and when it stops)."""
        with self._batch_lock:
            self._commit_passed()

    def _commit_passed(self) -> None:
        if self._committed is None or self._passed <= self._committed:
            return
        with self.database.transaction() as cursor:
            if self._lock_position(cursor) != self._committed:
                self._committed = None  # another runner moved it: read it again
                return
            write_position(
                cursor, self.database.dialect, self.read_model.name, self._passed
            )
        self._committed = self._passed

    def notice(self, topics: set[str]) -> None:
        """Events of `topics` were recorded in this process: wake if the read
        model handles any of them. It passes over the others when it next reads
        (woken by an event it handles, by `wake`, or every `poll_seconds`)."""
        if any(self._handles(topic) for topic in topics):
            self.news.set()

    def wake(self) -> None:
        """Read the log now: something was recorded that the runner was not told
        of (another process), or someone waits for a position."""
        self.recorder.set()  # the runner must read past what the feed holds
        self.news.set()
        self.hurry.set()

    def _notify_advanced(self) -> None:
        with self._advanced:
            self._advanced.notify_all()

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
        woke_at: float | None = None
        while not stop.is_set():
            try:
                # Events first; background work only when none is waiting.
                read = self.run_once(fresh_after=woke_at)
                swept = 0 if read else self.sweep_once()
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
            if read >= self.batch_size or swept:
                continue  # more may be waiting
            # Caught up with what was there when woken: wait for news. An event
            # recorded in this process since sets `news` after its commit.
            if not self.news.is_set():
                self.commit_position()  # idle: keep what was passed
            news = self.news.wait(self.poll_seconds)
            if news:
                # Under a stream of events, take at most one batch per
                # `settle_seconds` so that events gather into batches instead
                # of a transaction each; after a quiet spell, go at once.
                since = time.monotonic() - self._last_batch_at
                if since < self.settle_seconds:
                    self.hurry.wait(self.settle_seconds - since)
            self.news.clear()
            self.hurry.clear()
            # The next batch must hold the events whose news was just cleared:
            # those recorded by `feed.recorded_at` (set before the news); when
            # woken by the clock (another process may have recorded events),
            # everything committed until now.
            woke_at = self.recorder.recorded_at if news else time.monotonic()
        try:
            self.commit_position()
        except (StorageError, PersistenceError):
            logger.warning("projection %s could not commit its position", name)
        logger.info("projection %s stopped", name)

    def catch_up(self) -> int:
        """Applies everything recorded so far; returns how many events it applied."""
        with self._batch_lock:
            self._commit_passed()
            self._committed = None  # start from the stored position, whatever moved it
        total = 0
        while applied := self.run_once():
            total += applied
        self.commit_position()
        return total

    def wait_for(self, position: int, timeout: float) -> bool:
        """Blocks until the read model reached `position`, or `timeout` passed."""
        deadline = time.monotonic() + timeout
        if self._passed < position:
            self.wake()  # it may not have been told of the events before `position`
        while self._passed < position and self.position() < position:
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


def apply_batch(
    read_model: ReadModel, events: list[tuple[Any, int]], cursor: Any
) -> None:
    """Applies `events` (each with its position) in order, inside the caller's
    transaction, with the read model's optional batch hooks around them."""
    start = getattr(read_model, "start_batch", None)
    if start is not None:
        start()
    apply = read_model.apply  # a singledispatchmethod binds per access
    for event, position in events:
        apply(event, cursor, position)
    finish = getattr(read_model, "finish_batch", None)
    if finish is not None:
        finish(cursor)


def _does_nothing(self: Any, event: Any, cursor: Any, position: int) -> None:
    """The body of a default `apply` that skips events (a docstring at most)."""
