"""Read model answering "which purposes do we process for, on which basis, with
which data categories, and what did each notice version say?".

Listing purposes from the event store replays every purpose's events per request;
this table answers with one query, and lets other queries join on a purpose's
sensitivity or retirement. Commands still load the Purpose aggregate, which is
never behind: a retirement stops reads at once.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from functools import singledispatchmethod
from typing import Any

from domain import Purpose
from projections.positions import table
from projections.sql import Cursor, Database, Dialect

SCHEMA: dict[Dialect, str] = {
    "sqlite": """
        CREATE TABLE IF NOT EXISTS purposes (
            code TEXT PRIMARY KEY,
            purpose_id TEXT NOT NULL UNIQUE,
            title_vi TEXT NOT NULL,
            title_en TEXT NOT NULL,
            legal_basis TEXT NOT NULL,
            data_categories TEXT NOT NULL,
            sensitive INTEGER NOT NULL,
            retention_days INTEGER NOT NULL,
            retired INTEGER NOT NULL DEFAULT 0,
            discloses INTEGER NOT NULL DEFAULT 1,
            defined_by TEXT NOT NULL,
            defined_at TEXT NOT NULL,
            position INTEGER NOT NULL
        );
        CREATE TABLE IF NOT EXISTS purpose_notices (
            code TEXT NOT NULL,
            version INTEGER NOT NULL,
            text_vi TEXT NOT NULL,
            text_en TEXT NOT NULL,
            text_sha256 TEXT NOT NULL,
            sensitive_statement_vi TEXT,
            sensitive_statement_en TEXT,
            published_by TEXT NOT NULL,
            published_at TEXT NOT NULL,
            position INTEGER NOT NULL,
            PRIMARY KEY (code, version)
        );
        ALTER TABLE purposes ADD COLUMN discloses INTEGER NOT NULL DEFAULT 1;
        ALTER TABLE purpose_notices ADD COLUMN sensitive_statement_vi TEXT;
        ALTER TABLE purpose_notices ADD COLUMN sensitive_statement_en TEXT""",
    "postgres": """
        CREATE SCHEMA IF NOT EXISTS projections;
        CREATE TABLE IF NOT EXISTS projections.purposes (
            code text PRIMARY KEY,
            purpose_id text NOT NULL UNIQUE,
            title_vi text NOT NULL,
            title_en text NOT NULL,
            legal_basis text NOT NULL,
            data_categories text NOT NULL,
            sensitive integer NOT NULL,
            retention_days integer NOT NULL,
            retired integer NOT NULL DEFAULT 0,
            discloses integer NOT NULL DEFAULT 1,
            defined_by text NOT NULL,
            defined_at text NOT NULL,
            position bigint NOT NULL
        );
        CREATE TABLE IF NOT EXISTS projections.purpose_notices (
            code text NOT NULL,
            version integer NOT NULL,
            text_vi text NOT NULL,
            text_en text NOT NULL,
            text_sha256 text NOT NULL,
            sensitive_statement_vi text,
            sensitive_statement_en text,
            published_by text NOT NULL,
            published_at text NOT NULL,
            position bigint NOT NULL,
            PRIMARY KEY (code, version)
        );
        ALTER TABLE projections.purposes
            ADD COLUMN IF NOT EXISTS discloses integer NOT NULL DEFAULT 1;
        ALTER TABLE projections.purpose_notices
            ADD COLUMN IF NOT EXISTS sensitive_statement_vi text;
        ALTER TABLE projections.purpose_notices
            ADD COLUMN IF NOT EXISTS sensitive_statement_en text""",
}


@dataclass(frozen=True)
class NoticeRow:
    version: int
    text_vi: str
    text_en: str
    text_sha256: str
    sensitive_statement_vi: str | None
    sensitive_statement_en: str | None
    published_by: str
    published_at: datetime


@dataclass(frozen=True)
class PurposeRow:
    code: str
    title_vi: str
    title_en: str
    legal_basis: str
    data_categories: list[dict[str, str]]
    sensitive: bool
    retention_days: int
    retired: bool
    discloses: bool
    defined_by: str
    defined_at: datetime
    notices: list[NoticeRow]


class PurposesWithNotices:
    """Applies purpose events; answers the purpose list with every notice."""

    name = "purposes_with_notices"
    schema = SCHEMA

    def __init__(self, dialect: Dialect) -> None:
        self.table = table(dialect, "purposes")
        self.notice_table = table(dialect, "purpose_notices")

    @singledispatchmethod
    def apply(self, event: Any, cursor: Cursor, position: int) -> None:
        """Events this read model does not answer for are skipped."""

    @apply.register
    def _(self, event: Purpose.Defined, cursor: Cursor, position: int) -> None:
        sensitive = any(c["sensitivity"] == "sensitive" for c in event.data_categories)
        cursor.execute(
            f"INSERT INTO {self.table} (code, purpose_id, title_vi, title_en, "
            "legal_basis, data_categories, sensitive, retention_days, discloses, "
            "defined_by, defined_at, position) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            (
                event.code,
                event.originator_id.hex,
                event.title_vi,
                event.title_en,
                event.legal_basis,
                json.dumps(event.data_categories, ensure_ascii=False),
                int(sensitive),
                event.retention_days,
                int(event.discloses),
                event.actor,
                event.timestamp.isoformat(),
                position,
            ),
        )

    @apply.register
    def _(self, event: Purpose.NoticePublished, cursor: Cursor, position: int) -> None:
        cursor.execute(
            f"INSERT INTO {self.notice_table} (code, version, text_vi, text_en, "
            "text_sha256, sensitive_statement_vi, sensitive_statement_en, "
            "published_by, published_at, position) "
            f"SELECT code, %s, %s, %s, %s, %s, %s, %s, %s, %s FROM {self.table} "
            "WHERE purpose_id = %s",
            (
                event.version,
                event.text_vi,
                event.text_en,
                event.text_sha256,
                event.sensitive_statement_vi,
                event.sensitive_statement_en,
                event.actor,
                event.timestamp.isoformat(),
                position,
                event.originator_id.hex,
            ),
        )
        self._set(cursor, event, position)

    @apply.register
    def _(self, event: Purpose.Retired, cursor: Cursor, position: int) -> None:
        self._set(cursor, event, position, "retired = 1")

    def purposes(self, database: Database) -> list[PurposeRow]:
        with database.reading() as cursor:
            cursor.execute(f"SELECT {PURPOSE_COLUMNS} FROM {self.table} ORDER BY code")
            purposes = cursor.fetchall()
            cursor.execute(
                "SELECT code, version, text_vi, text_en, text_sha256, published_by, "
                "published_at, sensitive_statement_vi, sensitive_statement_en "
                f"FROM {self.notice_table} ORDER BY code, version"
            )
            notices = cursor.fetchall()
        return [
            _purpose(row, [n for n in notices if n[0] == row[0]]) for row in purposes
        ]

    def purpose(self, database: Database, code: str) -> PurposeRow | None:
        return next((p for p in self.purposes(database) if p.code == code), None)

    def _set(self, cursor: Cursor, event: Any, position: int, change: str = "") -> None:
        cursor.execute(
            f"UPDATE {self.table} SET {change}{', ' if change else ''}position = %s "
            "WHERE purpose_id = %s",
            (position, event.originator_id.hex),
        )


PURPOSE_COLUMNS = (
    "code, title_vi, title_en, legal_basis, data_categories, sensitive, "
    "retention_days, retired, defined_by, defined_at, discloses"
)


def _purpose(row: tuple[Any, ...], notices: list[tuple[Any, ...]]) -> PurposeRow:
    return PurposeRow(
        code=row[0],
        title_vi=row[1],
        title_en=row[2],
        legal_basis=row[3],
        data_categories=json.loads(row[4]),
        sensitive=bool(row[5]),
        retention_days=int(row[6]),
        retired=bool(row[7]),
        defined_by=row[8],
        defined_at=datetime.fromisoformat(row[9]),
        discloses=bool(row[10]),
        notices=[
            NoticeRow(
                version=int(n[1]),
                text_vi=n[2],
                text_en=n[3],
                text_sha256=n[4],
                sensitive_statement_vi=n[7],
                sensitive_statement_en=n[8],
                published_by=n[5],
                published_at=datetime.fromisoformat(n[6]),
            )
            for n in notices
        ],
    )
