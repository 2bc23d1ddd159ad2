"""Reads of personal data are recorded before they are answered, and reads that
coincide share one transaction."""

import threading
from collections.abc import Sequence
from uuid import UUID, uuid4

import pytest
from eventsourcing.utils import get_topic

from api.read_log import GroupedReadLog
from api.wiring import Services
from domain import Actor, PersonalDataRead, Written
from domain.access import PersonalDataAccess

SALES = Actor("reader", "sales")


class CountedCRM:
    """The real CRM, counting transactions; the first one waits to be released."""

    def __init__(self, services: Services) -> None:
        self.crm = services.crm
        self.batches: list[int] = []
        self.first_started = threading.Event()
        self.release_first = threading.Event()

    def record_personal_data_reads(
        self, reads: Sequence[PersonalDataRead]
    ) -> list[Written]:
        self.batches.append(len(reads))
        if len(self.batches) == 1:
            self.first_started.set()
            assert self.release_first.wait(10)
        return self.crm.record_personal_data_reads(reads)


def stored_reads(services: Services) -> dict[UUID, UUID]:
    """Each stored read's customer, by the read's position."""
    found = services.crm.recorder.select_notifications(
        start=None, limit=1000, topics=[get_topic(PersonalDataAccess.Recorded)]
    )
    return {
        n.id: services.crm.repository.get(n.originator_id).customer_id for n in found
    }


@pytest.mark.requirement("PROCESSING-LOG")
def test_reads_arriving_during_a_commit_share_the_next_transaction(
    services: Services,
) -> None:
    crm = CountedCRM(services)
    log = GroupedReadLog(crm)  # type: ignore[arg-type]
    customers = [uuid4() for _ in range(6)]
    answers: dict[UUID, Written] = {}

    def read(customer_id: UUID) -> None:
        answers[customer_id] = log.record(SALES, customer_id, "care", ["phone"])

    first = threading.Thread(target=read, args=(customers[0],))
    first.start()
    assert crm.first_started.wait(10)
    others = [threading.Thread(target=read, args=(c,)) for c in customers[1:]]
    for thread in others:
        thread.start()
    for _ in range(1000):  # until every other reader waits for its turn
        if len(log._pending) == 5:
            break
        threading.Event().wait(0.01)
    crm.release_first.set()
    for thread in [first, *others]:
        thread.join(10)

    assert crm.batches == [1, 5]
    stored = stored_reads(services)
    assert {answers[c].position: c for c in customers} == stored


def test_a_failed_commit_fails_every_read_in_it_and_records_none(
    services: Services,
) -> None:
    class Failing:
        def record_personal_data_reads(self, reads: object) -> list[Written]:
            raise RuntimeError("the event store is down")

    log = GroupedReadLog(Failing())  # type: ignore[arg-type]

    with pytest.raises(RuntimeError, match="down"):
        log.record(SALES, uuid4(), "care", ["phone"])

    assert stored_reads(services) == {}
