"""Read model answering "what do we hold about customer X?", personal fields sealed."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from functools import singledispatchmethod
from typing import Any
from uuid import UUID

from crypto_shredding import SealedValue
from domain import Customer, Interaction
from projections.positions import table
from projections.purges import DeferredPurge, marks_schema
from projections.sql import Cursor, Database, Dialect

PERSONAL_COLUMNS = ("full_name", "phone", "email", "postal_address", "date_of_birth")

SCHEMA: dict[Dialect, str] = {
    "sqlite": """
        CREATE TABLE IF NOT EXISTS customers_by_id (
            customer_id TEXT PRIMARY KEY,
            stage TEXT NOT NULL,
            owner TEXT NOT NULL,
            tags TEXT NOT NULL,
            jurisdiction TEXT NOT NULL,
            province TEXT NOT NULL DEFAULT '',
            consents TEXT NOT NULL,
            agreements TEXT NOT NULL,
            full_name TEXT, phone TEXT, email TEXT, postal_address TEXT,
            date_of_birth TEXT,
            erased INTEGER NOT NULL DEFAULT 0,
            registered_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            position INTEGER NOT NULL
        );
        CREATE TABLE IF NOT EXISTS interactions_by_customer (
            interaction_id TEXT PRIMARY KEY,
            customer_id TEXT NOT NULL,
            kind TEXT NOT NULL,
            text TEXT,
            occurred_at TEXT NOT NULL,
            logged_by TEXT NOT NULL,
            position INTEGER NOT NULL
        );
        CREATE INDEX IF NOT EXISTS interactions_by_customer_customer
            ON interactions_by_customer (customer_id, occurred_at);
        CREATE INDEX IF NOT EXISTS customers_by_id_registered
            ON customers_by_id (registered_at, customer_id);
        CREATE INDEX IF NOT EXISTS customers_by_id_stage
            ON customers_by_id (stage, customer_id);
        CREATE INDEX IF NOT EXISTS customers_by_id_owner
            ON customers_by_id (owner, customer_id);
        ALTER TABLE customers_by_id
            ADD COLUMN province TEXT NOT NULL DEFAULT '';"""
    + marks_schema("sqlite", "interactions_erased"),
    "postgres": """
        CREATE SCHEMA IF NOT EXISTS projections;
        CREATE TABLE IF NOT EXISTS projections.customers_by_id (
            customer_id text PRIMARY KEY,
            stage text NOT NULL,
            owner text NOT NULL,
            tags text NOT NULL,
            jurisdiction text NOT NULL,
            province text NOT NULL DEFAULT '',
            consents text NOT NULL,
            agreements text NOT NULL,
            full_name text, phone text, email text, postal_address text,
            date_of_birth text,
            erased integer NOT NULL DEFAULT 0,
            registered_at text NOT NULL,
            updated_at text NOT NULL,
            position bigint NOT NULL
        );
        CREATE TABLE IF NOT EXISTS projections.interactions_by_customer (
            interaction_id text PRIMARY KEY,
            customer_id text NOT NULL,
            kind text NOT NULL,
            text text,
            occurred_at text NOT NULL,
            logged_by text NOT NULL,
            position bigint NOT NULL
        );
        CREATE INDEX IF NOT EXISTS interactions_by_customer_customer
            ON projections.interactions_by_customer (customer_id, occurred_at);
        ALTER TABLE projections.customers_by_id
            ADD COLUMN IF NOT EXISTS province text NOT NULL DEFAULT '';
        CREATE INDEX IF NOT EXISTS customers_by_id_registered
            ON projections.customers_by_id (registered_at, customer_id);
        CREATE INDEX IF NOT EXISTS customers_by_id_stage
            ON projections.customers_by_id (stage, customer_id);
        CREATE INDEX IF NOT EXISTS customers_by_id_owner
            ON projections.customers_by_id (owner, customer_id);"""
    + marks_schema("postgres", "interactions_erased"),
}


@dataclass(frozen=True)
class CustomerRow:
    """A customer as the read model holds it: personal fields still sealed."""

    customer_id: UUID
    stage: str
    owner: str
    tags: list[str]
    jurisdiction: str
    province: str
    consents: dict[str, dict[str, Any]]
    agreements: dict[str, str]
    sealed: dict[str, SealedValue | None]
    erased: bool
    registered_at: datetime
    updated_at: datetime
    position: int

    def has_basis_for(self, purpose_code: str) -> bool:
        consent = self.consents.get(purpose_code)
        live_consent = consent is not None and consent["withdrawn_at"] is None
        return live_consent or purpose_code in self.agreements


@dataclass(frozen=True)
class InteractionRow:
    interaction_id: UUID
    customer_id: UUID
    kind: str
    text: SealedValue | None
    occurred_at: datetime
    logged_by: str


@dataclass
class HeldBack:
    """A batch's changes to customer rows, written once per row when it ends:
    whole rows of customers registered in the batch, the changed columns of the
    others, and the JSON columns (consents, agreements) as the batch left them."""

    new: dict[str, dict[str, Any]] = field(default_factory=dict)
    changed: dict[str, dict[str, Any]] = field(default_factory=dict)
    documents: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)


class CustomersById:
    """Applies customer and interaction events to two tables; answers lookups.

    Changes to a customer's row are held back until the batch ends and then
    written once per row (`finish_batch`): a batch of registrations with their
    consents is one INSERT, not one statement per event."""

    name = "customers_by_id"
    schema = SCHEMA

    def __init__(self, dialect: Dialect) -> None:
        self.dialect = dialect
        self.customer_table = table(dialect, "customers_by_id")
        self.interaction_table = table(dialect, "interactions_by_customer")
        self.interaction_purge = DeferredPurge(
            dialect,
            marks="interactions_erased",
            rows="interactions_by_customer",
            subject_column="customer_id",
            row_key="interaction_id",
            sealed_column="text",
        )
        self._held = HeldBack()

    def start_batch(self) -> None:
        """Forgets whatever a batch that failed held back."""
        self._held = HeldBack()

    def finish_batch(self, cursor: Cursor) -> None:
        """Writes each customer row the batch touched, once: the new ones in one
        INSERT, the changed ones in one UPDATE per set of changed columns."""
        held, self._held = self._held, HeldBack()
        if held.new:
            cursor.executemany(
                f"INSERT INTO {self.customer_table} ({', '.join(ROW_COLUMNS)}) "
                f"VALUES ({', '.join(['%s'] * len(ROW_COLUMNS))})",
                [
                    [_column_value(row[c]) for c in ROW_COLUMNS]
                    for row in held.new.values()
                ],
            )
        updates: dict[tuple[str, ...], list[list[Any]]] = {}
        for customer, changes in held.changed.items():
            columns = tuple(sorted(changes))
            values = [_column_value(changes[c]) for c in columns]
            updates.setdefault(columns, []).append([*values, customer])
        for columns, rows in updates.items():
            assignments = ", ".join(f"{column} = %s" for column in columns)
            cursor.executemany(
                f"UPDATE {self.customer_table} SET {assignments} "
                "WHERE customer_id = %s",
                rows,
            )

    @singledispatchmethod
    def apply(self, event: Any, cursor: Cursor, position: int) -> None:
        """Events this read model does not answer for are skipped."""

    @apply.register
    def _(self, event: Customer.Registered, cursor: Cursor, position: int) -> None:
        customer = event.originator_id.hex
        consents: dict[str, Any] = {}
        agreements: dict[str, Any] = {}
        self._held.documents[customer, "consents"] = consents
        self._held.documents[customer, "agreements"] = agreements
        self._held.new[customer] = {
            "customer_id": customer,
            "stage": event.stage,
            "owner": event.owner,
            "tags": json.dumps(event.tags, ensure_ascii=False),
            "jurisdiction": event.jurisdiction,
            "province": event.province,
            "consents": consents,
            "agreements": agreements,
            **{c: _sealed_text(getattr(event, c)) for c in PERSONAL_COLUMNS},
            "erased": 0,
            "registered_at": event.timestamp.isoformat(),
            "updated_at": event.timestamp.isoformat(),
            "position": position,
        }

    @apply.register
    def _(self, event: Customer.ConsentGiven, cursor: Cursor, position: int) -> None:
        consents = self._document(cursor, event, position, "consents")
        consents[event.purpose_code] = {
            "notice_version": event.notice_version,
            "notice_sha256": event.notice_sha256,
            "channel": event.channel,
            "given_at": event.timestamp.isoformat(),
            "withdrawn_at": None,
        }

    @apply.register
    def _(
        self, event: Customer.ConsentWithdrawn, cursor: Cursor, position: int
    ) -> None:
        consents = self._document(cursor, event, position, "consents")
        consents[event.purpose_code] = {
            **consents[event.purpose_code],
            "withdrawn_at": event.timestamp.isoformat(),
        }

    @apply.register
    def _(
        self, event: Customer.AgreementRecorded, cursor: Cursor, position: int
    ) -> None:
        agreements = self._document(cursor, event, position, "agreements")
        agreements[event.purpose_code] = event.agreement_ref

    @apply.register
    def _(
        self, event: Customer.ContactDetailsChanged, cursor: Cursor, position: int
    ) -> None:
        self._change_sealed(event, position, ("phone", "email", "postal_address"))

    @apply.register
    def _(self, event: Customer.StageChanged, cursor: Cursor, position: int) -> None:
        self._change(event, position, stage=event.stage)

    @apply.register
    def _(self, event: Customer.OwnerAssigned, cursor: Cursor, position: int) -> None:
        self._change(event, position, owner=event.owner)

    @apply.register
    def _(self, event: Customer.ProvinceChanged, cursor: Cursor, position: int) -> None:
        self._change(event, position, province=event.province)

    @apply.register
    def _(
        self, event: Customer.ErasureRequested, cursor: Cursor, position: int
    ) -> None:
        self._purge(cursor, event, position)

    @apply.register
    def _(self, event: Customer.DataKeyShredded, cursor: Cursor, position: int) -> None:
        self._purge(cursor, event, position)

    @apply.register
    def _(
        self, event: Customer.PersonalDataRectified, cursor: Cursor, position: int
    ) -> None:
        """DSR-RECTIFY: corrected values supersede the old ones in the read model."""
        self._change_sealed(event, position, PERSONAL_COLUMNS)

    @apply.register
    def _(self, event: Interaction.Logged, cursor: Cursor, position: int) -> None:
        cursor.execute(
            f"INSERT INTO {self.interaction_table} (interaction_id, customer_id, "
            "kind, text, occurred_at, logged_by, position) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s)",
            (
                event.originator_id.hex,
                event.customer_id.hex,
                event.kind,
                _sealed_text(event.text),
                event.occurred_at.isoformat(),
                event.actor,
                position,
            ),
        )

    def customer(self, database: Database, customer_id: UUID) -> CustomerRow | None:
        with database.reading() as cursor:
            cursor.execute(
                f"SELECT {CUSTOMER_COLUMNS} FROM {self.customer_table} "
                "WHERE customer_id = %s",
                (customer_id.hex,),
            )
            row = cursor.fetchone()
        return None if row is None else _customer_row(row)

    def customers(
        self,
        database: Database,
        *,
        limit: int,
        where: CustomerFilter | None = None,
        sort: str = "id",
        after: PageMark | None = None,
    ) -> list[CustomerRow]:
        """Customers not erased that match `where`, ordered by `sort` (a column,
        `-` first for descending) then id, from just after the mark `after`."""
        name, descending = sort.removeprefix("-"), sort.startswith("-")
        if name not in SORTABLE:
            raise ValueError(f"cannot sort customers by {sort!r}")
        column = SORTABLE[name]
        conditions, params = (where or CustomerFilter()).sql(self.dialect)
        if after is not None:
            conditions.append(_after(column, descending))
            params += [after.value, after.value, after.customer_id.hex]
        direction = "DESC" if descending else "ASC"
        order = f"customer_id {direction}"
        if column != "customer_id":
            order = f"{column} {direction}, {order}"
        with database.reading() as cursor:
            cursor.execute(
                f"SELECT {CUSTOMER_COLUMNS} FROM {self.customer_table} "
                f"WHERE {' AND '.join(conditions)} ORDER BY {order} LIMIT %s",
                (*params, limit),
            )
            rows = cursor.fetchall()
        return [_customer_row(row) for row in rows]

    def interactions_of(
        self, database: Database, customer_id: UUID
    ) -> list[InteractionRow]:
        with database.reading() as cursor:
            cursor.execute(
                "SELECT interaction_id, customer_id, kind, text, occurred_at, "
                f"logged_by FROM {self.interaction_table} WHERE customer_id = %s "
                "ORDER BY occurred_at",
                (customer_id.hex,),
            )
            rows = cursor.fetchall()
            erased = bool(rows) and self.interaction_purge.is_erased(
                cursor, customer_id.hex
            )
        return [
            InteractionRow(
                UUID(r[0]),
                UUID(r[1]),
                r[2],
                None if erased else _sealed(r[3]),
                datetime.fromisoformat(r[4]),
                r[5],
            )
            for r in rows
        ]

    def _change(self, event: Any, position: int, **columns: Any) -> None:
        """Holds back a change of the event's customer's row until the batch ends."""
        customer = event.originator_id.hex
        row = self._held.new.get(customer)
        if row is None:
            row = self._held.changed.setdefault(customer, {})
        row.update(columns)
        row["updated_at"] = event.timestamp.isoformat()
        row["position"] = position

    def _change_sealed(
        self, event: Any, position: int, columns: tuple[str, ...]
    ) -> None:
        """The sealed personal fields the event carries, the others unchanged."""
        changed = {
            column: _sealed_text(getattr(event, column))
            for column in columns
            if getattr(event, column) is not None
        }
        if changed:
            self._change(event, position, **changed)

    def _document(
        self, cursor: Cursor, event: Any, position: int, column: str
    ) -> dict[str, Any]:
        """The customer's JSON column as this batch has it, to change in place; the
        row is written with it when the batch ends."""
        customer = event.originator_id.hex
        document = self._held.documents.get((customer, column))
        if document is None:
            cursor.execute(
                f"SELECT {column} FROM {self.customer_table} WHERE customer_id = %s",
                (customer,),
            )
            row = cursor.fetchone()
            assert row is not None, "an event for a customer this read model never saw"
            document = self._held.documents[customer, column] = json.loads(row[0])
        self._change(event, position, **{column: document})
        return document

    def _purge(self, cursor: Cursor, event: Any, position: int) -> None:
        """Erasure drops every sealed copy at once, not only the key that opens it."""
        self._change(event, position, erased=1, **dict.fromkeys(PERSONAL_COLUMNS))
        # One row however many interactions; their notes are cleared by `sweep`.
        self.interaction_purge.mark(cursor, event.originator_id.hex, position)

    def sweep_due(self) -> bool:
        return self.interaction_purge.due

    def sweep(self, cursor: Cursor, limit: int) -> int:
        """Clears erased customers' sealed interaction notes, up to `limit` rows."""
        return self.interaction_purge.sweep(cursor, limit)


