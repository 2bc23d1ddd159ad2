"""The audit's quick reading of canonical entries agrees with parse_entry exactly."""

import json
import random
import re
import uuid
from datetime import UTC, datetime

import pytest
from eventsourcing.persistence import Notification

from ledger.audit import CANONICAL_ENTRY, parse_canonical_entry
from ledger.entries import make_entry, parse_entry

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


TRICKS = [
    b" ",
    b"\\",
    b'\\"',
    b"\\u0041",
    b"\xc3\xa4",
    b"\xff",
    b"\x00",
    b"\t",
    b"true",
    b"1.0",
    b"1e3",
    b"-0",
    b"01",
    b"9" * 30,
    b'"x"',
    b",",
    b":",
    b"{",
    b"}",
    b'"format":"ledgercrm-entry/1",',
    b'"extra":1,',
    b"\xef\xbb\xbf",
]


VALUES = [
    b"0",
    b"-0",
    b"01",
    b"-01",
    b"1.0",
    b"1e3",
    b"true",
    b"null",
    b"[]",
    b"{}",
    b"9" * 19,
    b"-" + b"9" * 18,
    b" 1",
    b'""',
    b'"a\\"b"',
    b'"\\u0041"',
    b'"\xc3\xa4"',
    b'"\x7f"',
    b'"\x1f"',
    b'"ledgercrm-entry/2"',
    b'"ledgercrm-entry/1"',
]
_VALUE = re.compile(rb'("[a-z_0-9]+":)("[^"]*"|-?[0-9]+)')


def replace_value(entry: bytes, chooser: random.Random) -> bytes:
    """One field's value swapped for another JSON (or almost JSON) value."""
    fields = list(_VALUE.finditer(entry))
    if not fields:
        return entry
    field = chooser.choice(fields)
    value = chooser.choice(VALUES)
    return entry[: field.start(2)] + value + entry[field.end(2) :]


def mutate(entry: bytes, chooser: random.Random) -> bytes:
    """A random small edit: a flipped bit, a cut, a tricky fragment, a new value."""
    position = chooser.randrange(len(entry) + 1)
    kind = chooser.randrange(5)
    if kind == 4:
        return replace_value(entry, chooser)
    if kind == 0 and position < len(entry):
        changed = bytearray(entry)
        changed[position] ^= 1 << chooser.randrange(8)
        return bytes(changed)
    if kind == 1:
        return entry[:position] + entry[position + chooser.randrange(1, 6) :]
    if kind == 2:
        return entry[:position] + chooser.choice(TRICKS) + entry[position:]
    start = chooser.randrange(len(entry))
    return entry[:start] + chooser.choice(TRICKS) + entry[position:]


def test_no_edit_of_an_entry_is_read_differently_from_parse_entry() -> None:
    chooser = random.Random(2026)
    quick = 0

    for _ in range(10_000):
        entry = mutate(chooser.choice(ENTRIES), chooser)
        if chooser.random() < 0.3:
            entry = mutate(entry, chooser)

        assert outcome(parse_canonical_entry, entry) == outcome(parse_entry, entry), (
            entry
        )
        quick += CANONICAL_ENTRY.fullmatch(entry) is not None
    assert quick > 800  # the quick path itself was exercised, not only the other
