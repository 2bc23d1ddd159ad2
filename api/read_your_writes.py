"""Read your own writes: a query given `after_position` (the `position` a command
answered) waits, at most LEDGERCRM_READ_WAIT_SECONDS, until what it reads has
reached that position, else answers 503 with Retry-After.

What "reached" means depends on what the query reads: the read models (every
projection has applied the position), the event store (the position is recorded
there, which on a lagging replica may take a moment), or the audit ledger (a
signed ledger checkpoint covers the position's entry).
"""

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Annotated

from fastapi import Depends, Query

from api.auth import ServicesDep
from api.errors import ApiError
from api.wiring import Services
from ledger import LedgerLookupError
from projections import ProjectionRunner

AfterPosition = Annotated[
    int | None,
    Query(
        ge=0,
        description="a position a command answered: wait (bounded) until this "
        "query's data includes it, else 503 with Retry-After",
    ),
]


def wait_for_read_side(
    services: Services, position: int | None, *runners: ProjectionRunner
) -> None:
    """The read models a query reads have applied `position`: those of `runners`,
    by default the customers read model (customers, interactions, statistics)."""
    if position is None:
        return
    if services.wait_for_read_side(position, 0.0, runners or None):
        return  # reached already: no wait, no slot
    with _waiting(services, "read side"):
        timeout = services.settings.read_wait_seconds
        if not services.wait_for_read_side(position, timeout, runners or None):
            _behind("read side", position)


def wait_for_event_store(services: Services, position: int | None) -> None:
    """The event store holds `position` (queries that replay aggregates)."""
    if position is not None:
        _poll(services, position, "event store", lambda: services.runner.head())


def wait_for_ledger(services: Services, position: int | None) -> None:
    """A signed ledger checkpoint covers the entry of the event at `position`."""
    if position is None:
        return

    def covered() -> int:
        try:
            size = services.ledger.latest_ledger_checkpoint().size
        except LedgerLookupError:
            return 0
        leaf_index = services.ledger_store.leaf_index_of(position)
        return position if leaf_index is not None and leaf_index < size else 0

    _poll(services, position, "audit ledger", covered)


def _poll(
    services: Services, position: int, what: str, reached: Callable[[], int]
) -> None:
    if reached() >= position:
        return
    with _waiting(services, what):
        deadline = time.monotonic() + services.settings.read_wait_seconds
        while reached() < position:
            if time.monotonic() >= deadline:
                _behind(what, position)
            time.sleep(0.05)


@contextmanager
def _waiting(services: Services, what: str) -> Iterator[None]:
    """Holds one of the slots for requests waiting for the read side (each holds
    a worker thread meanwhile); with none free, answers 503 at once."""
    if not services.read_waits.acquire(blocking=False):
        raise ApiError(
            503,
            "read_side_busy",
            f"too many requests are waiting for the {what} already; retry shortly",
            headers={"Retry-After": "1"},
        )
    try:
        yield
    finally:
        services.read_waits.release()


def _behind(what: str, position: int) -> None:
    raise ApiError(
        503,
        "read_side_behind",
        f"the {what} has not reached position {position} yet; retry shortly",
        headers={"Retry-After": "1"},
    )


def _caught_up(services: ServicesDep, after_position: AfterPosition = None) -> None:
    """For queries that read both the event store and read models (the privacy
    office's): wait until the event store holds `after_position` and every read
    model has applied it."""
    if after_position is None:
        return
    wait_for_event_store(services, after_position)
    wait_for_read_side(services, after_position, *services.runners)


CaughtUp = Annotated[None, Depends(_caught_up)]


def _recorded(services: ServicesDep, after_position: AfterPosition = None) -> None:
    """For pages without authentication that read only the event store: a
    position the event store does not hold yet is refused at once rather than
    waited for, so that anonymous callers cannot hold server threads with
    positions from the future. A command's position is committed before it is
    answered, so a real one is always there."""
    if after_position is None:
        return
    head = services.runner.head()
    if after_position > head:
        raise ApiError(
            400,
            "unknown_position",
            f"no event is recorded at position {after_position} (the last is "
            f"{head}); pass a position that a command answered",
        )


Recorded = Annotated[None, Depends(_recorded)]