ROW_COLUMNS = (
    "customer_id",
    "stage",
    "owner",
    "tags",
    "jurisdiction",
    "province",
    "consents",
    "agreements",
    *PERSONAL_COLUMNS,
    "erased",
    "registered_at",
    "updated_at",
    "position",
)
CUSTOMER_COLUMNS = (
    "customer_id, stage, owner, tags, jurisdiction, consents, agreements, "
    + ", ".join(PERSONAL_COLUMNS)
    + ", erased, registered_at, updated_at, position, province"
)
# What a list may be sorted by: the API's names for the columns.
SORTABLE = {
    "id": "customer_id",
    "registered_at": "registered_at",
    "updated_at": "updated_at",
    "stage": "stage",
    "owner": "owner",
    "jurisdiction": "jurisdiction",
    "province": "province",
}
CONSENT_STATES = ("given", "withdrawn", "none")


@dataclass(frozen=True)
class CustomerFilter:
    """Which customers a list shows; None leaves a field unfiltered."""

    stage: str | None = None
    owner: str | None = None
    tag: str | None = None
    jurisdiction: str | None = None
    province: str | None = None
    consent_purpose: str | None = None
    consent_state: str = "given"

    def sql(self, dialect: Dialect) -> tuple[list[str], list[Any]]:
        conditions, params = ["erased = 0"], []
        for column in ("stage", "owner", "jurisdiction", "province"):
            if getattr(self, column) is not None:
                conditions.append(f"{column} = %s")
                params.append(getattr(self, column))
        if self.tag is not None:
            conditions.append(_HAS_TAG[dialect])
            params.append(self.tag)
        if self.consent_purpose is not None:
            template = _CONSENT_STATE[dialect][self.consent_state]
            conditions.append(template)
            key = self.consent_purpose
            if dialect == "sqlite":
                key = f'$."{key}"'
            params += [key] * template.count("%s")
        return conditions, params


