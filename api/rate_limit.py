"""A sliding-window limit on unauthenticated endpoints, per client and overall."""

import threading
import time
from collections import deque


class SlidingWindowLimit:
    """Admits at most `per_client` calls per client and `overall` calls in all
    per `window` seconds.

    Note: the counts live in this process, so each API process admits its own
    share; a shared store (a table or a proxy's limit) would make it global.
    """

    def __init__(self, per_client: int, overall: int, window: float) -> None:
        self.per_client, self.overall, self.window = per_client, overall, window
        self._calls: dict[str, deque[float]] = {}
        self._all: deque[float] = deque()
        self._lock = threading.Lock()

    def admit(self, client: str) -> float:
        """0 if admitted (and counted), else the seconds to wait before retrying."""
        now = time.monotonic()
        with self._lock:
            calls = self._calls.setdefault(client, deque())
            for queue in (calls, self._all):
                while queue and queue[0] <= now - self.window:
                    queue.popleft()
            full = [
                q
                for q, n in ((calls, self.per_client), (self._all, self.overall))
                if len(q) >= n
            ]
            if full:
                return max(q[0] + self.window - now for q in full)
            calls.append(now)
            self._all.append(now)
            return 0.0
