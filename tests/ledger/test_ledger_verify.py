"""Export and the offline verifier: every kind of tampering is found and located."""

import json
import random
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import asdict
from pathlib import Path

import psycopg
import pytest

from ledger import (
    LedgerDivergence,
    LedgerSigner,
    VerificationError,
    create_signing_key,
    export,
    export_bundles,
    verify_export,
)
from ledger.merkle import EMPTY_ROOT
from ledger.tiles import decode_entry_bundle, encode_entry_bundle
from tests.ledger.ledger_test_support import (
    ORIGIN,
    DatabaseBackup,
    LedgerSetup,
    record_tickets,
    tamper,
)

ROOT = Path(__file__).resolve().parents[2]
FULL_BUNDLE = "tile/entries/000"


def build_export(setup: LedgerSetup, directory: Path, notes: int = 299) -> bytes:
    """A ledger of `notes + 1` events, signed at 40 and at its end, exported."""
    app = setup.application()
    record_tickets(app, 10, notes=3)
    integrator = setup.integrator(app)
    integrator.run_once()
    older = integrator.last_ledger_checkpoint
    record_tickets(app, 1, notes=notes - 40)
    integrator.run_once()
    integrator.sign_ledger_checkpoint()
    export(
        setup.store(), directory, event_records=app.recorder, vkeys=setup.signer.vkeys
    )
    assert older is not None
    return older.note


@pytest.fixture(scope="module")
def pristine(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[Path, str, bytes]]:
    """One SQLite export of 300 events, its vkey and its checkpoint at size 40."""
    base = tmp_path_factory.mktemp("pristine")
    (base / "data").mkdir()
    (base / "elsewhere").mkdir()
    create_signing_key(base / "ledger.key", ORIGIN)
    signer = LedgerSigner.from_key_files(base / "ledger.key")
    setup = LedgerSetup(
        "sqlite",
        f"sqlite:///{base / 'data'}",
        base / "data",
        signer,
        base / "ledger.key",
        base / "elsewhere" / "copy",
    )
    older = build_export(setup, base / "export")
    setup.close_all()
    yield base / "export", signer.vkeys[0], older


@pytest.fixture
def exported(pristine: tuple[Path, str, bytes], tmp_path: Path) -> Path:
    """A copy of the pristine export that a test may tamper with."""
    return Path(shutil.copytree(pristine[0], tmp_path / "export"))


@pytest.fixture
def vkey(pristine: tuple[Path, str, bytes]) -> str:
    return pristine[1]


def rewrite_bundle(directory: Path, change: Callable[[list[bytes]], None]) -> None:
    path = directory / FULL_BUNDLE
    entries = decode_entry_bundle(path.read_bytes())
    change(entries)
    path.write_bytes(encode_entry_bundle(entries))


def divergence(directory: Path, vkey: str, *known: bytes) -> LedgerDivergence:
    with pytest.raises(LedgerDivergence) as caught:
        verify_export(directory, [vkey], known)
    return caught.value


def test_export_has_the_tlog_tiles_layout(exported: Path, vkey: str) -> None:
    names = sorted(
        str(p.relative_to(exported)) for p in exported.rglob("*") if p.is_file()
    )

    assert names == [
        "checkpoint",
        "events/000",
        "events/001.p/44",
        "tile/0/000",
        "tile/0/001.p/44",
        "tile/1/000.p/1",
        "tile/entries/000",
        "tile/entries/001.p/44",
        "vkey",
    ]
    assert (exported / "vkey").read_text() == vkey + "\n"


def test_clean_export_verifies_entries_tiles_events_and_root(
    setup: LedgerSetup, tmp_path: Path
) -> None:
    build_export(setup, tmp_path / "export")

    report = verify_export(tmp_path / "export", setup.signer.vkeys)

    assert (report.origin, report.tree_size) == (ORIGIN, 300)
    assert report.entries_checked == 300 and report.event_records_checked == 300
    assert report.tiles_checked == 3


