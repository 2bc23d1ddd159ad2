"""How a runner keeps its position cheaply: events its read model ignores cost it
no transaction each, it wakes only for events it handles, and whoever waits for
a position wakes it."""

import threading
import time
from uuid import uuid4

from eventsourcing.utils import get_topic

from api.wiring import Services, open_services
from domain import Customer
from domain.access import PersonalDataAccess
from projections import ProjectionRunner
from projections.positions import read_position
from tests.projections.test_runner import SALES, register_customers, stored_customers


def stored_position(services: Services, runner: ProjectionRunner) -> int:
    with services.read_models.transaction() as cursor:
        return read_position(
            cursor, services.read_models.dialect, runner.read_model.name
        )


def record_reads(services: Services, count: int) -> None:
    for _ in range(count):
        services.crm.record_personal_data_read(SALES, uuid4(), "care", ["full_name"])


def test_events_a_read_model_ignores_move_the_position_in_memory_until_idle(
    services: Services,
) -> None:
    register_customers(services, 2)
    runner = services.runner
    runner.catch_up()
    before = stored_position(services, runner)
    record_reads(services, 3)  # customers_by_id ignores recorded reads

    read = runner.run_once()

    assert read == 3
    assert stored_position(services, runner) == before, "no transaction for them"
    assert runner.position() == runner.head()
    runner.commit_position()
    assert stored_position(services, runner) == runner.head()


def test_a_runner_stopped_before_committing_passes_over_them_again(
    services: Services,
) -> None:
    register_customers(services, 2)
    services.runner.catch_up()
    record_reads(services, 3)
    services.runner.run_once()  # passed in memory only, then the process dies
    register_customers(services, 1)

    restarted = ProjectionRunner(
        services.runner.read_model,
        services.read_models,
        services.crm.recorder,
        services.crm.mapper,  # type: ignore[arg-type]
    )
    restarted.catch_up()

    assert stored_customers(services) == 3
    assert stored_position(services, restarted) == restarted.head()


def test_a_position_moved_by_another_runner_is_read_again_not_overwritten(
    services: Services,
) -> None:
    register_customers(services, 1)
    services.runner.catch_up()
    record_reads(services, 2)
    services.runner.run_once()  # ahead in memory
    other = ProjectionRunner(
        services.runner.read_model,
        services.read_models,
        services.crm.recorder,
        services.crm.mapper,  # type: ignore[arg-type]
    )
    register_customers(services, 2)
    other.catch_up()  # another process applies the new customers first

    services.runner.catch_up()

    assert stored_customers(services) == 3
    assert stored_position(services, services.runner) == services.runner.head()


def test_a_runner_wakes_only_for_events_its_read_model_handles(
    services: Services,
) -> None:
    runner = services.runner
    runner.news.clear()

    runner.notice({get_topic(PersonalDataAccess.Recorded)})
    ignored = runner.news.is_set()
    runner.notice(
        {get_topic(PersonalDataAccess.Recorded), get_topic(Customer.Registered)}
    )

    assert not ignored
    assert runner.news.is_set()


def test_recording_events_wakes_the_runners_that_handle_them(
    services: Services,
) -> None:
    register_customers(services, 1)
    for runner in services.runners:
        runner.news.clear()

    record_reads(services, 1)

    woken = {r.read_model.name for r in services.runners if r.news.is_set()}
    assert "customers_by_id" not in woken
    assert "events_by_subject" in woken  # the subject's record of reads


def woken_by_events_of_another_process(services: Services, reads: int) -> set[str]:
    """The runners of `services` that the news of `reads` reads recorded by
    another process wakes (PostgreSQL's listener calls `wake_runners_for_others`)."""
    elsewhere = open_services(services.settings)
    try:
        record_reads(elsewhere, reads)
    finally:
        elsewhere.close()
    for runner in services.runners:
        runner.news.clear()
    services.wake_runners_for_others()
    return {r.read_model.name for r in services.runners if r.news.is_set()}


def test_events_of_another_process_wake_only_the_runners_that_handle_them(
    services: Services,
) -> None:
    register_customers(services, 1)

    woken = woken_by_events_of_another_process(services, 2)
    again = woken_by_events_of_another_process(services, 0)

    assert "events_by_subject" in woken
    assert "customers_by_id" not in woken
    assert again == set(), "events already told of wake nobody again"


def test_after_another_process_events_were_told_own_events_wake_as_usual(
    services: Services,
) -> None:
    register_customers(services, 1)
    woken_by_events_of_another_process(services, 1)
    for runner in services.runners:
        runner.news.clear()

    record_reads(services, 1)

    woken = {r.read_model.name for r in services.runners if r.news.is_set()}
    assert "events_by_subject" in woken
    assert "customers_by_id" not in woken, "no gap: the other events were told"


def test_many_events_of_another_process_wake_every_runner(
    services: Services,
) -> None:
    register_customers(services, 1)
    services.crm.noticed_at_most = 3  # type: ignore[attr-defined]

    woken = woken_by_events_of_another_process(services, 5)
    after_the_burst = woken_by_events_of_another_process(services, 1)

    assert woken == {runner.read_model.name for runner in services.runners}
    assert "customers_by_id" not in after_the_burst, "told from the head on"


def test_a_runner_told_of_another_process_events_applies_them(
    services: Services,
) -> None:
    elsewhere = open_services(services.settings)
    try:
        register_customers(elsewhere, 2)
    finally:
        elsewhere.close()
    runner = services.runner
    runner.news.clear()

    services.wake_runners_for_others()
    assert runner.news.is_set()
    runner.run_once(fresh_after=services.crm.feed.recorded_at)  # type: ignore[union-attr]

    assert stored_customers(services) == 2


def test_waiting_for_a_position_wakes_a_runner_that_was_not_told(
    services: Services,
) -> None:
    register_customers(services, 1)
    runner = services.runner
    runner.catch_up()
    runner.poll_seconds = 600  # only news can move it in this test
    stop = threading.Event()
    thread = threading.Thread(target=runner.run, args=(stop,))
    thread.start()
    try:
        time.sleep(0.2)  # the runner is waiting for news
        record_reads(services, 2)  # does not wake customers_by_id

        reached = runner.wait_for(runner.head(), timeout=30)
    finally:
        stop.set()
        runner.news.set()
        thread.join(timeout=30)

    assert reached
    assert stored_position(services, runner) == runner.head()  # committed on stop


def test_a_reader_waiting_for_a_position_cuts_the_settling_pause_short(
    services: Services,
) -> None:
    register_customers(services, 1)
    runner = services.runner
    runner.catch_up()
    runner.settle_seconds = 600  # under a stream, one batch per ten minutes
    stop = threading.Event()
    thread = threading.Thread(target=runner.run, args=(stop,))
    thread.start()
    try:
        register_customers(services, 1)  # after a quiet spell: applied at once
        assert runner.wait_for(runner.head(), timeout=30)
        register_customers(services, 1)  # within the pause: it waits to batch

        reached = runner.wait_for(runner.head(), timeout=30)
    finally:
        stop.set()
        runner.hurry.set()
        thread.join(timeout=30)

    assert reached, "without the hurry it would wait out the pause"
    assert stored_customers(services) == 3
