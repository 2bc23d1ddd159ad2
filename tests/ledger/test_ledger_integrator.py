"""The integrator on a real eventsourcing application, on SQLite and PostgreSQL."""

import hashlib
import json
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from ledger import (
    InconsistentLedgerCheckpoint,
    IntegratorAlreadyRunning,
    LedgerIntegrator,
    LedgerIntegrityError,
    LedgerSigner,
    LedgerStoreError,
    SQLiteLedgerStore,
    create_signing_key,
)
from ledger.merkle import leaf_hash, perfect_root
from ledger.tiles import TileBuilder
from tests.ledger.ledger_test_support import (
    DatabaseBackup,
    LedgerSetup,
    Ticket,
    record_tickets,
    sqlite_copy,
    tamper,
)


class Clock:
    """A clock the test moves by hand, so no test depends on real time."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class SimulatedCrash(Exception):
    pass


class CrashingRecorder:
    """The real recorder, except that one call fails as if the process died."""

    def __init__(self, recorder: Any, crash_on_call: int) -> None:
        self.recorder = recorder
        self.crash_on_call = crash_on_call
        self.calls = 0

    def select_notifications(self, *args: Any, **kwargs: Any) -> Any:
        self.calls += 1
        if self.calls == self.crash_on_call:
            raise SimulatedCrash
        return self.recorder.select_notifications(*args, **kwargs)


def ledger_notification_ids(setup: LedgerSetup) -> list[int]:
    store = setup.store()
    size = store.integrator_position().tree_size
    return [
        json.loads(entry)["notification_id"] for entry in store.read_entries(0, size)
    ]


def expected_root(setup: LedgerSetup) -> bytes:
    store = setup.store()
    builder = TileBuilder()
    for entry in store.read_entries(0, store.integrator_position().tree_size):
        builder.append(leaf_hash(entry))
    return builder.root()


def test_every_event_becomes_one_entry_in_notification_order(
    setup: LedgerSetup,
) -> None:
    app = setup.application()
    ids = record_tickets(app, 5, notes=3)
    integrator = setup.integrator(app)

    integrated = integrator.run_once()

    assert integrated == 20
    assert ledger_notification_ids(setup) == ids
    signed = integrator.last_ledger_checkpoint
    assert signed is not None and signed.size == 20
    assert signed.root_hash == expected_root(setup)


def test_entries_record_the_event_time_actor_and_stored_bytes(
    setup: LedgerSetup,
) -> None:
    app = setup.application()
    ticket = Ticket("printer", actor="sales:9")
    app.save(ticket)
    setup.integrator(app).run_once()

    entry = json.loads(setup.store().read_entries(0, 1)[0])

    stored = app.recorder.select_notifications(start=None, limit=1)[0]
    assert entry["actor"] == "sales:9"
    assert entry["topic"] == stored.topic and entry["originator_id"] == str(ticket.id)
    assert entry["recorded_at"].startswith(ticket.created_on.strftime("%Y-%m-%dT%H"))
    assert entry["state_sha256"] == hashlib.sha256(stored.state).hexdigest()


def test_checkpoint_is_signed_after_a_second_or_a_thousand_entries(
    setup: LedgerSetup,
) -> None:
    app, clock = setup.application(), Clock()
    integrator = setup.integrator(app, clock=clock)
    record_tickets(app, 3)
    integrator.run_once()
    first = integrator.last_ledger_checkpoint

    record_tickets(app, 2)
    integrator.run_once()
    assert integrator.last_ledger_checkpoint == first

    clock.now += 1.0
    integrator.run_once()
    assert integrator.last_ledger_checkpoint is not None
    assert integrator.last_ledger_checkpoint.size == 5

    record_tickets(app, 1, notes=999)
    integrator.run_once()
    assert integrator.last_ledger_checkpoint.size == 1005


def test_nothing_is_signed_while_the_tree_has_not_grown(setup: LedgerSetup) -> None:
    app, clock = setup.application(), Clock()
    integrator = setup.integrator(app, clock=clock)

    clock.now += 5
    integrator.run_once()
    assert integrator.last_ledger_checkpoint is None
    assert integrator.sign_ledger_checkpoint() is None


def test_second_integrator_is_refused_with_a_clear_error(setup: LedgerSetup) -> None:
    app = setup.application()
    setup.integrator(app).start()

    with pytest.raises(IntegratorAlreadyRunning, match="run only one"):
        setup.integrator(app).start()


def test_integrator_resumes_after_a_crash_without_duplicates_or_gaps(
    setup: LedgerSetup,
) -> None:
    app = setup.application()
    ids = record_tickets(app, 10, notes=4)
    crashing = setup.integrator(app, batch_size=7)
    crashing.recorder = CrashingRecorder(app.recorder, crash_on_call=4)

    with pytest.raises(SimulatedCrash):
        crashing.run_once()
    crashing.close()
    assert ledger_notification_ids(setup) == ids[:21]

    more = record_tickets(app, 2)
    assert setup.integrator(app, batch_size=7).run_once() == len(ids) - 21 + 2
    assert ledger_notification_ids(setup) == ids + more


def test_restored_older_database_makes_the_integrator_refuse_to_start(
    setup: LedgerSetup, back_up: Callable[[], DatabaseBackup]
) -> None:
    record_tickets(setup.application(), 3)
    setup.integrator(setup.application()).run_once()
    backup = back_up()
    app = setup.application()
    record_tickets(app, 4)
    setup.integrator(app).run_once()

    backup.restore()

    integrator = setup.integrator(setup.application())
    with pytest.raises(LedgerIntegrityError, match="restored from an older backup"):
        integrator.start()


@pytest.mark.parametrize("backend", ["sqlite"])
def test_event_store_file_restored_behind_the_ledger_is_refused(
    setup: LedgerSetup, back_up: Callable[[], DatabaseBackup]
) -> None:
    backup = back_up()
    app = setup.application()
    record_tickets(app, 4)
    setup.integrator(app).run_once()
    setup.close_all()

    sqlite_copy(Path(backup.copy) / "events.sqlite3", setup.events_file)

    with pytest.raises(LedgerIntegrityError, match="no longer holds notification"):
        setup.integrator(setup.application()).start()


def test_tampered_stored_entry_makes_the_integrator_refuse_to_start(
    setup: LedgerSetup,
) -> None:
    app = setup.application()
    record_tickets(app, 6)
    setup.integrator(app).run_once()
    setup.close_all()

    tamper(setup, "UPDATE {ledger}entries SET entry = ? WHERE leaf_index = 2", b"{}")

    with pytest.raises(LedgerIntegrityError, match="entry 2"):
        setup.integrator(setup.application()).start()


def test_integrator_refuses_to_sign_what_does_not_extend_the_last_checkpoint(
    setup: LedgerSetup,
) -> None:
    app, clock = setup.application(), Clock()
    record_tickets(app, 1, notes=299)
    integrator = setup.integrator(app, clock=clock)
    integrator.run_once()
    forged = perfect_root([leaf_hash(b"forged")] * 256)
    tamper(setup, "UPDATE {ledger}tiles SET hashes = ? WHERE level = 1", forged)

    record_tickets(app, 1)
    clock.now += 1.0
    with pytest.raises(InconsistentLedgerCheckpoint, match="does not extend"):
        integrator.run_once()


def test_checkpoint_not_signed_by_the_configured_key_is_refused(
    setup: LedgerSetup, tmp_path: Path
) -> None:
    app = setup.application()
    record_tickets(app, 2)
    setup.integrator(app).run_once()
    setup.close_all()
    create_signing_key(tmp_path / "other.key", setup.signer.origin)
    setup.signer = LedgerSigner.from_key_files(tmp_path / "other.key")

    with pytest.raises(LedgerIntegrityError, match="keep the previous key"):
        setup.integrator(setup.application()).start()


def test_key_rotation_signs_with_both_keys_then_the_new_key_alone(
    setup: LedgerSetup, tmp_path: Path
) -> None:
    app = setup.application()
    record_tickets(app, 2)
    setup.integrator(app).run_once()
    setup.close_all()
    create_signing_key(tmp_path / "new.key", setup.signer.origin)
    new_key, old_key = tmp_path / "new.key", setup.key_file

    setup.signer = LedgerSigner.from_key_files(new_key, old_key)
    app = setup.application()
    record_tickets(app, 1)
    integrator = setup.integrator(app)
    integrator.run_once()
    overlap = integrator.last_ledger_checkpoint
    setup.close_all()
    setup.signer = LedgerSigner.from_key_files(new_key)

    assert overlap is not None and overlap.note.count("\u2014 ".encode()) == 2
    setup.integrator(setup.application()).start()


def test_concurrent_writers_are_integrated_once_each_in_notification_order(
    setup: LedgerSetup,
) -> None:
    integrator = setup.integrator(setup.application(), batch_size=13)
    stop = threading.Event()
    runner = threading.Thread(target=integrator.run, args=(stop, 0.01))
    writers = [
        threading.Thread(target=record_tickets, args=(setup.application(), 15, 2))
        for _ in range(3)
    ]

    runner.start()
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join()
    _wait_for(lambda: integrator.tree_size == 135)
    stop.set()
    runner.join(timeout=30)

    stored = setup.application().recorder.select_notifications(start=None, limit=1000)
    assert ledger_notification_ids(setup) == [n.id for n in stored]


@pytest.mark.parametrize("backend", ["sqlite"])
def test_run_loop_recovers_from_a_failed_append_without_losing_entries(
    setup: LedgerSetup,
) -> None:
    app = setup.application()
    ids = record_tickets(app, 6)
    store = FlakyStore(setup.ledger_file)
    integrator = LedgerIntegrator(app.recorder, store, setup.signer, batch_size=4)
    stop = threading.Event()
    runner = threading.Thread(target=integrator.run, args=(stop, 0.01))

    runner.start()
    _wait_for(lambda: integrator.tree_size == 6 and store.failures == 1)
    stop.set()
    runner.join(timeout=30)
    store.close()

    assert ledger_notification_ids(setup) == ids


class FlakyStore(SQLiteLedgerStore):
    """A real SQLite store whose second append fails, as in a database outage."""

    failures = 0
    appends = 0

    def append(self, *args: Any) -> None:
        self.appends += 1
        if self.appends == 2:
            self.failures += 1
            raise LedgerStoreError("database is locked")
        super().append(*args)


def test_run_loop_integrates_until_stopped_and_signs_what_it_added(
    setup: LedgerSetup,
) -> None:
    app = setup.application()
    ids = record_tickets(app, 4)
    integrator = setup.integrator(app)
    stop = threading.Event()
    worker = threading.Thread(target=integrator.run, args=(stop, 0.01))

    worker.start()
    more = record_tickets(app, 3)
    _wait_for(lambda: integrator.tree_size == 7)
    stop.set()
    worker.join(timeout=30)

    assert not worker.is_alive()
    assert ledger_notification_ids(setup) == ids + more
    assert integrator.last_ledger_checkpoint is not None
    assert integrator.last_ledger_checkpoint.size == 7


def _wait_for(condition: Callable[[], bool]) -> None:
    done = threading.Event()
    for _ in range(3000):
        if condition():
            return
        done.wait(0.01)
    raise AssertionError("the integrator did not catch up")
