"""The audit's quick bundle path: the same verdicts as checking entry by entry."""

import random
import shutil
import threading
from collections.abc import Callable, Generator
from dataclasses import asdict, dataclass
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import pytest
from eventsourcing.domain import Aggregate, event

from ledger import (
    LedgerDivergence,
    LedgerSigner,
    create_signing_key,
    export,
    export_bundles,
    verify,
)
from ledger.entries import (
    decode_event_bundle,
    encode_event_bundle,
    parse_entry,
)
from ledger.export_bundles import PreparedBundle, read_canonical_bundle
from ledger.merkle import leaf_hash
from ledger.tiles import (
    TileBuilder,
    decode_entry_bundle,
    encode_entry_bundle,
    entry_bundles_for_size,
)
from tests.ledger.ledger_test_support import (
    ORIGIN,
    LedgerSetup,
    mutate_entry,
    record_tickets,
)

SIZE = 700  # two full bundles and a partial one of 188 entries


class Subject(Aggregate):
    """A data subject whose data key is destroyed, as an erased customer's is."""

    @event("Registered")
    def __init__(self, actor: str) -> None:
        pass

    @event("DataKeyShredded")
    def shred(self, data_key_id: str, actor: str) -> None:
        pass


class Memo(Aggregate):
    """An event without an actor, so its entry has no actor field."""

    @event("Written")
    def __init__(self, text: str) -> None:
        self.text = text


@dataclass
class Exported:
    """An export of SIZE events, its entries and a signer to sign checkpoints."""

    directory: Path
    signer: LedgerSigner
    entries: list[bytes]

    @property
    def vkey(self) -> str:
        return self.signer.vkeys[0]

    def checkpoint(self, size: int, root: bytes | None = None) -> bytes:
        """A ledger checkpoint at `size`, with the true root unless given one."""
        builder = TileBuilder()
        for entry in self.entries[:size]:
            builder.append(leaf_hash(entry))
        return self.signer.sign(size, root or builder.root()).note


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Exported:
    """Bundle 0 mixes entries with and without an actor and records a shredding;
    bundle 1 holds an actor that is not ASCII; bundle 2 is partial."""
    base = tmp_path_factory.mktemp("bundles")
    (base / "data").mkdir()
    create_signing_key(base / "ledger.key", ORIGIN)
    signer = LedgerSigner.from_key_files(base / "ledger.key")
    setup = LedgerSetup(
        "sqlite",
        f"sqlite:///{base / 'data'}",
        base / "data",
        signer,
        base / "ledger.key",
        base / "copy",
    )
    app = setup.application()
    record_tickets(app, 20, notes=3)
    app.save(*(Memo(f"memo {number}") for number in range(5)))
    subject = Subject(actor="sales:u-1")
    subject.shred("0b6a4e52-5d0e-4c5e-9a8f-2f1d2c3b4a59", actor="dpo:u-2")
    app.save(subject)
    record_tickets(app, 50, notes=3)
    app.save(Subject(actor="dpo:Nguyễn"))
    record_tickets(app, 103, notes=3)
    integrator = setup.integrator(app)
    integrator.run_once()
    integrator.sign_ledger_checkpoint()
    export(setup.store(), base / "export", event_records=app.recorder)
    setup.close_all()

    entries = [entry for bundle in entry_bundles(base / "export") for entry in bundle]
    assert len(entries) == SIZE
    return Exported(base / "export", signer, entries)


def entry_bundles(directory: Path) -> list[list[bytes]]:
    return [
        decode_entry_bundle((directory / bundle.path).read_bytes())
        for bundle in entry_bundles_for_size(SIZE)
    ]


@pytest.fixture
def exported(pristine: Exported, tmp_path: Path) -> Exported:
    """A copy of the pristine export that a test may tamper with."""
    copy = Path(shutil.copytree(pristine.directory, tmp_path / "export"))
    return Exported(copy, pristine.signer, pristine.entries)


@pytest.fixture(autouse=True)
def workers_for_small_exports(monkeypatch: pytest.MonkeyPatch) -> None:
    """Workers even for three bundles, one bundle per task, so both take some."""
    monkeypatch.setattr(export_bundles, "MIN_BUNDLES_PER_WORKER", 1)
    monkeypatch.setattr(export_bundles, "BUNDLES_PER_TASK", 1)


def entry_by_entry(
    directory: Path, size: int, with_events: bool, jobs: int
) -> Generator[PreparedBundle, None, None]:
    """No bundle prepared ahead: the audit reads and checks every entry itself."""
    return (
        PreparedBundle(bundle.index, None) for bundle in entry_bundles_for_size(size)
    )


def verdicts(
    exported: Exported, monkeypatch: pytest.MonkeyPatch, *known: bytes
) -> dict[str, dict[str, object]]:
    """The audit's report or first divergence, in workers and entry by entry."""

    def verdict(jobs: int) -> dict[str, object]:
        try:
            report = verify.verify_export(
                exported.directory, [exported.vkey], known, jobs=jobs
            )
            return asdict(report)
        except LedgerDivergence as found:
            return found.as_dict()

    found = {"one process": verdict(1), "two workers": verdict(2)}
    with monkeypatch.context() as patch:
        patch.setattr(verify, "prepared_bundles", entry_by_entry)
        found["entry by entry"] = verdict(1)
    return found


