"""A projection runner in its own process, for the crash tests.

Usage: python runner_process.py BATCH_SIZE PAUSE_AFTER MARKER_FILE

Settings come from LEDGERCRM_* variables. The runner feeds the real customers
read model plus a log of every position it applies (`applied_events`, with no
unique key, so that an event applied twice would show as two rows). With
PAUSE_AFTER > 0 it stops in the middle of the batch holding its PAUSE_AFTER-th
event, transaction open, touches MARKER_FILE and waits to be killed; with 0 it
catches up and exits.
"""

from __future__ import annotations

import sys
import threading
from pathlib import Path
from typing import Any, ClassVar

from api.settings import load_settings
from api.wiring import open_services
from projections import ProjectionRunner
from projections.customers_by_id import SCHEMA as CUSTOMERS_SCHEMA
from projections.customers_by_id import CustomersById
from projections.sql import Dialect

APPLIED_SCHEMA: dict[Dialect, str] = {
    "sqlite": "CREATE TABLE IF NOT EXISTS applied_events (position INTEGER NOT NULL)",
    "postgres": "CREATE TABLE IF NOT EXISTS projections.applied_events "
    "(position bigint NOT NULL)",
}


class LoggedCustomers(CustomersById):
    """The customers read model, logging each position it applies."""

    schema: ClassVar[dict[Dialect, str]] = {
        "sqlite": CUSTOMERS_SCHEMA["sqlite"] + ";" + APPLIED_SCHEMA["sqlite"],
        "postgres": CUSTOMERS_SCHEMA["postgres"] + ";" + APPLIED_SCHEMA["postgres"],
    }

    def __init__(self, dialect: Dialect, pause_after: int, marker: Path) -> None:
        super().__init__(dialect)
        self.applied_table = (
            "projections.applied_events" if dialect == "postgres" else "applied_events"
        )
        self.pause_after = pause_after
        self.marker = marker
        self.applied = 0

    def apply(self, event: Any, cursor: Any, position: int) -> None:
        super().apply(event, cursor, position)
        cursor.execute(
            f"INSERT INTO {self.applied_table} (position) VALUES (%s)", (position,)
        )
        self.applied += 1
        if self.applied == self.pause_after:
            written = self.marker.with_suffix(".writing")
            written.write_text(str(position))
            written.replace(self.marker)  # atomic: the test never reads it half-written
            threading.Event().wait()  # until SIGKILL


def main(batch_size: int, pause_after: int, marker: Path) -> None:
    services = open_services(load_settings())
    runner = ProjectionRunner(
        LoggedCustomers(services.read_models.dialect, pause_after, marker),
        services.read_models,
        services.crm.recorder,
        services.crm.mapper,  # type: ignore[arg-type]
        batch_size=batch_size,
    )
    try:
        runner.catch_up()
    finally:
        services.close()


if __name__ == "__main__":
    main(int(sys.argv[1]), int(sys.argv[2]), Path(sys.argv[3]))