@dataclass(frozen=True)
class PageMark:
    """Where a page ended: the last row's sort value and id."""

    value: str
    customer_id: UUID


def sort_value(row: CustomerRow, sort: str) -> str:
    """The row's value in the sort column, exactly as the table holds it."""
    column = SORTABLE[sort.removeprefix("-")]
    value = {
        "customer_id": row.customer_id.hex,
        "registered_at": row.registered_at.isoformat(),
        "updated_at": row.updated_at.isoformat(),
    }.get(column)
    return value if value is not None else str(getattr(row, column))


def _after(column: str, descending: bool) -> str:
    beyond = "<" if descending else ">"
    return f"({column} {beyond} %s OR ({column} = %s AND customer_id {beyond} %s))"


_HAS_TAG: dict[Dialect, str] = {
    "sqlite": "EXISTS (SELECT 1 FROM json_each(tags) WHERE json_each.value = %s)",
    "postgres": "tags::jsonb @> jsonb_build_array(%s::text)",
}
_CONSENT_STATE: dict[Dialect, dict[str, str]] = {
    "sqlite": {
        "given": "(json_extract(consents, %s) IS NOT NULL AND "
        "json_extract(consents, %s || '.withdrawn_at') IS NULL)",
        "withdrawn": "json_extract(consents, %s || '.withdrawn_at') IS NOT NULL",
        "none": "json_extract(consents, %s) IS NULL",
    },
    "postgres": {
        "given": "((consents::jsonb -> %s) IS NOT NULL AND "
        "(consents::jsonb -> %s ->> 'withdrawn_at') IS NULL)",
        "withdrawn": "(consents::jsonb -> %s ->> 'withdrawn_at') IS NOT NULL",
        "none": "(consents::jsonb -> %s) IS NULL",
    },
}


def _column_value(value: Any) -> Any:
    """A held-back value as its column stores it: JSON documents as text."""
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False)
    return value


def _sealed_text(value: Any) -> str | None:
    return value.to_text() if isinstance(value, SealedValue) else None


def _sealed(text: str | None) -> SealedValue | None:
    return None if text is None else SealedValue.from_text(text)


def _customer_row(row: tuple[Any, ...]) -> CustomerRow:
    personal = dict(zip(PERSONAL_COLUMNS, row[7:12], strict=True))
    return CustomerRow(
        customer_id=UUID(row[0]),
        stage=row[1],
        owner=row[2],
        tags=json.loads(row[3]),
        jurisdiction=row[4],
        province=row[16],
        consents=json.loads(row[5]),
        agreements=json.loads(row[6]),
        sealed={column: _sealed(text) for column, text in personal.items()},
        erased=bool(row[12]),
        registered_at=datetime.fromisoformat(row[13]),
        updated_at=datetime.fromisoformat(row[14]),
        position=int(row[15]),
    )
