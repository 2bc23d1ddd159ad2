"""Rebuilding a read model from zero beside the live one, then swapping it in."""

import threading

import pytest

from api.wiring import Services
from projections.customers_by_id import CustomersById
from projections.positions import table
from projections.rebuild import (
    SHADOW,
    RebuildError,
    ShadowReadModel,
    rebuild,
    rebuilds_in_progress,
)
from projections.runner import ProjectionRunner
from tests.projections.test_runner import register_customers, stored_customers


def customer_rows(services: Services) -> list[tuple[object, ...]]:
    customers = table(services.read_models.dialect, "customers_by_id")
    with services.read_models.transaction() as cursor:
        cursor.execute(f"SELECT * FROM {customers} ORDER BY customer_id")
        return cursor.fetchall()


def test_a_rebuilt_read_model_holds_the_same_rows_and_position(
    services: Services,
) -> None:
    register_customers(services, 12)
    services.runner.catch_up()
    before = customer_rows(services)

    reached = rebuild(services.runner, batch_size=5)

    assert customer_rows(services) == before
    assert reached == services.runner.head() == services.runner.position()


def test_the_old_rows_serve_while_the_new_ones_are_built(services: Services) -> None:
    register_customers(services, 12)
    services.runner.catch_up()
    seen_during_rebuild: list[int] = []

    def progress(done: int, total: int) -> None:
        seen_during_rebuild.append(stored_customers(services))

    rebuild(services.runner, progress=progress, batch_size=5)

    assert len(seen_during_rebuild) > 3
    assert set(seen_during_rebuild) == {12}


def test_a_rebuild_repairs_rows_that_went_wrong(services: Services) -> None:
    register_customers(services, 3)
    services.runner.catch_up()
    customers = table(services.read_models.dialect, "customers_by_id")
    with services.read_models.transaction() as cursor:
        cursor.execute(f"UPDATE {customers} SET stage = 'damaged'")

    rebuild(services.runner)

    rows = services.customers.customers(services.read_models, limit=10)
    assert {row.stage for row in rows} == {"lead"}


def test_events_recorded_during_a_rebuild_reach_the_rebuilt_rows(
    services: Services,
) -> None:
    register_customers(services, 6)
    services.runner.catch_up()
    written_meanwhile = threading.Event()

    def progress(done: int, total: int) -> None:
        if not written_meanwhile.is_set():
            written_meanwhile.set()
            register_customers(services, 2)

    rebuild(services.runner, progress=progress, batch_size=4)
    services.runner.catch_up()

    assert stored_customers(services) == 8
    assert services.runner.position() == services.runner.head()


def test_a_live_runner_carries_on_from_the_rebuilt_position(
    services: Services,
) -> None:
    register_customers(services, 4)
    services.runner.catch_up()
    stop = threading.Event()
    services.runner.poll_seconds = 0.05
    thread = threading.Thread(target=services.runner.run, args=(stop,))
    thread.start()
    try:
        rebuild(services.runner, batch_size=3)
        register_customers(services, 3)

        assert services.runner.wait_for(services.runner.head(), timeout=30)
        assert stored_customers(services) == 7
    finally:
        stop.set()
        services.runner.news.set()
        thread.join(timeout=30)


def test_rebuilding_twice_and_after_an_interrupted_rebuild_works(
    services: Services,
) -> None:
    register_customers(services, 5)
    services.runner.catch_up()
    interrupted = ShadowReadModel(services.customers, services.read_models.dialect)
    services.read_models.create(interrupted.schema)  # as a crashed rebuild leaves

    rebuild(services.runner)
    rebuild(services.runner)

    assert stored_customers(services) == 5
    names = schema_names(services)
    assert "interactions_by_customer_customer" in names
    assert not [name for name in names if SHADOW in name]


def test_the_shadow_read_model_renames_only_whole_table_and_index_names() -> None:
    shadow = ShadowReadModel(CustomersById("postgres"), "postgres")

    renamed = shadow.rename(
        "INSERT INTO projections.interactions_by_customer (customer_id) "
        "SELECT customer_id FROM projections.customers_by_id"
    )

    assert shadow.names.tables == (
        "customers_by_id",
        "interactions_by_customer",
        "interactions_erased",
    )
    assert "interactions_by_customer_customer" in shadow.names.indexes
    assert renamed == (
        f"INSERT INTO projections.interactions_by_customer{SHADOW} (customer_id) "
        f"SELECT customer_id FROM projections.customers_by_id{SHADOW}"
    )


def schema_names(services: Services) -> list[str]:
    """The read models' tables and indexes, primary keys' included."""
    with services.read_models.transaction() as cursor:
        if services.read_models.dialect == "postgres":
            cursor.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'projections' "
                "UNION SELECT indexname FROM pg_indexes "
                "WHERE schemaname = 'projections'"
            )
        else:
            cursor.execute("SELECT name FROM sqlite_master")
        return [row[0] for row in cursor.fetchall()]


def test_a_second_rebuild_of_the_same_read_model_is_refused_while_one_runs(
    services: Services,
) -> None:
    register_customers(services, 2)
    services.runner.catch_up()

    with (
        services.read_models.exclusive("customers_by_id" + SHADOW),
        pytest.raises(RebuildError, match="another rebuild of customers_by_id"),
    ):
        rebuild(services.runner)

    assert rebuild(services.runner) == services.runner.head()  # free again


def test_an_interrupted_rebuild_is_listed_with_its_position(
    services: Services,
) -> None:
    register_customers(services, 4)
    builder = ProjectionRunner(
        ShadowReadModel(services.customers, services.read_models.dialect),
        services.read_models,
        services.crm.recorder,
        services.runner.mapper,
        batch_size=3,
    )
    builder.run_once()

    assert rebuilds_in_progress(services.read_models) == {
        "customers_by_id": builder.position()
    }
    rebuild(services.runner)
    assert rebuilds_in_progress(services.read_models) == {}
