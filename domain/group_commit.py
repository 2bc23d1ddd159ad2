"""Group commit: concurrent callers' aggregates saved in one transaction.

Each caller blocks until its own aggregate is stored, exactly as with a save of
its own; but while one transaction commits, the callers that arrive meanwhile
queue up and the next of them saves the whole queue at once. Under no
concurrency a caller saves alone and waits for nobody; under load, one durable
commit serves many callers (what makes recording every read affordable).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any
from uuid import UUID

SaveMany = Callable[[Sequence[Any]], dict[UUID, int]]


class _Entry:
    __slots__ = ("aggregate", "done", "error", "position")

    def __init__(self, aggregate: Any) -> None:
        self.aggregate = aggregate
        self.done = False
        self.position = 0
        self.error: BaseException | None = None


class GroupCommit:
    """Saves aggregates submitted from many threads in shared transactions."""

    def __init__(self, save_many: SaveMany, *, max_batch: int = 500) -> None:
        self._save_many = save_many
        self._max_batch = max_batch
        self._pending: list[_Entry] = []
        self._saving = False
        self._changed = threading.Condition()

    def save(self, aggregate: Any) -> int:
        """Stores `aggregate`, maybe with others; returns its last position.
        A failed transaction raises its error in every caller it carried."""
        entry = _Entry(aggregate)
        with self._changed:
            self._pending.append(entry)
            while not entry.done:
                if self._saving:
                    self._changed.wait()
                    continue
                batch = self._pending[: self._max_batch]
                del self._pending[: self._max_batch]
                self._saving = True
                self._changed.release()
                try:
                    self._save_batch(batch)
                finally:
                    self._changed.acquire()
                    self._saving = False
                    self._changed.notify_all()
        if entry.error is not None:
            raise entry.error
        return entry.position

    def _save_batch(self, batch: list[_Entry]) -> None:
        try:
            positions = self._save_many([entry.aggregate for entry in batch])
        except BaseException as error:
            for entry in batch:
                entry.error = error
        else:
            for entry in batch:
                entry.position = positions[entry.aggregate.id]
        finally:
            for entry in batch:
                entry.done = True
