"""Checking an export's entry bundles one by one, in worker processes if asked.

Each bundle of 256 entries can be checked alone: the leaf hash of every entry
against the bundle's leaf tile, the root of that tile, the form and order of
the entries within it, and the digests of the stored events exported beside
it. Only the tree above the leaf tiles and the order across bundles need the
bundles in sequence, so an audit can hand bundles to other processes and join
the results in order; a bundle whose leaves match its leaf tile comes back as
one hash, the tile's root. A bundle that fails any of these quick checks is
simply marked; the audit then checks it entry by entry to name the first
divergence precisely. Standard library only.
"""

import hashlib
import json
import operator
import os
import re
import struct
import sys
import threading
from collections import deque
from collections.abc import Generator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from multiprocessing import get_context
from multiprocessing.context import BaseContext

from ledger.entries import ENTRY_FORMAT, decode_event_bundle, event_bundle_path
from ledger.merkle import packed_root
from ledger.tiles import (
    TILE_WIDTH,
    decode_entry_bundle,
    entry_bundle_path,
    entry_bundles_for_size,
    split_hashes,
    tile_path,
)

SHREDDED_EVENT_SUFFIX = "DataKeyShredded"
# Below this many bundles, starting worker processes costs more than it saves.
MIN_BUNDLES_PER_WORKER = 256
# Bundles per task handed to a worker, and tasks in flight per worker: enough
# to keep workers busy, few enough that memory stays flat.
BUNDLES_PER_TASK = 16
_IN_FLIGHT_PER_WORKER = 2


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


# One entry as the ledger writes it, behind its uint16 length: canonical JSON
# with the known fields in order, whole numbers, strings without quotes. The
# strings may hold any other byte here; read_canonical_bundle then limits the
# bytes to those JSON reads verbatim. Groups: length, entry, notification id,
# originator id, state digest, topic.
_STRING = rb'"[^"]*+"'
_WHOLE_NUMBER = rb"-?(?:0|[1-9][0-9]*+)"
_BUNDLED_ENTRY = re.compile(
    b"".join(
        [
            rb"(?s:(..))",
            rb'(\{(?:"actor":' + _STRING + rb",)?",
            rb'"format":"' + re.escape(ENTRY_FORMAT.encode()) + rb'",',
            rb'"notification_id":(' + _WHOLE_NUMBER + rb"),",
            rb'"originator_id":"([^"]*+)",',
            rb'"originator_version":' + _WHOLE_NUMBER + rb",",
            rb'"recorded_at":' + _STRING + rb",",
            rb'"state_sha256":"([^"]*+)",',
            rb'"topic":"([^"]*+)"\})',
        ]
    )
)
# re.split gives the text before each match, then its six groups.
_SPLIT_STRIDE = 7
# Printable ASCII but the backslash: JSON reads strings of these verbatim.
_VERBATIM = bytes(range(0x20, 0x7F)).replace(b"\\", b"")


@dataclass(frozen=True)
class CanonicalBundle:
    """A bundle's entries and, as bytes, the fields the audit reads of them."""

    entries: list[bytes]
    notification_ids: list[bytes]
    originator_ids: list[bytes]
    state_digests: list[bytes]
    topics: list[bytes]


def read_canonical_bundle(bundle: bytes) -> CanonicalBundle | None:
    """The entries of a bundle whose entries are all canonical, else None.

    Reads what decode_entry_bundle and then parse_entry would, in a few
    passes over the whole bundle instead of a parse per entry:

    1. Split the bundle into length-prefixed canonical entries, with nothing
       between or around them.
    2. Check that each length prefix is its entry's length.
    3. Check that every byte is printable ASCII other than the backslash, so
       each string holds no escape and reads as it is written.
    """
    # 1. Any text the pattern skipped means an entry it does not read.
    parts = _BUNDLED_ENTRY.split(bundle)
    if any(parts[::_SPLIT_STRIDE]):
        return None

    # 2. The same entries as decoding the bundle by its length prefixes.
    entries = parts[2::_SPLIT_STRIDE]
    lengths = struct.pack(f">{len(entries)}H", *map(len, entries))
    if b"".join(parts[1::_SPLIT_STRIDE]) != lengths:
        return None

    # 3. No control character, escape or non-ASCII byte in any string.
    if b"".join(entries).translate(None, _VERBATIM):
        return None
    return CanonicalBundle(
        entries,
        parts[3::_SPLIT_STRIDE],
        parts[4::_SPLIT_STRIDE],
        parts[5::_SPLIT_STRIDE],
        parts[6::_SPLIT_STRIDE],
    )


