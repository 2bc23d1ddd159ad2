"""Wakes runners when PostgreSQL announces new events; reconnects when dropped."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

import psycopg
from psycopg import sql

logger = logging.getLogger(__name__)


class EventNotifications:
    """Listens on the events channel and calls `wake` on every notification.

    eventsourcing's own LISTEN subscription ends when its connection drops; this
    listener reconnects instead, and calls `wake` after each reconnect so that
    events recorded while it was away are picked up too.
    """

    def __init__(self, conninfo: str, channel: str, wake: Callable[[], None]) -> None:
        self.conninfo = conninfo
        self.channel = channel
        self.wake = wake

    def run(self, stop: threading.Event) -> None:
        """Listens until `stop` is set. A failure of `wake` (its own database read
        failing, say) is logged and the listening goes on: runners would
        otherwise learn of other processes' events only by their polling."""
        while not stop.is_set():
            try:
                self._listen(stop)
            except psycopg.Error:
                logger.warning("lost the events channel %s; reconnecting", self.channel)
                stop.wait(1.0)
            except Exception:
                logger.exception(
                    "waking the runners for channel %s failed; listening again",
                    self.channel,
                )
                stop.wait(1.0)

    def _listen(self, stop: threading.Event) -> None:
        with psycopg.connect(self.conninfo, autocommit=True) as connection:
            connection.execute(
                sql.SQL("LISTEN {}").format(sql.Identifier(self.channel))
            )
            self.wake()
            while not stop.is_set():
                for _ in connection.notifies(timeout=0.25, stop_after=1):
                    self.wake()
