"""Read model answering "may we process customer X's data for purpose P right now,
on which basis, and how did that come about?", and "whom may we contact for P?".

One row per customer and purpose holds the effective basis; a history table keeps
every consent, withdrawal and agreement with its notice version, time, channel,
actor and evidence reference (CONSENT-PROOF). Rows hold ids and references, never
personal values, so erasure keeps the history (the proof of past consent) and only
ends the effective basis.
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

# Effective states: a live consent, a withdrawn one, a recorded agreement, or none
# at all any more because the customer was erased.
GIVEN, WITHDRAWN, AGREED, ERASED = "given", "withdrawn", "agreed", "erased"
LIVE_STATES = (GIVEN, AGREED)

_COLUMNS = """
            purpose_code {text} NOT NULL,
            notice_version {int},
            notice_sha256 {text},
            channel {text},
            evidence_ref {text},
            agreement_ref {text},
            actor {text} NOT NULL,
            changed_at {text} NOT NULL,
            position {bigint} NOT NULL"""


def _schema(prefix: str, text: str, integer: str, bigint: str) -> str:
    columns = _COLUMNS.format(text=text, int=integer, bigint=bigint)
    return f"""
        CREATE TABLE IF NOT EXISTS {prefix}effective_consents (
            customer_id {text} NOT NULL,
            state {text} NOT NULL,{columns},
            PRIMARY KEY (customer_id, purpose_code)
        );
        CREATE INDEX IF NOT EXISTS effective_consents_by_purpose
            ON {prefix}effective_consents (purpose_code, state, customer_id);
        CREATE TABLE IF NOT EXISTS {prefix}consent_history (
            customer_id {text} NOT NULL,
            change {text} NOT NULL,{columns},
            PRIMARY KEY (customer_id, position)
        )"""


SCHEMA: dict[Dialect, str] = {
    "sqlite": _schema("", "TEXT", "INTEGER", "INTEGER"),
    "postgres": "CREATE SCHEMA IF NOT EXISTS projections;"
    + _schema("projections.", "text", "integer", "bigint"),
}


@dataclass(frozen=True)
class ConsentChange:
    """One consent event as recorded: what changed, against which notice, how."""

    customer_id: UUID
    purpose_code: str
    change: str
    notice_version: int | None
    notice_sha256: str | None
    channel: str | None
    evidence_ref: str | None
    agreement_ref: str | None
    actor: str
    at: datetime
    position: int


@dataclass(frozen=True)
class EffectiveConsent:
    """The basis for one purpose as it stands, and the change that set it."""

    state: str
    last_change: ConsentChange
    history: list[ConsentChange]

    @property
    def live(self) -> bool:
        return self.state in LIVE_STATES


class EffectiveConsents:
    """Applies consent, withdrawal, agreement and erasure events; answers queries."""

    name = "effective_consents"
    schema = SCHEMA

    def __init__(self, dialect: Dialect) -> None:
        self.table = table(dialect, "effective_consents")
        self.history_table = table(dialect, "consent_history")

    @singledispatchmethod
    def apply(self, event: Any, cursor: Cursor, position: int) -> None:
        """Events this read model does not answer for are skipped."""

    @apply.register
    def _(self, event: Customer.ConsentGiven, cursor: Cursor, position: int) -> None:
        values = {
            "notice_version": event.notice_version,
            "notice_sha256": event.notice_sha256,
            "channel": event.channel,
            "evidence_ref": event.evidence_ref,
        }
        self._record(cursor, event, position, GIVEN, "given", values)

    @apply.register
    def _(
        self, event: Customer.ConsentWithdrawn, cursor: Cursor, position: int
    ) -> None:
        values = {"channel": event.channel}
        self._record(cursor, event, position, WITHDRAWN, "withdrawn", values)

    @apply.register
    def _(
        self, event: Customer.AgreementRecorded, cursor: Cursor, position: int
    ) -> None:
        values = {"agreement_ref": event.agreement_ref}
        self._record(cursor, event, position, AGREED, "agreement-recorded", values)

    @apply.register
    def _(
        self, event: Customer.ErasureRequested, cursor: Cursor, position: int
    ) -> None:
        # From the erasure request on, no purpose may use the customer's data.
        cursor.execute(
            f"UPDATE {self.table} SET state = %s WHERE customer_id = %s",
            (ERASED, event.originator_id.hex),
        )

    def consents_of(
        self, database: Database, customer_id: UUID
    ) -> dict[str, EffectiveConsent]:
        """Each purpose the customer ever gave a basis for, with its history."""
        with database.reading() as cursor:
            cursor.execute(
                f"SELECT purpose_code, state FROM {self.table} "
                "WHERE customer_id = %s ORDER BY purpose_code",
                (customer_id.hex,),
            )
            states = dict(cursor.fetchall())
            cursor.execute(
                f"SELECT {HISTORY_COLUMNS} FROM {self.history_table} "
                "WHERE customer_id = %s ORDER BY position",
                (customer_id.hex,),
            )
            changes = [_change(row) for row in cursor.fetchall()]
        return {
            code: EffectiveConsent(
                state,
                [c for c in changes if c.purpose_code == code][-1],
                [c for c in changes if c.purpose_code == code],
            )
            for code, state in states.items()
        }

    def contactable(
        self,
        database: Database,
        purpose_code: str,
        *,
        limit: int,
        after: UUID | None = None,
    ) -> list[UUID]:
        """Customers with a live consent or agreement for the purpose, in id order.

        Known limitation: restriction and objection (DSR-RESTRICT, DSR-OBJECT) are
        not events yet, so they cannot remove anyone here; the issue that adds them
        must end the effective basis in this read model too.
        """
        with database.reading() as cursor:
            cursor.execute(
                f"SELECT customer_id FROM {self.table} WHERE purpose_code = %s "
                "AND state IN (%s, %s) AND customer_id > %s "
                "ORDER BY customer_id LIMIT %s",
                (purpose_code, *LIVE_STATES, after.hex if after else "", limit),
            )
            return [UUID(row[0]) for row in cursor.fetchall()]

    def _record(
        self,
        cursor: Cursor,
        event: Any,
        position: int,
        state: str,
        change: str,
        values: dict[str, Any],
    ) -> None:
        row = {
            "customer_id": event.originator_id.hex,
            "purpose_code": event.purpose_code,
            "notice_version": None,
            "notice_sha256": None,
            "channel": None,
            "evidence_ref": None,
            "agreement_ref": None,
            **values,
            "actor": event.actor,
            "changed_at": event.timestamp.isoformat(),
            "position": position,
        }
        self._insert(cursor, self.history_table, {"change": change, **row})
        cursor.execute(
            f"DELETE FROM {self.table} WHERE customer_id = %s AND purpose_code = %s",
            (row["customer_id"], row["purpose_code"]),
        )
        self._insert(cursor, self.table, {"state": state, **row})

    def _insert(self, cursor: Cursor, into: str, row: dict[str, Any]) -> None:
        cursor.execute(
            f"INSERT INTO {into} ({', '.join(row)}) "
            f"VALUES ({', '.join(['%s'] * len(row))})",
            tuple(row.values()),
        )


HISTORY_COLUMNS = (
    "customer_id, purpose_code, change, notice_version, notice_sha256, channel, "
    "evidence_ref, agreement_ref, actor, changed_at, position"
)


def _change(row: tuple[Any, ...]) -> ConsentChange:
    return ConsentChange(
        customer_id=UUID(row[0]),
        purpose_code=row[1],
        change=row[2],
        notice_version=row[3],
        notice_sha256=row[4],
        channel=row[5],
        evidence_ref=row[6],
        agreement_ref=row[7],
        actor=row[8],
        at=datetime.fromisoformat(row[9]),
        position=int(row[10]),
    )
