"""Checking an export's entry bundles one by one, in worker processes if asked.

Each bundle of 256 entries can be checked alone: the leaf hash of every entry,
the form and order of the entries within it, and the digests of the stored
events exported beside it. Only the tree above the leaves and the order across
bundles need the bundles in sequence, so an audit can hand bundles to other
processes and join the results in order. A bundle that fails any of these
quick checks is simply marked; the audit then checks it entry by entry to name
the first divergence precisely. Standard library only.
"""

import hashlib
import json
import os
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from itertools import pairwise
from multiprocessing import get_context
from pathlib import Path

from ledger.audit import CANONICAL_ENTRY
from ledger.entries import decode_event_bundle, event_bundle_path
from ledger.tiles import (
    TILE_WIDTH,
    decode_entry_bundle,
    entry_bundle_path,
    entry_bundles_for_size,
)

SHREDDED_EVENT_SUFFIX = "DataKeyShredded"
# Below this many bundles, starting worker processes costs more than it saves.
MIN_BUNDLES_PER_WORKER = 256
_IN_FLIGHT_PER_WORKER = 8


def records_shredding(topic: str) -> bool:
    """Whether an event's class name ends with `DataKeyShredded`.

    A convention, not a type: the ledger knows no application, so any event
    class named so (`domain.customer:Customer.DataKeyShredded`) reports its
    originator as a subject whose data key was destroyed. The suffix holds no
    `:` or `.`, so the topic ends with it exactly when the class name does.
    """
    return topic.endswith(SHREDDED_EVENT_SUFFIX)


@dataclass
class ShreddedSubject:
    """An entry that records the destruction of a data subject's data key."""

    originator_id: str
    index: int
    notification_id: int
    data_key_id: str | None


def shredded_subject(
    index: int, originator_id: str, notification_id: int, state: bytes | None
) -> ShreddedSubject:
    """The subject an entry reports shredded, with the key id its event names."""
    data_key_id = None
    if state is not None:
        try:
            event = json.loads(state)
        except ValueError:
            event = None
        if isinstance(event, dict) and isinstance(event.get("data_key_id"), str):
            data_key_id = event["data_key_id"]
    return ShreddedSubject(originator_id, index, notification_id, data_key_id)


@dataclass
class PreparedBundle:
    """What one bundle's quick checks found.

    `leaves` is None when the bundle could not be read; `passed` says whether
    every entry is canonical, in order within the bundle and, with stored
    events, matched by exactly one event of the right digest.
    """

    index: int
    leaves: list[bytes] | None
    passed: bool = False
    first_notification_id: int = -1
    last_notification_id: int = -1
    events_checked: int = 0
    shredded: list[ShreddedSubject] = field(default_factory=list)


def prepare_bundle(task: tuple[str, int, int, bool]) -> PreparedBundle:
    """Hash and check one entry bundle of an export: (directory, index, width,
    whether the export holds stored events)."""
    directory, index, width, with_events = task
    try:
        entries = decode_entry_bundle(
            (Path(directory) / entry_bundle_path(index, width)).read_bytes()
        )
    except (OSError, ValueError):
        return PreparedBundle(index, None)
    sha256 = hashlib.sha256
    prepared = PreparedBundle(index, [sha256(b"\x00" + e).digest() for e in entries])
    if len(entries) == width:
        prepared.passed = _check_entries(
            Path(directory), prepared, entries, with_events
        )
    return prepared


def _check_entries(
    directory: Path, prepared: PreparedBundle, entries: list[bytes], with_events: bool
) -> bool:
    """1. Parse each canonical entry. 2. Check the order. 3. Match stored events."""
    # 1. Entries the quick pattern does not read go to the precise path.
    matches = [CANONICAL_ENTRY.fullmatch(entry) for entry in entries]
    if not all(matches):
        return False
    fields = [match.groups() for match in matches if match is not None]
    ids = [int(entry_fields[1]) for entry_fields in fields]

    # 2. Strictly rising notification ids within the bundle.
    if any(later <= earlier for earlier, later in pairwise(ids)):
        return False
    prepared.first_notification_id, prepared.last_notification_id = ids[0], ids[-1]

    # 3. One stored event per entry, each with the digest the entry recorded.
    states: dict[int, bytes] = {}
    if with_events:
        states = _stored_events(directory, prepared.index, len(entries))
        sha256 = hashlib.sha256
        for notification_id, entry_fields in zip(ids, fields, strict=True):
            state = states.get(notification_id)
            if state is None or sha256(state).hexdigest().encode() != entry_fields[5]:
                return False
        if len(states) != len(ids):
            return False
        prepared.events_checked = len(ids)
    _note_shredded(prepared, ids, fields, states)
    return True


def _stored_events(directory: Path, index: int, width: int) -> dict[int, bytes]:
    try:
        bundle = (directory / event_bundle_path(index, width)).read_bytes()
        return decode_event_bundle(bundle)
    except (OSError, ValueError):
        return {}


def _note_shredded(
    prepared: PreparedBundle,
    ids: list[int],
    fields: list[tuple[bytes, ...]],
    states: dict[int, bytes],
) -> None:
    start = prepared.index * TILE_WIDTH
    for offset, (notification_id, entry_fields) in enumerate(
        zip(ids, fields, strict=True)
    ):
        if records_shredding(entry_fields[6].decode()):
            prepared.shredded.append(
                shredded_subject(
                    start + offset,
                    entry_fields[2].decode(),
                    notification_id,
                    states.get(notification_id),
                )
            )


def default_jobs() -> int:
    """One worker per CPU this process may use."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1


def prepared_bundles(
    directory: Path, size: int, with_events: bool, jobs: int
) -> Iterator[PreparedBundle]:
    """Every bundle of a tree of `size`, prepared in order; by `jobs` processes.

    At most a few bundles per worker are in flight, so memory stays flat
    however large the export.
    """
    tasks = [
        (str(directory), bundle.index, bundle.width, with_events)
        for bundle in entry_bundles_for_size(size)
    ]
    jobs = min(jobs, len(tasks) // MIN_BUNDLES_PER_WORKER)
    if jobs <= 1:
        yield from map(prepare_bundle, tasks)
        return
    # spawn, not fork: the caller may hold threads and open connections.
    with ProcessPoolExecutor(jobs, mp_context=get_context("spawn")) as pool:
        pending: deque[Future[PreparedBundle]] = deque()
        for task in tasks:
            pending.append(pool.submit(prepare_bundle, task))
            if len(pending) >= jobs * _IN_FLIGHT_PER_WORKER:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()
