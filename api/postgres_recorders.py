"""eventsourcing's PostgreSQL recorders, with triggers that make event tables
append-only (UPDATE, DELETE and TRUNCATE are refused by the database itself)."""

from __future__ import annotations

from collections.abc import Sequence

from eventsourcing.persistence import Notification
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


def created_by_another_role(datastore: PostgresDatastore, table: str) -> bool:
    """True when `table` exists and the connected role does not own it.

    Then the owner created it (`ledgercrm init`), and this role, which may
    only append and read, must not try to replace its triggers.
    """
    with datastore.transaction(commit=False) as cursor:
        cursor.execute(
            "SELECT pg_get_userbyid(relowner) <> current_user AS foreign_owner "
            "FROM pg_class WHERE oid = to_regclass(%s)",
            (f"{datastore.schema}.{table}",),
        )
        row = cursor.fetchone()
    return bool(row and row["foreign_owner"])


# Processes starting together would race on CREATE OR REPLACE FUNCTION/TRIGGER
# ("tuple concurrently updated"): one transaction-scoped lock serialises the DDL.
SERIALISE_DDL = SQL(
    "SELECT pg_advisory_xact_lock(hashtext('ledgercrm-create-tables'))"
).format()


class AppendOnlyPostgresAggregateRecorder(PostgresAggregateRecorder):
    def __init__(
        self, datastore: PostgresDatastore, *, events_table_name: str = "stored_events"
    ) -> None:
        super().__init__(datastore, events_table_name=events_table_name)
        self.sql_create_statements.insert(0, SERIALISE_DDL)
        self.sql_create_statements += append_only_statements(
            datastore.schema, events_table_name
        )

    def create_table(self) -> None:
        if created_by_another_role(self.datastore, self.events_table_name):
            self.datastore.register_type_adapters()
            return
        super().create_table()


def lock_function_statements(schema: str, table: str) -> list[Composed]:
    """A function that takes the events table's EXCLUSIVE lock as its owner.

    eventsourcing serialises inserts with LOCK TABLE ... IN EXCLUSIVE MODE,
    which PostgreSQL allows only to roles that may UPDATE, DELETE or TRUNCATE
    the table. Through this SECURITY DEFINER function a role that may only
    INSERT and SELECT takes the same lock, held until its transaction ends.
    """
    names = {
        "schema": Identifier(schema),
        "table": Identifier(table),
        "function": Identifier(f"{table}_lock_for_insert"),
    }
    return [
        SQL(
            "CREATE OR REPLACE FUNCTION {schema}.{function}() RETURNS void "
            "LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog AS $$ "
            "BEGIN LOCK TABLE {schema}.{table} IN EXCLUSIVE MODE; END $$"
        ).format(**names),
        SQL("REVOKE ALL ON FUNCTION {schema}.{function}() FROM PUBLIC").format(**names),
    ]


class AppendOnlyPostgresApplicationRecorder(PostgresApplicationRecorder):
    def __init__(
        self, datastore: PostgresDatastore, *, events_table_name: str = "stored_events"
    ) -> None:
        super().__init__(datastore, events_table_name=events_table_name)
        self.sql_create_statements.insert(0, SERIALISE_DDL)
        self.sql_create_statements += append_only_statements(
            datastore.schema, events_table_name
        )
        self.sql_create_statements += lock_function_statements(
            datastore.schema, events_table_name
        )
        self.lock_table_statements = [
            SQL("SET LOCAL lock_timeout = '{0}s'").format(datastore.lock_timeout),
            SQL("SELECT {0}.{1}()").format(
                Identifier(datastore.schema),
                Identifier(f"{events_table_name}_lock_for_insert"),
            ),
        ]
        self.insert_events_statement = binary_parameters(self.insert_events_statement)

    def create_table(self) -> None:
        if created_by_another_role(self.datastore, self.events_table_name):
            self.datastore.register_type_adapters()
            return
        super().create_table()

    def select_notifications_at(self, positions: Sequence[int]) -> list[Notification]:
        """The notifications at exactly these positions (notification ids), in
        order; one query however far apart they are."""
        if not positions:
            return []
        statement = SQL(
            "SELECT * FROM {schema}.{table} WHERE notification_id = ANY(%s) "
            "ORDER BY notification_id"
        ).format(
            schema=Identifier(self.datastore.schema),
            table=Identifier(self.events_table_name),
        )
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(statement, [[int(p) for p in positions]], prepare=True)
            return [
                Notification(
                    id=row["notification_id"],
                    originator_id=row["originator_id"],
                    originator_version=row["originator_version"],
                    topic=row["topic"],
                    state=bytes(row["state"]),
                )
                for row in curs.fetchall()
            ]


def binary_parameters(statement: Composed) -> Composed:
    """eventsourcing's insert of stored events with its array of composites sent
    in PostgreSQL's binary format: psycopg's text format escapes every byte of
    every event's state with regular expressions, which measured 2.5 times slower
    (docs/performance.md). The same rows are stored."""
    text = statement.as_string(None)
    if text.count("%s") != 1:
        raise RuntimeError(
            "eventsourcing's insert statement changed; review binary_parameters: "
            + text
        )
    return Composed([SQL(text.replace("%s", "%b"))])


class AppendOnlyPostgresFactory(PostgresFactory):
    aggregate_recorder_class = AppendOnlyPostgresAggregateRecorder
    application_recorder_class = AppendOnlyPostgresApplicationRecorder
