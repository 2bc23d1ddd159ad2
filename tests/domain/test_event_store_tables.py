"""The event tables: append-only in the database itself, under the CRM's name."""

import sqlite3
from contextlib import closing
from uuid import uuid4

import psycopg
import pytest
from eventsourcing.persistence import StoredEvent
from psycopg import errors

from api.settings import Settings
from api.wiring import Services, event_store_env
from crypto_shredding import CryptoShredder
from domain import CRM, Actor

REFUSED = (sqlite3.IntegrityError, errors.InsufficientPrivilege)


def record_a_purpose(crm: CRM) -> None:
    crm.define_purpose(
        Actor("u-admin", "admin"),
        "newsletter",
        "Bản tin",
        "Newsletter",
        "consent",
        [("email", "basic")],
        30,
    )


def events_table(services: Services) -> str:
    """The table the CRM records into: public.<name>_events or stored_events."""
    table = services.crm.recorder.events_table_name  # type: ignore[attr-defined]
    return f"public.{table}" if services.settings.uses_postgres else table


def execute_raw(settings: Settings, statement: str) -> None:
    """Runs one statement with the bare driver, bypassing the application."""
    if settings.uses_postgres:
        with psycopg.connect(settings.database_url) as connection:
            connection.execute(statement)  # type: ignore[arg-type]
        return
    path = settings.data_dir / "events.sqlite3"
    with closing(sqlite3.connect(path)) as connection, connection:
        connection.execute(statement)


def count_rows(settings: Settings, table: str) -> int:
    query = f"SELECT count(*) FROM {table}"
    if settings.uses_postgres:
        with psycopg.connect(settings.database_url) as connection:
            row = connection.execute(query).fetchone()  # type: ignore[arg-type]
    else:
        path = settings.data_dir / "events.sqlite3"
        with closing(sqlite3.connect(path)) as connection:
            row = connection.execute(query).fetchone()
    assert row is not None
    return int(row[0])


@pytest.mark.requirement("PROCESSING-LOG")
@pytest.mark.parametrize(
    "statement",
    ["UPDATE {table} SET topic = 'forged'", "DELETE FROM {table}"],
    ids=["update", "delete"],
)
def test_changing_recorded_events_is_refused_by_the_database(
    services: Services, settings: Settings, statement: str
) -> None:
    record_a_purpose(services.crm)
    table = events_table(services)

    with pytest.raises(REFUSED, match="append-only"):
        execute_raw(settings, statement.format(table=table))

    assert count_rows(settings, table) == 1
    assert services.crm.purpose("newsletter").code == "newsletter"


@pytest.mark.requirement("PROCESSING-LOG")
@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
def test_truncating_recorded_events_is_refused_on_postgres(
    services: Services, settings: Settings
) -> None:
    record_a_purpose(services.crm)
    table = events_table(services)

    with pytest.raises(errors.InsufficientPrivilege, match="append-only: TRUNCATE"):
        execute_raw(settings, f"TRUNCATE {table}")

    assert count_rows(settings, table) == 1


@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
def test_postgres_events_are_recorded_in_ledgercrm_events(
    services: Services, settings: Settings
) -> None:
    record_a_purpose(services.crm)

    env = event_store_env(settings)
    other = CRM(env, personal_data=CryptoShredder(services.data_keys))

    try:
        assert other.purpose("newsletter").code == "newsletter"
        assert count_rows(settings, "public.ledgercrm_events") == 1
    finally:
        other.close()


def test_every_byte_of_an_event_state_is_stored_as_recorded(
    services: Services,
) -> None:
    """On PostgreSQL the events go in binary format: no byte may change on the
    way (all 256 values, quotes, backslashes and braces included)."""
    state = bytes(range(256)) + b'{"a": "\\\\ \\" , ( ) { }"}'
    event = StoredEvent(uuid4(), 1, "tests:Probe", state)

    services.crm.recorder.insert_events([event])

    (stored,) = services.crm.recorder.select_events(event.originator_id)
    assert stored.state == state
    assert (stored.originator_version, stored.topic) == (1, "tests:Probe")