def test_tampered_entry_is_reported_with_its_index(exported: Path, vkey: str) -> None:
    def change(entries: list[bytes]) -> None:
        fields = json.loads(entries[17])
        fields["topic"] = fields["topic"] + "x"
        entries[17] = json.dumps(fields).encode()

    rewrite_bundle(exported, change)

    found = divergence(exported, vkey)
    assert (found.check, found.index, found.path) == ("entry", 17, "tile/0/000")


def test_removed_entry_is_reported_with_its_index(exported: Path, vkey: str) -> None:
    rewrite_bundle(exported, lambda entries: entries.pop(33))

    found = divergence(exported, vkey)
    assert (found.check, found.index) == ("entry-count", 33)
    assert found.path == FULL_BUNDLE


def test_reordered_entries_are_reported_at_the_first_moved_index(
    exported: Path, vkey: str
) -> None:
    def swap(entries: list[bytes]) -> None:
        entries[50], entries[51] = entries[51], entries[50]

    rewrite_bundle(exported, swap)

    found = divergence(exported, vkey)
    assert (found.check, found.index) == ("entry", 50)


def test_inserted_entry_is_reported_where_it_was_inserted(
    exported: Path, vkey: str
) -> None:
    rewrite_bundle(exported, lambda entries: entries.insert(90, entries[89]))

    found = divergence(exported, vkey)
    assert (found.check, found.index) == ("entry-count", 90)


def test_tampered_tile_is_reported_with_its_path(exported: Path, vkey: str) -> None:
    tile = exported / "tile/0/001.p/44"
    hashes = bytearray(tile.read_bytes())
    hashes[32 * 5] ^= 1
    tile.write_bytes(bytes(hashes))

    found = divergence(exported, vkey)
    assert (found.check, found.path, found.index) == ("tile", "tile/0/001.p/44", 261)
    assert found.expected != found.found


def test_entries_and_leaf_tile_rewritten_together_are_caught_above(
    exported: Path, vkey: str
) -> None:
    rewrite_bundle(exported, lambda entries: entries.__setitem__(3, b"{}"))
    tile = exported / "tile/0/000"
    hashes = bytearray(tile.read_bytes())
    from ledger.merkle import leaf_hash

    hashes[96:128] = leaf_hash(b"{}")
    tile.write_bytes(bytes(hashes))

    found = divergence(exported, vkey)
    assert (found.check, found.path, found.index) == ("entry", "tile/1/000.p/1", 0)


def test_tampered_checkpoint_fails_its_signature(exported: Path, vkey: str) -> None:
    checkpoint = exported / "checkpoint"
    checkpoint.write_bytes(checkpoint.read_bytes().replace(b"\n300\n", b"\n299\n"))

    with pytest.raises(VerificationError, match="does not verify"):
        verify_export(exported, [vkey])


def test_altered_stored_event_is_reported_with_its_entry_index(
    exported: Path, vkey: str
) -> None:
    events = exported / "events/000"
    records = bytearray(events.read_bytes())
    records[-3] ^= 0x20
    events.write_bytes(bytes(records))

    found = divergence(exported, vkey)
    assert (found.check, found.index, found.path) == ("event-digest", 255, "events/000")


def test_random_single_byte_changes_are_always_detected(
    exported: Path, vkey: str
) -> None:
    chooser = random.Random(9162)
    files = [p for p in exported.rglob("*") if p.is_file() and p.name != "vkey"]

    for _ in range(40):
        path = chooser.choice(files)
        original = path.read_bytes()
        changed = bytearray(original)
        changed[chooser.randrange(len(changed))] ^= 1 << chooser.randrange(8)
        path.write_bytes(bytes(changed))

        with pytest.raises(VerificationError):
            verify_export(exported, [vkey])
        path.write_bytes(original)


def test_older_checkpoint_is_proved_consistent_with_the_export(
    exported: Path, pristine: tuple[Path, str, bytes], vkey: str
) -> None:
    report = verify_export(exported, [vkey], [pristine[2]])

    assert report.known_checkpoints == [40]


