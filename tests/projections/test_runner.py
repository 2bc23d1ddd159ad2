"""The projection runner: rows and projection_position commit together."""

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from functools import singledispatchmethod
from typing import Any, ClassVar
from uuid import uuid4

import pytest
from eventsourcing.utils import get_topic

from api.wiring import Services, open_services
from domain import (
    Actor,
    AgreementCapture,
    Customer,
    CustomerProfile,
    Interaction,
    PersonalDetails,
    Purpose,
)
from domain.access import PersonalDataAccess
from projections import ProjectionRunner
from projections.customers_by_id import CustomersById
from projections.positions import table
from projections.postgres_notifications import EventNotifications
from projections.runner import apply_batch, handles_topic
from projections.sql import BatchingCursor

SALES = Actor("tester", "sales")


class FailsOnThirdCustomer(CustomersById):
    """The real read model, made to fail part-way through a batch."""

    def __init__(self, dialect: Any) -> None:
        super().__init__(dialect)
        self.registrations = 0

    def apply(self, event: Any, cursor: Any, position: int) -> None:
        if isinstance(event, Customer.Registered):
            self.registrations += 1
            if self.registrations == 3:
                raise RuntimeError("simulated crash in the middle of a batch")
        super().apply(event, cursor, position)


def register_customers(services: Services, count: int) -> None:
    crm = services.crm
    if "care" not in {p.code for p in crm.purposes()}:
        boss = Actor("boss", "admin")
        crm.define_purpose(
            boss, "care", "Chăm sóc", "Care", "agreement", [("c", "basic")], 9
        )
    for number in range(count):
        crm.register_customer(
            SALES,
            PersonalDetails(f"Khách hàng {number}"),
            CustomerProfile(),
            agreements=[AgreementCapture("care", f"HD-{number}")],
        )


def stored_customers(services: Services) -> int:
    return len(services.customers.customers(services.read_models, limit=1000))


def test_a_batch_that_fails_midway_leaves_no_rows_and_no_position(
    services: Services,
) -> None:
    register_customers(services, 4)
    failing = ProjectionRunner(
        FailsOnThirdCustomer(services.read_models.dialect),
        services.read_models,
        services.crm.recorder,
        services.crm.mapper,  # type: ignore[arg-type]
    )

    with pytest.raises(RuntimeError):
        failing.run_once()

    assert failing.position() == 0
    assert stored_customers(services) == 0


def test_after_a_failed_batch_the_next_run_applies_every_event_once(
    services: Services,
) -> None:
    register_customers(services, 4)
    failing = ProjectionRunner(
        FailsOnThirdCustomer(services.read_models.dialect),
        services.read_models,
        services.crm.recorder,
        services.crm.mapper,  # type: ignore[arg-type]
    )
    with pytest.raises(RuntimeError):
        failing.run_once()

    services.runner.catch_up()

    assert stored_customers(services) == 4
    assert services.runner.position() == services.crm.recorder.max_notification_id()


def test_rows_held_back_by_a_failed_batch_never_reach_a_later_one(
    services: Services,
) -> None:
    """customers_by_id writes its rows when a batch ends: what a failed batch
    held back must not be written by the next batch of the same read model."""
    register_customers(services, 4)
    notifications = services.crm.recorder.select_notifications(start=1, limit=100)
    events = [
        (services.crm.mapper.to_sealed_domain_event(n), n.id)  # type: ignore[attr-defined]
        for n in notifications
    ]
    registered = [
        i for i, (e, _) in enumerate(events) if isinstance(e, Customer.Registered)
    ]
    fourth = registered[3]
    read_model = FailsOnThirdCustomer(services.read_models.dialect)
    services.read_models.create(read_model.schema)

    with pytest.raises(RuntimeError), services.read_models.transaction() as cursor:
        apply_batch(read_model, events[:fourth], cursor)  # fails at the third
    with services.read_models.transaction() as cursor:
        apply_batch(read_model, events[fourth:], cursor)

    stored = services.customers.customers(services.read_models, limit=10)
    assert [row.customer_id for row in stored] == [events[fourth][0].originator_id]
    assert stored[0].agreements == {"care": "HD-3"}


def test_a_restarted_runner_resumes_from_its_position(services: Services) -> None:
    register_customers(services, 3)
    services.runner.catch_up()
    reached = services.runner.position()
    services.close()

    reopened = open_services(services.settings)
    try:
        register_customers(reopened, 2)
        applied = reopened.runner.catch_up()

        head = reopened.crm.recorder.max_notification_id()
        assert applied == head - reached
        assert stored_customers(reopened) == 5
    finally:
        reopened.close()


def test_small_batches_reach_the_same_state(services: Services) -> None:
    register_customers(services, 5)
    services.runner.batch_size = 2

    services.runner.catch_up()

    assert stored_customers(services) == 5
    assert services.runner.position() == services.crm.recorder.max_notification_id()


def test_a_running_runner_picks_up_new_events(services: Services) -> None:
    stop = threading.Event()
    thread = threading.Thread(target=services.runner.run, args=(stop,))
    thread.start()
    try:
        register_customers(services, 2)

        reached = services.runner.wait_for(
            services.crm.recorder.max_notification_id() or 0, timeout=10
        )

        assert reached
    finally:
        stop.set()
        services.runner.news.set()
        thread.join()