def assert_alike(found: dict[str, dict[str, object]]) -> dict[str, object]:
    reference = found["entry by entry"]
    assert found["one process"] == reference
    assert found["two workers"] == reference
    return reference


def test_the_export_has_quick_and_slow_bundles(pristine: Exported) -> None:
    folder = pristine.directory
    bundles = [(folder / b.path).read_bytes() for b in entry_bundles_for_size(SIZE)]
    memos = [entry for entry in pristine.entries[:256] if b"Memo.Written" in entry]

    quick = [read_canonical_bundle(bundle) is not None for bundle in bundles]

    assert quick == [True, False, True]
    assert memos and all(b'"actor"' not in memo for memo in memos)


def test_pristine_export_reads_alike_on_every_path(
    pristine: Exported, monkeypatch: pytest.MonkeyPatch
) -> None:
    report = assert_alike(verdicts(pristine, monkeypatch))

    assert (report["tree_size"], report["event_records_checked"]) == (SIZE, SIZE)
    shredded = report["shredded_subjects"]
    assert isinstance(shredded, list) and len(shredded) == 1
    assert shredded[0]["data_key_id"] == "0b6a4e52-5d0e-4c5e-9a8f-2f1d2c3b4a59"


@pytest.mark.parametrize("size", [1, 100, 255, 256, 257, 300, 511, 512, 513, 699, 700])
def test_known_checkpoints_inside_or_at_the_end_of_a_bundle_are_proved(
    pristine: Exported, monkeypatch: pytest.MonkeyPatch, size: int
) -> None:
    found = verdicts(pristine, monkeypatch, pristine.checkpoint(size))

    assert assert_alike(found)["known_checkpoints"] == [size]


@pytest.mark.parametrize("size", [100, 256, 300, 512, 600])
def test_forged_known_checkpoint_inside_or_at_the_end_of_a_bundle_is_flagged(
    pristine: Exported, monkeypatch: pytest.MonkeyPatch, size: int
) -> None:
    forged = pristine.checkpoint(size, root=bytes(32))

    found = assert_alike(verdicts(pristine, monkeypatch, forged))

    assert (found["check"], found["expected"]) == ("consistency", bytes(32).hex())
    assert f"at size {size}" in str(found["message"])


def rewrite_entries(
    name: str, change: Callable[[list[bytes]], None]
) -> Callable[[Path], None]:
    def tamper(directory: Path) -> None:
        path = directory / "tile" / "entries" / name
        entries = decode_entry_bundle(path.read_bytes())
        change(entries)
        path.write_bytes(encode_entry_bundle(entries))

    return tamper


def rewrite_events(
    name: str, change: Callable[[list[tuple[int, bytes]]], None]
) -> Callable[[Path], None]:
    def tamper(directory: Path) -> None:
        path = directory / "events" / name
        records = list(decode_event_bundle(path.read_bytes()).items())
        change(records)
        path.write_bytes(encode_event_bundle(records))

    return tamper


def flip(path: str, offset: int) -> Callable[[Path], None]:
    def tamper(directory: Path) -> None:
        content = bytearray((directory / path).read_bytes())
        content[offset] ^= 0x01
        (directory / path).write_bytes(bytes(content))

    return tamper


def remove(path: str) -> Callable[[Path], None]:
    return lambda directory: (directory / path).unlink()


def swap(first: int, second: int) -> Callable[[list[Any]], None]:
    def change(items: list[Any]) -> None:
        items[first], items[second] = items[second], items[first]

    return change


def rewrite_entry_and_its_leaf(directory: Path) -> None:
    rewrite_entries("000", lambda entries: entries.__setitem__(3, b"{}"))(directory)
    tile = directory / "tile" / "0" / "000"
    hashes = bytearray(tile.read_bytes())
    hashes[96:128] = leaf_hash(b"{}")
    tile.write_bytes(bytes(hashes))


def spaced(entry: bytes) -> bytes:
    return entry.replace(b'":', b'": ', 1)


