"""Abuse limits: a request rate per token, and the bulk-read alert.

Both count in this process's memory. Known limit: with several API processes
each counts alone, so a token may make up to N times the rate across N
processes, and a bulk read spread over them is seen only in part; a shared
counter (PostgreSQL or a proxy's rate limit) would lift this. Counts start
afresh on restart.
"""

import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from uuid import UUID


class RateLimiter:
    """At most `limit` requests per principal in each `window` seconds."""

    def __init__(
        self,
        limit: int,
        window: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limit = limit
        self.window = window
        self._clock = clock
        self._lock = threading.Lock()
        self._windows: dict[str, tuple[float, int]] = {}

    def retry_after(self, principal_id: str) -> int | None:
        """Counts one request; None if allowed, else seconds until it would be."""
        now = self._clock()
        with self._lock:
            started, count = self._windows.get(principal_id, (now, 0))
            if now - started >= self.window:
                started, count = now, 0
            if count >= self.limit:
                return max(1, math.ceil(started + self.window - now))
            self._windows[principal_id] = (started, count + 1)
            if len(self._windows) > 10_000:
                self._forget_old(now)
        return None

    def _forget_old(self, now: float) -> None:
        for principal_id, (started, _) in list(self._windows.items()):
            if now - started >= self.window:
                del self._windows[principal_id]


class BulkReadWatch:
    """Notices a principal reading personal data of too many customers.

    `read` returns True the first time a principal's distinct customers within
    the window exceed `threshold`; it stays quiet for that principal until
    the window has passed, so one episode raises one alert.
    """

    def __init__(
        self,
        threshold: int,
        window: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.threshold = threshold
        self.window = window
        self._clock = clock
        self._lock = threading.Lock()
        self._reads: dict[str, OrderedDict[UUID, float]] = {}
        self._alerted_at: dict[str, float] = {}

    def read(self, principal_id: str, customer_id: UUID) -> bool:
        now = self._clock()
        with self._lock:
            reads = self._reads.setdefault(principal_id, OrderedDict())
            reads.pop(customer_id, None)
            reads[customer_id] = now
            while reads and next(iter(reads.values())) <= now - self.window:
                reads.popitem(last=False)
            if len(reads) <= self.threshold:
                return False
            alerted = self._alerted_at.get(principal_id)
            if alerted is not None and now - alerted < self.window:
                return False
            self._alerted_at[principal_id] = now
            return True

    def customers_read(self, principal_id: str) -> int:
        with self._lock:
            return len(self._reads.get(principal_id, {}))
