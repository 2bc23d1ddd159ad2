"""The audit's quick reading of canonical entries agrees with parse_entry exactly."""

import json
import random
import uuid
from datetime import UTC, datetime

import pytest
from eventsourcing.persistence import Notification

from ledger.audit import CANONICAL_ENTRY, parse_canonical_entry
from ledger.entries import make_entry, parse_entry
from tests.ledger.ledger_test_support import mutate_entry

INTEGRATED_AT = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)


def entry_of(number: int, actor: str | None, topic: str) -> bytes:
    state = json.dumps({"actor": actor, "n": number}).encode()
    record = Notification(
        id=number,
        originator_id=uuid.UUID(int=number),
        originator_version=number % 7 + 1,
        topic=topic,
        state=state,
    )
    return make_entry(record, INTEGRATED_AT)


def outcome(parse: object, entry: bytes) -> object:
    """The fields in their order, or the ValueError's message."""
    try:
        return list(parse(entry).items())  # type: ignore[operator]
    except ValueError as error:
        return ("refused", str(error))


ENTRIES = [
    entry_of(1, "sales:u-17", "domain.customer:Customer.Registered"),
    entry_of(2, None, "domain.customer:Customer.DataKeyShredded"),
    entry_of(3, "dpo:Nguyễn", "domain.customer:Customer.Erased"),
    entry_of(2**40, 'sales:"quoted"\\', "t:Ä.B"),
]


@pytest.mark.parametrize("entry", ENTRIES)
def test_entries_the_ledger_writes_read_the_same_both_ways(entry: bytes) -> None:
    assert outcome(parse_canonical_entry, entry) == outcome(parse_entry, entry)


def test_plain_ascii_entries_take_the_quick_path() -> None:
    assert CANONICAL_ENTRY.fullmatch(ENTRIES[0]) is not None
    assert CANONICAL_ENTRY.fullmatch(ENTRIES[1]) is not None
    assert CANONICAL_ENTRY.fullmatch(ENTRIES[2]) is None  # not ASCII: parse_entry


def test_no_edit_of_an_entry_is_read_differently_from_parse_entry() -> None:
    chooser = random.Random(2026)
    quick = 0

    for _ in range(10_000):
        entry = mutate_entry(chooser.choice(ENTRIES), chooser)
        if chooser.random() < 0.3:
            entry = mutate_entry(entry, chooser)

        assert outcome(parse_canonical_entry, entry) == outcome(parse_entry, entry), (
            entry
        )
        quick += CANONICAL_ENTRY.fullmatch(entry) is not None
    assert quick > 800  # the quick path itself was exercised, not only the other
