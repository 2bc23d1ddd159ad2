"""eventsourcing's PostgreSQL recorders, with triggers that make event tables
append-only (UPDATE, DELETE and TRUNCATE are refused by the database itself)."""

from __future__ import annotations

from eventsourcing.postgres import (
    PostgresAggregateRecorder,
    PostgresApplicationRecorder,
    PostgresDatastore,
    PostgresFactory,
)
from psycopg.sql import SQL, Composed, Identifier

REFUSE_FUNCTION = "ledgercrm_refuse_change"


def append_only_statements(schema: str, table: str) -> list[Composed]:
    names = {
        "schema": Identifier(schema),
        "table": Identifier(table),
        "function": Identifier(REFUSE_FUNCTION),
        "row_trigger": Identifier(f"{table}_refuse_change"),
        "truncate_trigger": Identifier(f"{table}_refuse_truncate"),
    }
    return [
        SQL(
            "CREATE OR REPLACE FUNCTION {schema}.{function}() RETURNS trigger "
            "LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION "
            "'% is append-only: % refused', TG_TABLE_NAME, TG_OP "
            "USING ERRCODE = 'insufficient_privilege'; END $$"
        ).format(**names),
        SQL(
            "CREATE OR REPLACE TRIGGER {row_trigger} BEFORE UPDATE OR DELETE "
            "ON {schema}.{table} FOR EACH ROW EXECUTE FUNCTION {schema}.{function}()"
        ).format(**names),
        SQL(
            "CREATE OR REPLACE TRIGGER {truncate_trigger} BEFORE TRUNCATE "
            "ON {schema}.{table} FOR EACH STATEMENT "
            "EXECUTE FUNCTION {schema}.{function}()"
        ).format(**names),
    ]


class AppendOnlyPostgresAggregateRecorder(PostgresAggregateRecorder):
    def __init__(
        self, datastore: PostgresDatastore, *, events_table_name: str = "stored_events"
    ) -> None:
        super().__init__(datastore, events_table_name=events_table_name)
        self.sql_create_statements += append_only_statements(
            datastore.schema, events_table_name
        )


class AppendOnlyPostgresApplicationRecorder(PostgresApplicationRecorder):
    def __init__(
        self, datastore: PostgresDatastore, *, events_table_name: str = "stored_events"
    ) -> None:
        super().__init__(datastore, events_table_name=events_table_name)
        self.sql_create_statements += append_only_statements(
            datastore.schema, events_table_name
        )


class AppendOnlyPostgresFactory(PostgresFactory):
    aggregate_recorder_class = AppendOnlyPostgresAggregateRecorder
    application_recorder_class = AppendOnlyPostgresApplicationRecorder
