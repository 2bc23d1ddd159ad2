"""Read model answering "which stored events concern data subject X?".

One row per event and customer it concerns: the customer's own events, the
interactions logged with them, the reads of their personal data, the exports
that included them, and the data subject requests received for or verified as
them. A row holds the customer's id and the event's notification position,
nothing else: no personal value, sealed or not, so erasure leaves it (the event
store keeps the same ids), and the access package and the consent record of an
erased customer still list every event with its ledger proof.

It lets those documents fetch just the subject's notifications, so their cost
follows the subject's own events rather than the length of the log.
"""

from __future__ import annotations

from functools import singledispatchmethod
from typing import Any
from uuid import UUID

from domain import Customer, Interaction
from domain.access import PersonalDataAccess, PersonalDataExport
from domain.subject_requests import SubjectRequest
from projections.positions import table
from projections.sql import Cursor, Database, Dialect

SCHEMA: dict[Dialect, str] = {
    "sqlite": """
        CREATE TABLE IF NOT EXISTS events_by_subject (
            subject_id TEXT NOT NULL,
            position INTEGER NOT NULL,
            PRIMARY KEY (subject_id, position)
        )""",
    "postgres": """
        CREATE SCHEMA IF NOT EXISTS projections;
        CREATE TABLE IF NOT EXISTS projections.events_by_subject (
            subject_id text NOT NULL,
            position bigint NOT NULL,
            PRIMARY KEY (subject_id, position)
        )""",
}


class EventsBySubject:
    """Records which customers each event concerns, by id and position only."""

    name = "events_by_subject"
    schema = SCHEMA

    def __init__(self, dialect: Dialect) -> None:
        self.table = table(dialect, "events_by_subject")

    @singledispatchmethod
    def apply(self, event: Any, cursor: Cursor, position: int) -> None:
        """Events about no customer (purposes, complaints, incidents) are skipped."""

    @apply.register
    def _(self, event: Customer.Event, cursor: Cursor, position: int) -> None:
        self._add(cursor, [event.originator_id], position)

    @apply.register
    def _(self, event: Interaction.Logged, cursor: Cursor, position: int) -> None:
        self._add(cursor, [event.customer_id], position)

    @apply.register
    def _(
        self, event: PersonalDataAccess.Recorded, cursor: Cursor, position: int
    ) -> None:
        self._add(cursor, [event.customer_id], position)

    @apply.register
    def _(
        self, event: PersonalDataExport.Recorded, cursor: Cursor, position: int
    ) -> None:
        self._add(cursor, event.customer_ids, position)

    @apply.register
    def _(self, event: SubjectRequest.Received, cursor: Cursor, position: int) -> None:
        if event.customer_id:
            self._add(cursor, [event.customer_id], position)

    @apply.register
    def _(
        self, event: SubjectRequest.IdentityVerified, cursor: Cursor, position: int
    ) -> None:
        self._add(cursor, [event.customer_id], position)

    def positions(self, database: Database, subject_id: UUID) -> list[int]:
        """The positions of every event concerning the subject, in order."""
        with database.reading() as cursor:
            cursor.execute(
                f"SELECT position FROM {self.table} WHERE subject_id = %s "
                "ORDER BY position",
                (subject_id.hex,),
            )
            return [int(row[0]) for row in cursor.fetchall()]

    def _add(self, cursor: Cursor, subject_ids: Any, position: int) -> None:
        for subject_id in dict.fromkeys(_uuid(s) for s in subject_ids):
            if subject_id is not None:
                cursor.execute(
                    f"INSERT INTO {self.table} (subject_id, position) VALUES (%s, %s)",
                    (subject_id.hex, position),
                )


def _uuid(value: Any) -> UUID | None:
    """The id as a UUID; requests hold it as text. Anything else names no
    customer, and must not stop the projection."""
    try:
        return value if isinstance(value, UUID) else UUID(str(value))
    except ValueError:
        return None