Tampering = Callable[[Path], None]
# Each tampering, and the first divergence it must be reported as (None: none).
TAMPERINGS: dict[str, tuple[Tampering, tuple[str, int | None] | None]] = {
    "entry altered, full bundle": (
        rewrite_entries("000", lambda e: e.__setitem__(17, e[17][:-2] + b'x"}')),
        ("entry", 17),
    ),
    "entry altered, slow bundle": (
        rewrite_entries("001", lambda e: e.__setitem__(40, e[40][:-2] + b'x"}')),
        ("entry", 296),
    ),
    "entry altered, partial bundle": (
        rewrite_entries("002.p/188", lambda e: e.__setitem__(5, e[5][:-2] + b'x"}')),
        ("entry", 517),
    ),
    "entry spaced out, still JSON": (
        rewrite_entries("000", lambda e: e.__setitem__(9, spaced(e[9]))),
        ("entry", 9),
    ),
    "entries swapped within a bundle": (
        rewrite_entries("000", swap(50, 51)),
        ("entry", 50),
    ),
    "entry removed": (
        rewrite_entries("000", lambda e: e.pop(33)),
        ("entry-count", 33),
    ),
    "entry inserted": (
        rewrite_entries("002.p/188", lambda e: e.insert(9, e[8])),
        ("entry-count", 521),
    ),
    "entry bundle cut": (flip("tile/entries/000", 0), ("entry-bundle", 0)),
    "entry bundle missing": (remove("tile/entries/001"), ("entry-bundle", 256)),
    "leaf tile altered": (flip("tile/0/000", 32 * 7), ("tile", 7)),
    "leaf tile missing": (remove("tile/0/001"), ("tile", 256)),
    "partial leaf tile altered": (flip("tile/0/002.p/188", 32 * 187), ("tile", 699)),
    "upper tile altered": (flip("tile/1/000.p/2", 33), ("tile", 256)),
    "entry and its leaf rewritten together": (rewrite_entry_and_its_leaf, ("entry", 0)),
    "stored event altered": (flip("events/000", 700), ("event-digest", 4)),
    "stored event removed": (
        rewrite_events("000", lambda records: records.pop(12)),
        ("event-missing", 12),
    ),
    "stored event inserted": (
        rewrite_events("002.p/188", lambda records: records.insert(3, (10**6, b"{}"))),
        ("event-extra", None),
    ),
    "stored events reordered, still all there": (
        rewrite_events("000", swap(0, 255)),
        None,
    ),
    "stored events missing": (remove("events/002.p/188"), ("event-missing", 512)),
}


@pytest.mark.parametrize("tampering", TAMPERINGS)
def test_tampering_is_reported_alike_on_every_path(
    exported: Exported, monkeypatch: pytest.MonkeyPatch, tampering: str
) -> None:
    tamper, expected = TAMPERINGS[tampering]
    tamper(exported.directory)

    found = assert_alike(verdicts(exported, monkeypatch, exported.checkpoint(300)))

    if expected is None:
        assert found["known_checkpoints"] == [300]
    else:
        assert (found["check"], found.get("index")) == expected


def test_entries_swapped_across_a_known_checkpoint_are_reported_alike(
    exported: Exported, monkeypatch: pytest.MonkeyPatch
) -> None:
    rewrite_entries("001", swap(43, 44))(exported.directory)

    found = assert_alike(verdicts(exported, monkeypatch, exported.checkpoint(300)))

    assert (found["check"], found["index"]) == ("entry", 256 + 43)


@pytest.mark.parametrize("method", ["fork", "spawn"])
def test_workers_forked_or_spawned_reach_the_same_verdict(
    exported: Exported, monkeypatch: pytest.MonkeyPatch, method: str
) -> None:
    flip("events/000", 900)(exported.directory)
    monkeypatch.setattr(export_bundles, "worker_context", lambda: get_context(method))

    found = verdicts(exported, monkeypatch)

    assert assert_alike(found)["check"] == "event-digest"


def test_quick_reading_of_a_bundle_agrees_with_parse_entry(pristine: Exported) -> None:
    chooser = random.Random(6962)
    quick = 0

    for _ in range(400):
        entries = list(pristine.entries[:256])
        for _ in range(chooser.randrange(1, 3)):
            at = chooser.randrange(len(entries))
            entries[at] = mutate_entry(entries[at], chooser)
        bundle = mangle(encode_entry_bundle(entries), chooser)

        reading = read_canonical_bundle(bundle)

        if reading is not None:
            quick += 1
            assert reading.entries == decode_entry_bundle(bundle)
            assert_fields_match(reading)
    assert quick > 20  # the quick reading itself was exercised, not only refused


def mangle(bundle: bytes, chooser: random.Random) -> bytes:
    """Now and then, a change to the bundle's framing rather than to an entry."""
    kind = chooser.randrange(6)
    if kind == 0:
        at = chooser.randrange(len(bundle))
        return bundle[:at] + bytes([bundle[at] ^ 1]) + bundle[at + 1 :]
    if kind == 1:
        return bundle + b"\x00"
    if kind == 2:
        return bundle[:-1]
    return bundle


def assert_fields_match(reading: export_bundles.CanonicalBundle) -> None:
    for offset, entry in enumerate(reading.entries):
        fields = parse_entry(entry)
        assert int(reading.notification_ids[offset]) == fields["notification_id"]
        assert reading.originator_ids[offset].decode() == fields["originator_id"]
        assert reading.state_digests[offset].decode() == fields["state_sha256"]
        assert reading.topics[offset].decode() == fields["topic"]


def test_workers_are_spawned_while_other_threads_run() -> None:
    stop = threading.Event()
    other = threading.Thread(target=stop.wait)
    other.start()
    try:
        method = export_bundles.worker_context().get_start_method()
    finally:
        stop.set()
        other.join()

    assert method == "spawn"
