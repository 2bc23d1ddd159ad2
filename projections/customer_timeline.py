"""Read model answering "what happened to customer X, who did it, and when?".

Every event concerning a customer becomes one entry: the customer's own events,
interactions logged with them, reads of their personal fields and exports that
included them. Non-personal values are kept as they are; personal values stay
sealed, and erasure drops them from every entry of the customer: at once from
every answer, and from the rows by a background sweep (see `projections.purges`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from functools import singledispatchmethod
from typing import Any
from uuid import UUID

from crypto_shredding import SealedValue
from domain import Customer, Interaction
from domain.access import PersonalDataAccess, PersonalDataExport
from projections.positions import table
from projections.purges import DeferredPurge, marks_schema
from projections.sql import Cursor, Database, Dialect

SCHEMA: dict[Dialect, str] = {
    "sqlite": """
        CREATE TABLE IF NOT EXISTS customer_timeline (
            customer_id TEXT NOT NULL,
            position INTEGER NOT NULL,
            event_type TEXT NOT NULL,
            actor TEXT NOT NULL,
            recorded_at TEXT NOT NULL,
            details TEXT NOT NULL,
            personal TEXT,
            PRIMARY KEY (customer_id, position)
        );"""
    + marks_schema("sqlite", "customer_timeline_erased"),
    "postgres": """
        CREATE SCHEMA IF NOT EXISTS projections;
        CREATE TABLE IF NOT EXISTS projections.customer_timeline (
            customer_id text NOT NULL,
            position bigint NOT NULL,
            event_type text NOT NULL,
            actor text NOT NULL,
            recorded_at text NOT NULL,
            details text NOT NULL,
            personal text,
            PRIMARY KEY (customer_id, position)
        );"""
    + marks_schema("postgres", "customer_timeline_erased"),
}

# Attributes every event has; the entry keeps them in its own columns instead.
_FRAME = {
    "originator_id",
    "originator_version",
    "originator_topic",
    "timestamp",
    "actor",
    "customer_id",
    "customer_ids",
}


@dataclass(frozen=True)
class TimelineEntry:
    customer_id: UUID
    position: int
    event_type: str
    actor: str
    recorded_at: datetime
    details: dict[str, Any]
    sealed: dict[str, SealedValue]


class CustomerTimelines:
    """Appends one entry per event concerning a customer; purges on erasure."""

    name = "customer_timeline"
    schema = SCHEMA

    def __init__(self, dialect: Dialect) -> None:
        self.table = table(dialect, "customer_timeline")
        self.purge = DeferredPurge(
            dialect,
            marks="customer_timeline_erased",
            rows="customer_timeline",
            subject_column="customer_id",
            row_key="position",
            sealed_column="personal",
        )

    @singledispatchmethod
    def apply(self, event: Any, cursor: Cursor, position: int) -> None:
        """Events about no customer (purposes) are skipped."""

    @apply.register
    def _(self, event: Customer.Event, cursor: Cursor, position: int) -> None:
        self._append(cursor, event.originator_id, event, position)
        if isinstance(event, Customer.ErasureRequested | Customer.DataKeyShredded):
            # One row now; the sealed copies are cleared by `sweep` later.
            self.purge.mark(cursor, event.originator_id.hex, position)

    @apply.register
    def _(self, event: Interaction.Logged, cursor: Cursor, position: int) -> None:
        self._append(cursor, event.customer_id, event, position)

    @apply.register
    def _(
        self, event: PersonalDataAccess.Recorded, cursor: Cursor, position: int
    ) -> None:
        self._append(cursor, event.customer_id, event, position)

    @apply.register
    def _(
        self, event: PersonalDataExport.Recorded, cursor: Cursor, position: int
    ) -> None:
        for customer_id in event.customer_ids:
            self._append(cursor, UUID(str(customer_id)), event, position)

    def sweep_due(self) -> bool:
        return self.purge.due

    def sweep(self, cursor: Cursor, limit: int) -> int:
        """Clears erased customers' sealed copies, up to `limit` rows."""
        return self.purge.sweep(cursor, limit)

    def timeline(
        self,
        database: Database,
        customer_id: UUID,
        *,
        limit: int,
        after_position: int = 0,
    ) -> list[TimelineEntry]:
        """The customer's entries in the order they were recorded."""
        with database.reading() as cursor:
            cursor.execute(
                "SELECT customer_id, position, event_type, actor, recorded_at, "
                f"details, personal FROM {self.table} "
                "WHERE customer_id = %s AND position > %s ORDER BY position LIMIT %s",
                (customer_id.hex, after_position, limit),
            )
            rows = cursor.fetchall()
            erased = bool(rows) and self.purge.is_erased(cursor, customer_id.hex)
        return [_entry(row, erased=erased) for row in rows]

    def version_at(
        self, database: Database, customer_id: UUID, position: int
    ) -> tuple[int, datetime | None]:
        """How many of the customer's own events were recorded up to `position`,
        and when the last of them was: a notification position as a version."""
        with database.reading() as cursor:
            cursor.execute(
                f"SELECT COUNT(*), MAX(recorded_at) FROM {self.table} "
                "WHERE customer_id = %s AND position <= %s AND event_type LIKE %s",
                (customer_id.hex, position, "Customer.%"),
            )
            row = cursor.fetchone()
        assert row is not None, "COUNT(*) always answers one row"
        return int(row[0]), None if row[1] is None else datetime.fromisoformat(row[1])

    def _append(
        self, cursor: Cursor, customer_id: UUID, event: Any, position: int
    ) -> None:
        details, personal = _split(event)
        cursor.execute(
            f"INSERT INTO {self.table} (customer_id, position, event_type, actor, "
            "recorded_at, details, personal) VALUES (%s, %s, %s, %s, %s, %s, %s)",
            (
                customer_id.hex,
                position,
                type(event).__qualname__,
                event.actor,
                event.timestamp.isoformat(),
                json.dumps(details, ensure_ascii=False, sort_keys=True),
                json.dumps(personal, sort_keys=True) if personal else None,
            ),
        )


def _split(event: Any) -> tuple[dict[str, Any], dict[str, str]]:
    """The event's own values: non-personal ones as JSON, personal ones sealed."""
    details: dict[str, Any] = {}
    personal: dict[str, str] = {}
    for name, value in vars(event).items():
        if name in _FRAME:
            continue
        if isinstance(value, SealedValue):
            personal[name] = value.to_text()
        elif value is not None:
            details[name] = _plain(value)
    return details, personal


def _plain(value: Any) -> Any:
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def _entry(row: tuple[Any, ...], *, erased: bool) -> TimelineEntry:
    personal = json.loads(row[6]) if row[6] and not erased else {}
    return TimelineEntry(
        customer_id=UUID(row[0]),
        position=int(row[1]),
        event_type=row[2],
        actor=row[3],
        recorded_at=datetime.fromisoformat(row[4]),
        details=json.loads(row[5]),
        sealed={name: SealedValue.from_text(text) for name, text in personal.items()},
    )
