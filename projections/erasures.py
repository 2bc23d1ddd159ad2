"""Read model answering "was customer X erased, when, by whom, at which positions?"

It holds ids, times and grounds only, so that an erasure certificate can be issued,
and issued again, without reading the customer's history.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import singledispatchmethod
from typing import Any
from uuid import UUID

from domain import Customer
from projections.positions import table
from projections.sql import Cursor, Database, Dialect

SCHEMA: dict[Dialect, str] = {
    "sqlite": """
        CREATE TABLE IF NOT EXISTS erasures (
            customer_id TEXT PRIMARY KEY,
            ground TEXT NOT NULL,
            requested_by TEXT NOT NULL,
            requested_at TEXT NOT NULL,
            requested_position INTEGER NOT NULL,
            requested_version INTEGER NOT NULL,
            data_key_id TEXT,
            shredded_by TEXT,
            shredded_at TEXT,
            shredded_position INTEGER,
            shredded_version INTEGER
        )""",
    "postgres": """
        CREATE SCHEMA IF NOT EXISTS projections;
        CREATE TABLE IF NOT EXISTS projections.erasures (
            customer_id text PRIMARY KEY,
            ground text NOT NULL,
            requested_by text NOT NULL,
            requested_at text NOT NULL,
            requested_position bigint NOT NULL,
            requested_version bigint NOT NULL,
            data_key_id text,
            shredded_by text,
            shredded_at text,
            shredded_position bigint,
            shredded_version bigint
        )""",
}


@dataclass(frozen=True)
class ErasureRow:
    customer_id: UUID
    ground: str
    requested_by: str
    requested_at: datetime
    requested_position: int
    requested_version: int
    data_key_id: UUID | None
    shredded_by: str | None
    shredded_at: datetime | None
    shredded_position: int | None
    shredded_version: int | None

    @property
    def completed(self) -> bool:
        return self.shredded_position is not None


class Erasures:
    """Records each erasure's request and shredding, with their positions."""

    name = "erasures"
    schema = SCHEMA

    def __init__(self, dialect: Dialect) -> None:
        self.table = table(dialect, "erasures")

    @singledispatchmethod
    def apply(self, event: Any, cursor: Cursor, position: int) -> None:
        """Events this read model does not answer for are skipped."""

    @apply.register
    def _(
        self, event: Customer.ErasureRequested, cursor: Cursor, position: int
    ) -> None:
        cursor.execute(
            f"INSERT INTO {self.table} (customer_id, ground, requested_by, "
            "requested_at, requested_position, requested_version) "
            "VALUES (%s, %s, %s, %s, %s, %s)",
            (
                event.originator_id.hex,
                event.ground,
                event.actor,
                event.timestamp.isoformat(),
                position,
                event.originator_version,
            ),
        )

    @apply.register
    def _(self, event: Customer.DataKeyShredded, cursor: Cursor, position: int) -> None:
        cursor.execute(
            f"UPDATE {self.table} SET data_key_id = %s, shredded_by = %s, "
            "shredded_at = %s, shredded_position = %s, shredded_version = %s "
            "WHERE customer_id = %s",
            (
                event.data_key_id,
                event.actor,
                event.timestamp.isoformat(),
                position,
                event.originator_version,
                event.originator_id.hex,
            ),
        )

    def erasure(self, database: Database, customer_id: UUID) -> ErasureRow | None:
        with database.reading() as cursor:
            cursor.execute(
                "SELECT customer_id, ground, requested_by, requested_at, "
                "requested_position, requested_version, data_key_id, shredded_by, "
                f"shredded_at, shredded_position, shredded_version FROM {self.table} "
                "WHERE customer_id = %s",
                (customer_id.hex,),
            )
            row = cursor.fetchone()
        return None if row is None else _erasure_row(row)


def _erasure_row(row: tuple[Any, ...]) -> ErasureRow:
    return ErasureRow(
        customer_id=UUID(row[0]),
        ground=row[1],
        requested_by=row[2],
        requested_at=datetime.fromisoformat(row[3]),
        requested_position=int(row[4]),
        requested_version=int(row[5]),
        data_key_id=None if row[6] is None else UUID(row[6]),
        shredded_by=row[7],
        shredded_at=None if row[8] is None else datetime.fromisoformat(row[8]),
        shredded_position=None if row[9] is None else int(row[9]),
        shredded_version=None if row[10] is None else int(row[10]),
    )