@dataclass
class PreparedBundle:
    """What one bundle's quick checks found.

    `tile_root` is set when the leaf hashes equal the bundle's stored full
    leaf tile: the root of that tile is all the audit needs, and `leaves` is
    None. Otherwise `leaves` holds the leaf hashes, or None when the bundle
    could not be read. `passed` says whether every entry is canonical, in
    order within the bundle and, with stored events, matched by exactly one
    event of the right digest.
    """

    index: int
    leaves: list[bytes] | None
    tile_root: bytes | None = None
    passed: bool = False
    first_notification_id: int = -1
    last_notification_id: int = -1
    events_checked: int = 0
    shredded: list[ShreddedSubject] = field(default_factory=list)


# (export directory, bundle index, bundle width, whether it has stored events)
BundleTask = tuple[str, int, int, bool]


def prepare_bundle(task: BundleTask) -> PreparedBundle:
    """Hash and check one entry bundle of an export.

    1. Read the entries: canonical ones in one pass, any others one by one.
    2. Hash the leaves; where they equal the stored leaf tile, keep its root.
    3. Check the form and order of the entries and their stored events.
    """
    directory, index, width, with_events = task
    # 1. A bundle that cannot be read is left to the audit, which says why.
    read = _read_entries(directory, entry_bundle_path(index, width))
    if read is None:
        return PreparedBundle(index, None)
    entries, canonical = read

    # 2. Only a full bundle has a leaf tile whose root stands for it.
    sha256 = hashlib.sha256
    leaves = b"".join([sha256(b"\x00" + entry).digest() for entry in entries])
    prepared = PreparedBundle(index, None)
    full = width == TILE_WIDTH and len(entries) == TILE_WIDTH
    if full and leaves == _read(directory, tile_path(0, index)):
        prepared.tile_root = packed_root(leaves)
    else:
        prepared.leaves = split_hashes(leaves)

    # 3. Only canonical entries are checked here; others go entry by entry.
    if canonical is not None and len(entries) == width:
        prepared.passed = _check_canonical(directory, prepared, canonical, with_events)
    return prepared


def _read_entries(
    directory: str, path: str
) -> tuple[list[bytes], CanonicalBundle | None] | None:
    bundle = _read(directory, path)
    if bundle is None:
        return None
    canonical = read_canonical_bundle(bundle)
    if canonical is not None:
        return canonical.entries, canonical
    try:
        return decode_entry_bundle(bundle), None
    except ValueError:
        return None


def _read(directory: str, path: str) -> bytes | None:
    try:
        with open(os.path.join(directory, path), "rb", buffering=0) as file:
            return file.readall()
    except OSError:
        return None


def _check_canonical(
    directory: str,
    prepared: PreparedBundle,
    canonical: CanonicalBundle,
    with_events: bool,
) -> bool:
    """1. Match stored events. 2. Check the order. 3. Note shredded subjects."""
    # 1. Without stored events, the ids are the entries' own.
    records = None
    if with_events:
        matched = _match_stored_events(directory, prepared, canonical)
        if matched is None:
            return False
        ids, records = matched
    else:
        ids = list(map(int, canonical.notification_ids))

    # 2. Strictly rising notification ids within the bundle.
    if not all(map(operator.lt, ids, ids[1:])):
        return False
    prepared.first_notification_id, prepared.last_notification_id = ids[0], ids[-1]

    # 3. Rare, so looked for in all topics at once first.
    topics = b'"'.join(canonical.topics) + b'"'
    if SHREDDED_EVENT_SUFFIX.encode() + b'"' in topics:
        _note_shredded(prepared, canonical, ids, records)
    return True


