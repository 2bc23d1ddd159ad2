"""eventsourcing's SQLite recorders, with triggers making event tables append-only."""

from __future__ import annotations

from collections.abc import Sequence

from eventsourcing.persistence import Notification
from eventsourcing.sqlite import (
    SQLiteAggregateRecorder,
    SQLiteApplicationRecorder,
    SQLiteFactory,
)


def append_only_triggers(table: str) -> list[str]:
    return [
        f"CREATE TRIGGER IF NOT EXISTS {table}_refuse_{operation.lower()} "
        f"BEFORE {operation} ON {table} BEGIN "
        f"SELECT RAISE(ABORT, '{table} is append-only: {operation} refused'); END"
        for operation in ("UPDATE", "DELETE")
    ]


class AppendOnlySQLiteAggregateRecorder(SQLiteAggregateRecorder):
    def construct_create_table_statements(self) -> list[str]:
        statements = super().construct_create_table_statements()
        return statements + append_only_triggers(self.events_table_name)


class AppendOnlySQLiteApplicationRecorder(SQLiteApplicationRecorder):
    def construct_create_table_statements(self) -> list[str]:
        statements = super().construct_create_table_statements()
        return statements + append_only_triggers(self.events_table_name)

    def select_notifications_at(self, positions: Sequence[int]) -> list[Notification]:
        """The notifications at exactly these positions (notification ids), in
        order; one query however far apart they are (up to 500 at a time)."""
        if not positions:
            return []
        marks = ",".join("?" * len(positions))
        with self.datastore.transaction(commit=False) as c:
            c.execute(
                f"SELECT rowid, * FROM {self.events_table_name} "
                f"WHERE rowid IN ({marks}) ORDER BY rowid",
                [int(p) for p in positions],
            )
            return [
                Notification(
                    id=row["rowid"],
                    originator_id=self.convert_originator_id(row["originator_id"]),
                    originator_version=row["originator_version"],
                    topic=row["topic"],
                    state=row["state"],
                )
                for row in c.fetchall()
            ]


class AppendOnlySQLiteFactory(SQLiteFactory):
    aggregate_recorder_class = AppendOnlySQLiteAggregateRecorder
    application_recorder_class = AppendOnlySQLiteApplicationRecorder
