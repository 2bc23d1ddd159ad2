"""Recorded reads share transactions under load, each still stored before its
caller goes on (PROCESSING-LOG)."""

import threading
import time
from collections.abc import Sequence
from typing import Any
from uuid import UUID, uuid4

import pytest
from eventsourcing.utils import get_topic

from domain import CRM, Actor
from domain.access import PersonalDataAccess
from domain.group_commit import GroupCommit

CALLERS = 10


class Saved:
    def __init__(self, id: UUID) -> None:
        self.id = id


def test_callers_arriving_during_a_commit_share_the_next_one() -> None:
    batches: list[int] = []
    first_commit = threading.Event()

    def save_many(aggregates: Sequence[Any]) -> dict[UUID, int]:
        if not batches:
            first_commit.wait(30)
        batches.append(len(aggregates))
        return {a.id: 100 + sum(batches) for a in aggregates}

    group = GroupCommit(save_many)
    positions: list[int] = []
    threads = [
        threading.Thread(target=lambda: positions.append(group.save(Saved(uuid4()))))
        for _ in range(CALLERS)
    ]
    threads[0].start()
    while not group._saving:
        time.sleep(0.001)
    for thread in threads[1:]:
        thread.start()
    while len(group._pending) < CALLERS - 1:
        time.sleep(0.001)
    first_commit.set()
    for thread in threads:
        thread.join(30)

    assert batches == [1, CALLERS - 1]
    assert sorted(positions) == [101] + [100 + CALLERS] * (CALLERS - 1)


def test_a_failed_commit_raises_in_every_caller_it_carried() -> None:
    def save_many(aggregates: Sequence[Any]) -> dict[UUID, int]:
        raise RuntimeError("the database went away")

    group = GroupCommit(save_many)

    with pytest.raises(RuntimeError, match="went away"):
        group.save(Saved(uuid4()))


@pytest.mark.requirement("PROCESSING-LOG")
def test_concurrent_reads_are_each_recorded_once_with_their_own_position(
    crm: CRM,
) -> None:
    customer_ids = [uuid4() for _ in range(CALLERS)]
    written: list[Any] = []
    barrier = threading.Barrier(CALLERS)

    def read(customer_id: UUID) -> None:
        barrier.wait(30)
        written.append(
            crm.record_personal_data_read(
                Actor("u-17", "sales"), customer_id, "care", ["email"]
            )
        )

    threads = [threading.Thread(target=read, args=(c,)) for c in customer_ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    stored = crm.recorder.select_notifications(
        start=None, limit=100, topics=[get_topic(PersonalDataAccess.Recorded)]
    )
    assert sorted(w.position for w in written) == [n.id for n in stored]
    assert {w.id for w in written} == {n.originator_id for n in stored}
    assert len(stored) == CALLERS
