"""One read of the notification log for every runner in a process.

Each event wakes every projection runner, and each asks the event store for the
same notifications. `NotificationFeed` keeps the most recent ones in memory, so
that the first runner to ask reads them from the database and the others from
memory.

What the cache may answer without the database: every notification with an id
from `_first` to `_last` is in it (a read of the log told so), as of the moment
`_read_at` when that read began. Inserts into the log are serialised and commit
in id order (SQLite's single writer; on PostgreSQL our recorders take
eventsourcing's table lock), so no notification with an id at or below `_last`
can appear later. A caller that needs everything committed before a moment
(`fresh_after`) gets a short answer from memory only if the read behind it began
after that moment; otherwise it reads the database, and the cache grows.
"""

from __future__ import annotations

import bisect
import threading
import time
from collections.abc import Sequence
from typing import Any

from eventsourcing.persistence import ApplicationRecorder, Notification


class NotificationFeed:
    """The notification log of `recorder`, with its newest `capacity`
    notifications kept in memory."""

    def __init__(self, recorder: ApplicationRecorder, *, capacity: int = 5000) -> None:
        self.recorder = recorder
        self.capacity = capacity
        self._lock = threading.Lock()
        self._ids: list[int] = []
        self._notifications: list[Notification] = []
        self._first = 0  # with _last: the range held completely; empty if > _last
        self._last = -1
        self._read_at = 0.0
        self.recorded_at = 0.0

    def set(self) -> None:
        """Called when this process recorded events, after their commit and
        before the runners are woken: a runner woken by that news asks for
        everything committed before `recorded_at`, which the first runner's read
        of the log answers for the others."""
        self.recorded_at = time.monotonic()

    def max_notification_id(self) -> int | None:
        return self.recorder.max_notification_id()

    def select_notifications(
        self,
        start: int,
        limit: int,
        stop: int | None = None,
        topics: Sequence[str] = (),
        *,
        fresh_after: float | None = None,
        **kwargs: Any,
    ) -> Sequence[Notification]:
        """As `ApplicationRecorder.select_notifications`. With `fresh_after`
        (a `time.monotonic()` reading), the answer includes everything
        committed before that moment; without it, everything committed before
        the call."""
        if stop is not None or topics or kwargs:
            return self.recorder.select_notifications(
                start, limit, stop=stop, topics=topics, **kwargs
            )
        if fresh_after is None:
            fresh_after = time.monotonic()
        with self._lock:
            cached = self._cached(start, limit, fresh_after)
        if cached is not None:
            return cached
        read_at = time.monotonic()
        notifications = self.recorder.select_notifications(start, limit)
        with self._lock:
            self._keep(start, limit, notifications, read_at)
        return notifications

    def _cached(
        self, start: int, limit: int, fresh_after: float
    ) -> Sequence[Notification] | None:
        if not self._first <= start <= self._last + 1:
            return None
        index = bisect.bisect_left(self._ids, start)
        found = self._notifications[index : index + limit]
        if len(found) == limit or self._read_at >= fresh_after:
            return found
        return None

    def _keep(
        self,
        start: int,
        limit: int,
        notifications: Sequence[Notification],
        read_at: float,
    ) -> None:
        # The read covered [start, last id returned]; and, if it returned fewer
        # than `limit`, everything there was when it began.
        if notifications:
            covered_to = notifications[-1].id
        elif start <= self._last + 1:
            covered_to = start - 1
        else:
            return
        short = len(notifications) < limit
        if not self._first <= start <= self._last + 1:
            # A range apart from the cached one: it replaces it if it is newer.
            if covered_to <= self._last:
                return
            self._ids = [n.id for n in notifications]
            self._notifications = list(notifications)
            self._first, self._last = start, covered_to
            self._read_at = read_at if short else 0.0
        else:
            new = [n for n in notifications if n.id > self._last]
            self._ids += [n.id for n in new]
            self._notifications += new
            if covered_to >= self._last and short:
                self._read_at = max(self._read_at, read_at)
            elif covered_to > self._last:
                self._read_at = 0.0  # a full batch says nothing about what follows
            self._last = max(self._last, covered_to)
        overflow = len(self._ids) - self.capacity
        if overflow > 0:
            self._first = self._ids[overflow - 1] + 1
            del self._ids[:overflow]
            del self._notifications[:overflow]
