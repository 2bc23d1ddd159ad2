"""Erasure in constant time for read models that keep many sealed rows per subject.

Applying an erasure event marks the subject erased with one row, whatever the
length of their history; from that moment the read model answers with none of
the subject's sealed values. The sealed copies themselves (already unreadable,
since their data key is destroyed) are cleared afterwards by `sweep`, a bounded
number of rows per transaction, which the projection runner calls when it has no
events to apply. A crash mid-sweep loses nothing: the mark stays until a sweep
finds no sealed row left.
"""

from __future__ import annotations

from projections.positions import table
from projections.sql import Cursor, Dialect


def marks_schema(dialect: Dialect, name: str) -> str:
    """DDL of a table of erased subjects, for a read model's schema."""
    if dialect == "postgres":
        return f"""
        CREATE TABLE IF NOT EXISTS projections.{name} (
            subject_id text PRIMARY KEY,
            position bigint NOT NULL,
            swept integer NOT NULL DEFAULT 0
        )"""
    return f"""
        CREATE TABLE IF NOT EXISTS {name} (
            subject_id TEXT PRIMARY KEY,
            position INTEGER NOT NULL,
            swept INTEGER NOT NULL DEFAULT 0
        )"""


class DeferredPurge:
    """Marks subjects erased in `marks` and later sets `sealed_column` to NULL in
    the subject's rows of `rows` (found by `subject_column`, one row by `row_key`)."""

    def __init__(
        self,
        dialect: Dialect,
        *,
        marks: str,
        rows: str,
        subject_column: str,
        row_key: str,
        sealed_column: str,
    ) -> None:
        self.marks = table(dialect, marks)
        self.rows = table(dialect, rows)
        self.subject_column = subject_column
        self.row_key = row_key
        self.sealed_column = sealed_column
        # Whether a sweep may find work: unknown at start-up (marks may wait from
        # before), set by each mark, cleared when a sweep finds nothing left. It
        # spares the runner a transaction per idle turn when nothing is erased.
        self.due = True

    def mark(self, cursor: Cursor, subject_hex: str, position: int) -> None:
        """One row, however many the subject has: the erasure's whole cost here."""
        self.due = True
        cursor.execute(
            f"INSERT INTO {self.marks} (subject_id, position) VALUES (%s, %s) "
            "ON CONFLICT (subject_id) DO NOTHING",
            (subject_hex, position),
        )

    def is_erased(self, cursor: Cursor, subject_hex: str) -> bool:
        cursor.execute(
            f"SELECT 1 FROM {self.marks} WHERE subject_id = %s", (subject_hex,)
        )
        return cursor.fetchone() is not None

    def sweep(self, cursor: Cursor, limit: int) -> int:
        """Clears up to `limit` sealed copies of one erased subject; returns how
        many rows it cleared (0 when nothing is left to clear)."""
        cursor.execute(
            f"SELECT subject_id FROM {self.marks} WHERE swept = 0 "
            "ORDER BY position LIMIT 1"
        )
        subject = cursor.fetchone()
        if subject is None:
            self.due = False
            return 0
        cursor.execute(
            f"SELECT {self.row_key} FROM {self.rows} WHERE {self.subject_column} = %s "
            f"AND {self.sealed_column} IS NOT NULL LIMIT %s",
            (subject[0], limit),
        )
        keys = [row[0] for row in cursor.fetchall()]
        if keys:
            placeholders = ", ".join(["%s"] * len(keys))
            cursor.execute(
                f"UPDATE {self.rows} SET {self.sealed_column} = NULL "
                f"WHERE {self.subject_column} = %s "
                f"AND {self.row_key} IN ({placeholders})",
                (subject[0], *keys),
            )
        if len(keys) < limit:
            cursor.execute(
                f"UPDATE {self.marks} SET swept = 1 WHERE subject_id = %s",
                (subject[0],),
            )
        return max(len(keys), 1)  # a subject marked swept is work done too