def _match_stored_events(
    directory: str, prepared: PreparedBundle, canonical: CanonicalBundle
) -> tuple[list[int], bytes] | None:
    """The notification ids and event records, where the bundle's stored
    events are the entries' own: the same ids in the same order, each with
    the digest its entry recorded. None otherwise."""
    path = event_bundle_path(prepared.index, len(canonical.entries))
    records = _read(directory, path)
    stored = None if records is None else _stored_event_digests(records)
    if records is None or stored is None:
        return None
    ids, digests = stored
    # Texts without quotes, so joined on quotes they compare one by one.
    if b'"'.join(canonical.notification_ids) != '"'.join(map(str, ids)).encode():
        return None
    if b'"'.join(canonical.state_digests) != '"'.join(digests).encode():
        return None
    prepared.events_checked = len(ids)
    return ids, records


_EVENT_HEADER = struct.Struct(">QI")


def _stored_event_digests(records: bytes) -> tuple[list[int], list[str]] | None:
    """The notification ids and SHA-256 hex digests of an event bundle's records.

    None where a record runs past the end: decode_event_bundle says how.
    """
    ids: list[int] = []
    digests: list[str] = []
    add_id, add_digest = ids.append, digests.append
    read_header, header_size = _EVENT_HEADER.unpack_from, _EVENT_HEADER.size
    sha256 = hashlib.sha256
    position, end = 0, len(records)
    while position < end:
        start = position + header_size
        if start > end:
            return None
        notification_id, length = read_header(records, position)
        position = start + length
        if position > end:
            return None
        add_id(notification_id)
        add_digest(sha256(records[start:position]).hexdigest())
    return ids, digests


def _note_shredded(
    prepared: PreparedBundle,
    canonical: CanonicalBundle,
    ids: list[int],
    records: bytes | None,
) -> None:
    states = {} if records is None else decode_event_bundle(records)
    start = prepared.index * TILE_WIDTH
    for offset, topic in enumerate(canonical.topics):
        if records_shredding(topic.decode()):
            originator_id = canonical.originator_ids[offset].decode()
            notification_id = ids[offset]
            state = states.get(notification_id)
            prepared.shredded.append(
                shredded_subject(start + offset, originator_id, notification_id, state)
            )


def prepare_bundles(tasks: list[BundleTask]) -> list[PreparedBundle]:
    """prepare_bundle for a run of bundles: one hand-over for several."""
    return [prepare_bundle(task) for task in tasks]


def default_jobs() -> int:
    """One worker per CPU this process may use."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1


def prepared_bundles(
    directory: str | os.PathLike[str], size: int, with_events: bool, jobs: int
) -> Generator[PreparedBundle, None, None]:
    """Every bundle of a tree of `size`, prepared in order; by `jobs` processes.

    Workers take runs of bundles, and at most a few runs per worker are in
    flight, so memory stays flat however large the export. Close the
    generator when done with it: that stops the workers at once.
    """
    tasks = [
        (os.fspath(directory), bundle.index, bundle.width, with_events)
        for bundle in entry_bundles_for_size(size)
    ]
    jobs = min(jobs, len(tasks) // MIN_BUNDLES_PER_WORKER)
    if jobs <= 1:
        yield from map(prepare_bundle, tasks)
        return
    runs = [
        tasks[start : start + BUNDLES_PER_TASK]
        for start in range(0, len(tasks), BUNDLES_PER_TASK)
    ]
    pool = ProcessPoolExecutor(jobs, mp_context=worker_context())
    try:
        pending: deque[Future[list[PreparedBundle]]] = deque()
        for run in runs:
            pending.append(pool.submit(prepare_bundles, run))
            if len(pending) >= jobs * _IN_FLIGHT_PER_WORKER:
                yield from pending.popleft().result()
        while pending:
            yield from pending.popleft().result()
    finally:
        # Closed early (the audit stopped at a divergence): drop what is queued.
        pool.shutdown(cancel_futures=True)


def worker_context() -> BaseContext:
    """How to start workers: fork where that is safe, else spawn.

    A forked worker starts at once with the modules already imported; a
    spawned one starts a new interpreter that imports the caller's main
    module again. Fork copies only the calling thread, so a lock another
    thread holds would stay locked in the worker: with other threads
    running, or off Linux, workers are spawned.
    """
    if sys.platform == "linux" and threading.active_count() == 1:
        return get_context("fork")
    return get_context("spawn")