@pytest.mark.parametrize("backend", ["sqlite"])
def test_checkpoint_from_a_forked_history_is_flagged(
    setup: LedgerSetup, tmp_path: Path
) -> None:
    app = setup.application()
    record_tickets(app, 40)
    setup.integrator(app).run_once()
    other_history = setup.checkpoint_copy.read_bytes()
    fork = LedgerSetup(
        "sqlite",
        f"sqlite:///{tmp_path / 'fork'}",
        tmp_path / "fork",
        setup.signer,
        setup.key_file,
        tmp_path / "fork-checkpoint",
    )
    fork.data_dir.mkdir()
    fork_app = fork.application()
    record_tickets(fork_app, 60)
    fork.integrator(fork_app).run_once()
    export(fork.store(), tmp_path / "export")
    fork.close_all()

    found = divergence(tmp_path / "export", setup.signer.vkeys[0], other_history)
    assert found.check == "consistency" and "at size 40" in found.message


def test_rollback_is_flagged_against_a_later_checkpoint(
    setup: LedgerSetup, back_up: Callable[[], DatabaseBackup], tmp_path: Path
) -> None:
    app = setup.application()
    record_tickets(app, 5)
    setup.integrator(app).run_once()
    backup = back_up()
    app = setup.application()
    record_tickets(app, 5)
    setup.integrator(app).run_once()
    later = setup.checkpoint_copy.read_bytes()

    backup.restore()
    export(setup.store(), tmp_path / "restored")

    found = divergence(tmp_path / "restored", setup.signer.vkeys[0], later)
    assert found.check == "rollback"
    assert (found.expected, found.found) == (">= 10", "5")


def test_database_tampering_with_triggers_disabled_is_found_by_the_audit(
    setup: LedgerSetup, tmp_path: Path
) -> None:
    app = setup.application()
    record_tickets(app, 8)
    setup.integrator(app).run_once()

    tamper(setup, "DELETE FROM {ledger}entries WHERE leaf_index = 7")
    tamper(
        setup,
        "UPDATE {ledger}entries SET entry = (SELECT entry FROM {ledger}entries "
        "WHERE leaf_index = 1) WHERE leaf_index = 4",
    )
    export(setup.store(), tmp_path / "export")

    with pytest.raises(LedgerDivergence) as caught:
        verify_export(tmp_path / "export", setup.signer.vkeys)
    assert caught.value.check == "entry-count" and caught.value.index == 4


def test_deleted_stored_event_is_reported_as_missing(
    setup: LedgerSetup, tmp_path: Path
) -> None:
    app = setup.application()
    ids = record_tickets(app, 6)
    setup.integrator(app).run_once()
    table = app.recorder.events_table_name  # type: ignore[attr-defined]
    setup.close_all()

    _delete_stored_event(setup, table, ids[2])
    app = setup.application()
    export(setup.store(), tmp_path / "export", event_records=app.recorder)

    found = divergence(tmp_path / "export", setup.signer.vkeys[0])
    assert (found.check, found.index) == ("event-missing", 2)


def _delete_stored_event(setup: LedgerSetup, table: str, notification_id: int) -> None:
    """Delete a stored event as a database administrator could."""
    if setup.backend == "sqlite":
        with sqlite3.connect(setup.events_file) as connection:
            connection.execute(
                f"DELETE FROM {table} WHERE rowid = ?", (notification_id,)
            )
        return
    with psycopg.connect(setup.database_url, autocommit=True) as connection:
        connection.execute(
            f"DELETE FROM {table} WHERE notification_id = %s",  # type: ignore[arg-type]
            (notification_id,),
        )


def test_empty_tree_export_verifies(tmp_path: Path) -> None:
    create_signing_key(tmp_path / "ledger.key", ORIGIN)
    signer = LedgerSigner.from_key_files(tmp_path / "ledger.key")
    (tmp_path / "export").mkdir()
    (tmp_path / "export" / "checkpoint").write_bytes(signer.sign(0, EMPTY_ROOT).note)

    report = verify_export(tmp_path / "export", signer.vkeys)

    assert report.tree_size == 0 and report.tiles_checked == 0


