"""The shared notification feed: runners woken by the same events read the log
once between them, and none is ever answered from before what it must see."""

import threading
import time
from collections.abc import Sequence
from typing import Any

from eventsourcing.persistence import Notification

from api.wiring import Services
from projections.feed import NotificationFeed
from tests.projections.test_runner import register_customers


class CountingLog:
    """The real recorder, counting the feed's reads of the notification log."""

    def __init__(self, recorder: Any) -> None:
        self.recorder = recorder
        self.reads = 0

    def select_notifications(self, *args: Any, **kwargs: Any) -> Any:
        self.reads += 1
        return self.recorder.select_notifications(*args, **kwargs)

    def max_notification_id(self) -> int | None:
        return self.recorder.max_notification_id()  # type: ignore[no-any-return]


def counting_feed(
    services: Services, **kwargs: Any
) -> tuple[NotificationFeed, CountingLog]:
    log = CountingLog(services.crm.recorder)
    return NotificationFeed(log, **kwargs), log  # type: ignore[arg-type]


def ids(notifications: Sequence[Notification]) -> list[int]:
    return [n.id for n in notifications]


def test_runners_woken_by_the_same_events_read_the_log_once(
    services: Services,
) -> None:
    register_customers(services, 3)
    feed, log_reads = counting_feed(services)
    feed.set()  # events were recorded: runners must see everything until now
    woken_at = feed.recorded_at

    answers = [
        feed.select_notifications(1, 500, fresh_after=woken_at) for _ in range(7)
    ]

    expected = ids(services.crm.recorder.select_notifications(1, 500))
    assert all(ids(answer) == expected for answer in answers)
    assert log_reads.reads == 1


def test_an_event_recorded_after_the_last_read_is_never_missed(
    services: Services,
) -> None:
    register_customers(services, 2)
    feed, log_reads = counting_feed(services)
    first = ids(feed.select_notifications(1, 500))

    register_customers(services, 1)  # after the feed's read
    feed.set()
    answer = ids(feed.select_notifications(first[-1] + 1, 500))

    assert answer == ids(services.crm.recorder.select_notifications(first[-1] + 1, 500))
    assert answer, "the new events"
    assert log_reads.reads == 2


def test_without_a_moment_given_the_feed_reads_the_log_for_a_short_answer(
    services: Services,
) -> None:
    register_customers(services, 2)
    feed, log_reads = counting_feed(services)
    feed.select_notifications(1, 500)
    feed.select_notifications(1, 500)

    assert log_reads.reads == 2  # a caller that gives no moment wants everything so far


def test_a_full_batch_comes_from_memory_and_the_rest_from_the_log(
    services: Services,
) -> None:
    register_customers(services, 3)
    log = services.crm.recorder.select_notifications(1, 500)
    feed, log_reads = counting_feed(services)
    feed.select_notifications(1, 500)

    batches = [feed.select_notifications(start, 2) for start in (1, 3)]

    assert [ids(b) for b in batches] == [ids(log[0:2]), ids(log[2:4])]
    assert log_reads.reads == 1


def test_a_read_far_behind_does_not_replace_newer_notifications(
    services: Services,
) -> None:
    register_customers(services, 3)
    log = services.crm.recorder.select_notifications(1, 500)
    feed, log_reads = counting_feed(services)
    before = time.monotonic()
    feed.select_notifications(1, 500)

    old = feed.select_notifications(1, 2, stop=log[1].id)  # a rebuild's read
    again = feed.select_notifications(log[2].id, 500, fresh_after=before)

    assert ids(old) == ids(log[0:2])
    assert ids(again) == ids(log[2:])
    assert log_reads.reads == 2  # the stop read went to the log; the last one did not


def test_the_feed_keeps_only_its_capacity(services: Services) -> None:
    register_customers(services, 3)
    log = services.crm.recorder.select_notifications(1, 500)
    feed, log_reads = counting_feed(services, capacity=4)
    feed.select_notifications(1, 500)

    early = feed.select_notifications(1, 2)
    late = feed.select_notifications(log[-2].id, 2)

    assert ids(early) == ids(log[0:2])
    assert ids(late) == ids(log[-2:])
    assert log_reads.reads == 2  # the early ones had left memory


def test_runners_in_threads_get_every_event_under_concurrent_writes(
    services: Services,
) -> None:
    feed = NotificationFeed(services.crm.recorder)
    seen: list[list[int]] = [[] for _ in range(4)]
    done = threading.Event()

    def follow(mine: list[int]) -> None:
        after = 0
        while not done.is_set() or after < (
            services.crm.recorder.max_notification_id() or 0
        ):
            moment = feed.recorded_at
            batch = feed.select_notifications(after + 1, 7, fresh_after=moment)
            mine += ids(batch)
            after = mine[-1] if mine else after

    threads = [threading.Thread(target=follow, args=(s,)) for s in seen]
    for thread in threads:
        thread.start()
    for _ in range(5):
        register_customers(services, 2)
        feed.set()
    done.set()
    for thread in threads:
        thread.join(timeout=60)

    expected = ids(services.crm.recorder.select_notifications(1, 10_000))
    assert all(mine == expected for mine in seen)
