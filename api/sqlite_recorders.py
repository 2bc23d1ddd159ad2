"""eventsourcing's SQLite recorders, with triggers making event tables append-only."""

from __future__ import annotations

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


class AppendOnlySQLiteFactory(SQLiteFactory):
    aggregate_recorder_class = AppendOnlySQLiteAggregateRecorder
    application_recorder_class = AppendOnlySQLiteApplicationRecorder