def run_verifier(*arguments: str) -> tuple[int, dict[str, object]]:
    completed = subprocess.run(
        [sys.executable, "-m", "ledger.verify", *arguments],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    return completed.returncode, json.loads(completed.stdout)


def test_verifier_command_prints_a_json_report_and_exit_status(
    exported: Path, vkey: str
) -> None:
    status, report = run_verifier(str(exported), "--vkey", vkey)
    assert (status, report["ok"], report["tree_size"]) == (0, True, 300)

    rewrite_bundle(exported, lambda entries: entries.pop(12))
    status, report = run_verifier(str(exported), "--vkey", vkey)
    assert (status, report["ok"]) == (1, False)
    assert report["failure"] == {
        "check": "entry-count",
        "message": report["failure"]["message"],  # type: ignore[index]
        "index": 12,
        "path": FULL_BUNDLE,
        "expected": "256",
        "found": "255",
    }


def test_verifier_command_checks_a_receipt(setup: LedgerSetup, tmp_path: Path) -> None:
    from ledger import LedgerReader

    app = setup.application()
    ids = record_tickets(app, 3)
    setup.integrator(app).run_once()
    receipt = tmp_path / "event.tlog-proof"
    receipt.write_bytes(LedgerReader(setup.store()).receipt(ids[1]))
    state = tmp_path / "event.bin"
    state.write_bytes(app.recorder.select_notifications(start=ids[1], limit=1)[0].state)

    status, report = run_verifier(
        "--receipt",
        str(receipt),
        "--vkey",
        setup.signer.vkeys[0],
        "--event-state",
        str(state),
    )

    assert (status, report["index"], report["event_state_checked"]) == (0, 1, True)


def test_verifier_runs_without_database_drivers_or_frameworks(
    exported: Path, vkey: str
) -> None:
    blocked = ("eventsourcing", "psycopg", "psycopg_pool", "fastapi", "pydantic")
    code = (
        f"import sys; sys.modules.update(dict.fromkeys({blocked!r})); "
        "from ledger.verify import main; "
        f"sys.exit(main([{str(exported)!r}, '--vkey', {vkey!r}]))"
    )

    completed = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True
    )

    assert completed.returncode == 0, completed.stderr
    assert json.loads(completed.stdout)["ok"] is True


def verdict(directory: Path, vkey: str, jobs: int) -> dict[str, object]:
    """The report of an audit, or its first divergence, as a plain dictionary."""
    try:
        return asdict(verify_export(directory, [vkey], jobs=jobs))
    except LedgerDivergence as found:
        return found.as_dict()


def test_audit_in_worker_processes_reaches_the_same_verdicts(
    exported: Path, vkey: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(export_bundles, "MIN_BUNDLES_PER_WORKER", 1)
    chooser = random.Random(6962)
    files = [p for p in exported.rglob("*") if p.is_file() and p.name != "vkey"]
    changes = [(chooser.choice(files), chooser.random()) for _ in range(6)]

    assert verdict(exported, vkey, 2) == verdict(exported, vkey, 1)
    for path, where in changes:
        original = path.read_bytes()
        changed = bytearray(original)
        changed[int(where * len(changed))] ^= 0x20
        path.write_bytes(bytes(changed))

        in_workers, alone = verdict(exported, vkey, 2), verdict(exported, vkey, 1)

        path.write_bytes(original)
        assert in_workers == alone and "check" in alone, path


def test_entries_swapped_across_bundles_are_found_alone_and_in_workers(
    exported: Path, vkey: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(export_bundles, "MIN_BUNDLES_PER_WORKER", 1)
    first = exported / FULL_BUNDLE
    second = exported / "tile/entries/001.p/44"
    head = decode_entry_bundle(first.read_bytes())
    tail = decode_entry_bundle(second.read_bytes())
    head[-1], tail[0] = tail[0], head[-1]
    first.write_bytes(encode_entry_bundle(head))
    second.write_bytes(encode_entry_bundle(tail))

    alone, in_workers = verdict(exported, vkey, 1), verdict(exported, vkey, 2)

    assert (alone["check"], alone["index"]) == ("entry", 255)
    assert in_workers == alone