@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
def test_postgres_notifications_wake_the_runner_when_events_are_recorded(
    services: Services,
) -> None:
    with listening(services) as news:
        register_customers(services, 1)

        assert news.wait(10)


@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
def test_the_events_listener_outlives_a_failure_to_wake_the_runners(
    services: Services,
) -> None:
    """Waking may read the database (the topics of other processes' events); a
    failure there must not end the listener's thread."""
    calls: list[int] = []
    connected, woken_after_failure, stop = (threading.Event() for _ in range(3))

    def wake() -> None:
        calls.append(1)
        if len(calls) == 1:
            connected.set()  # called once connected
        elif len(calls) == 2:
            raise RuntimeError("the read behind the wake failed")
        else:
            woken_after_failure.set()

    listener = EventNotifications(
        services.settings.database_url,
        services.crm.recorder.channel_name,  # type: ignore[attr-defined]
        wake,
    )
    thread = threading.Thread(target=listener.run, args=(stop,))
    thread.start()
    try:
        assert connected.wait(10)
        register_customers(services, 1)  # its wake fails
        deadline = time.monotonic() + 10
        while not woken_after_failure.is_set() and time.monotonic() < deadline:
            register_customers(services, 1)
            time.sleep(0.2)

        assert woken_after_failure.is_set(), "the listener went on after the failure"
        assert thread.is_alive()
    finally:
        stop.set()
        thread.join(timeout=30)


@contextmanager
def listening(services: Services) -> Iterator[threading.Event]:
    """A running PostgreSQL events listener, connected; yields the event it sets."""
    news, stop = threading.Event(), threading.Event()
    listener = EventNotifications(
        services.settings.database_url,
        services.crm.recorder.channel_name,  # type: ignore[attr-defined]
        news.set,
    )
    thread = threading.Thread(target=listener.run, args=(stop,))
    thread.start()
    try:
        assert news.wait(10), "the listener announces itself once connected"
        news.clear()
        yield news
    finally:
        stop.set()
        thread.join(timeout=30)


def test_a_read_model_is_handed_only_the_events_it_answers_for() -> None:
    customers = CustomersById("sqlite")

    assert handles_topic(customers, get_topic(Customer.Registered))
    assert handles_topic(customers, get_topic(Interaction.Logged))
    assert not handles_topic(customers, get_topic(PersonalDataAccess.Recorded))
    assert not handles_topic(customers, get_topic(Purpose.Defined))


def test_a_read_model_with_its_own_apply_is_handed_every_event() -> None:
    failing = FailsOnThirdCustomer("sqlite")

    assert handles_topic(failing, get_topic(PersonalDataAccess.Recorded))


def test_the_position_moves_past_events_a_read_model_skips(
    services: Services,
) -> None:
    register_customers(services, 2)
    services.crm.record_personal_data_read(SALES, uuid4(), "care", ["full_name"])

    services.runner.catch_up()

    assert services.runner.position() == services.runner.head()
    assert stored_customers(services) == 2


class CountsEveryEvent:
    """A read model whose default `apply` does something with any event."""

    name = "counts"
    schema: ClassVar[dict[Any, str]] = {"sqlite": "", "postgres": ""}

    def __init__(self) -> None:
        self.seen = 0

    @singledispatchmethod
    def apply(self, event: Any, cursor: Any, position: int) -> None:
        self.seen += 1

    @apply.register
    def _(self, event: Customer.Registered, cursor: Any, position: int) -> None:
        self.seen += 1


def test_a_default_apply_that_does_something_is_handed_every_event() -> None:
    counts = CountsEveryEvent()

    assert handles_topic(counts, get_topic(PersonalDataAccess.Recorded))


def test_a_batching_cursor_keeps_the_order_of_effects(services: Services) -> None:
    database = services.read_models
    name = table(database.dialect, "batching_probe")
    database.create(
        {
            database.dialect: f"CREATE TABLE IF NOT EXISTS {name} "
            "(id INTEGER PRIMARY KEY, note TEXT NOT NULL)"
        }
    )
    with database.transaction() as cursor:
        batching = BatchingCursor(cursor)
        for number in range(1, 6):
            batching.execute(
                f"INSERT INTO {name} (id, note) VALUES (%s, %s)", (number, "new")
            )
        batching.execute(f"UPDATE {name} SET note = %s WHERE id = %s", ("changed", 2))
        batching.execute(f"SELECT note FROM {name} WHERE id = %s", (2,))
        seen_midway = batching.fetchone()
        batching.execute(f"INSERT INTO {name} (id, note) VALUES (%s, %s)", (6, "late"))
        batching.execute(f"DELETE FROM {name} WHERE id = %s", (1,))
        batching.flush()
        cursor.execute(f"SELECT id, note FROM {name} ORDER BY id")
        rows = cursor.fetchall()

    assert seen_midway == ("changed",)
    assert rows == [(2, "changed"), (3, "new"), (4, "new"), (5, "new"), (6, "late")]
