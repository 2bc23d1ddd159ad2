"""The integrator: turns the notification log into ledger entries and checkpoints."""

import hashlib
import logging
import math
import os
import threading
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Self

from eventsourcing.persistence import (
    ApplicationRecorder,
    Notification,
    PersistenceError,
)

from ledger.audit import EntryOrder, audit_tree
from ledger.entries import make_entry, parse_entry
from ledger.errors import (
    ConsistencyProofError,
    InconsistentLedgerCheckpoint,
    LedgerIntegrityError,
    LedgerStoreError,
    VerificationError,
)
from ledger.merkle import (
    EMPTY_ROOT,
    consistency_proof,
    leaf_hash,
    tree_root,
    verify_consistency,
)
from ledger.notes import LedgerCheckpoint, open_ledger_checkpoint
from ledger.signing import LedgerSigner
from ledger.store import IntegratorLock, IntegratorPosition, LedgerStore, NewEntry
from ledger.tiles import TILE_WIDTH, TileBuilder, TileHashReader

logger = logging.getLogger(__name__)


class StoredLedger:
    """A ledger store seen as a tree source for the audit at start-up."""

    def __init__(self, store: LedgerStore) -> None:
        self.store = store

    def entry_bundle(self, index: int, width: int) -> list[bytes]:
        start = index * TILE_WIDTH
        return self.store.read_entries(start, start + width)

    def tile(self, level: int, index: int, width: int) -> bytes | None:
        return self.store.read_tile(level, index)


class LedgerIntegrator:
    """Follows an application's notification log into the audit ledger.

    Appends one entry per stored event in notification order, with its tile
    hashes and its position in one transaction, and signs a ledger checkpoint
    when the tree grew and a second passed or 1,000 entries were added. Only
    one integrator runs per ledger; `start` takes the lock and refuses to run
    on a ledger that disagrees with its last ledger checkpoint.
    """

    def __init__(
        self,
        recorder: ApplicationRecorder,
        store: LedgerStore,
        signer: LedgerSigner,
        *,
        batch_size: int = 500,
        ledger_checkpoint_copy: Path | str | None = None,
        signing_interval: float = 1.0,
        signing_entries: int = 1000,
        clock: Callable[[], float] = time.monotonic,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.recorder = recorder
        self.store = store
        self.signer = signer
        self.batch_size = batch_size
        self.ledger_checkpoint_copy = (
            None if ledger_checkpoint_copy is None else Path(ledger_checkpoint_copy)
        )
        self.signing_interval = signing_interval
        self.signing_entries = signing_entries
        self._clock = clock
        self._now = now
        self._lock: IntegratorLock | None = None
        self._position = IntegratorPosition(None, 0)
        self._builder = TileBuilder()
        self._last_signed: LedgerCheckpoint | None = None
        self._last_signed_at = -math.inf

    @property
    def tree_size(self) -> int:
        """The size of the tree as committed to the store."""
        return self._position.tree_size

    @property
    def last_ledger_checkpoint(self) -> LedgerCheckpoint | None:
        return self._last_signed

    def start(self) -> None:
        """Take the integrator lock and check the stored ledger; idempotent."""
        if self._lock is not None:
            return
        self._lock = self.store.lock_integrator()
        try:
            self._check_stored_ledger()
        except BaseException:
            self.close()
            raise
        logger.info(
            "ledger integrator started at tree size %d, after notification %s",
            self._position.tree_size,
            self._position.notification_id,
        )

    def close(self) -> None:
        """Release the integrator lock."""
        if self._lock is not None:
            self._lock.release()
            self._lock = None

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def run_once(self) -> int:
        """Integrate every stored event not yet in the ledger; return how many."""
        self.start()
        total = 0
        while count := self._integrate_batch():
            total += count
            self._sign_if_due()
        self._sign_if_due()
        return total

    def run(
        self,
        stop_event: threading.Event,
        poll_interval: float = 0.2,
        settle_interval: float = 0.05,
    ) -> None:
        """Integrate until `stop_event` is set, then sign what was appended.

        After integrating, it waits `settle_interval` before looking again, so
        that under a stream of events many share a transaction instead of one
        each; with nothing to integrate, `poll_interval`."""
        self.start()
        try:
            while not stop_event.is_set():
                integrated = self._run_once_or_recover()
                stop_event.wait(settle_interval if integrated else poll_interval)
            self.sign_ledger_checkpoint()
        finally:
            self.close()
        logger.info("ledger integrator stopped at tree size %d", self.tree_size)

    def _run_once_or_recover(self) -> int:
        """One step of `run`; a database outage restarts the integrator."""
        try:
            return self.run_once()
        except (LedgerStoreError, PersistenceError) as error:
            logger.warning(
                "ledger integrator lost its database (%s); restarting",
                type(error.__cause__ or error).__name__,
            )
            self.close()
            return 0

    def _integrate_batch(self) -> int:
        notifications = self.recorder.select_notifications(
            start=self._position.notification_id,
            limit=self.batch_size,
            inclusive_of_start=False,
        )
        if not notifications:
            return 0
        new_entries = self._entries_of(notifications)
        position = IntegratorPosition(notifications[-1].id, self._builder.size)
        try:
            self.store.append(new_entries, self._builder.take_changed(), position)
        except BaseException:
            self.close()  # the next start reloads the tree from the store
            raise
        self._position = position
        return len(notifications)

    def _entries_of(self, notifications: Sequence[Notification]) -> list[NewEntry]:
        integrated_at = self._now()
        new_entries = []
        for notification in notifications:
            entry = make_entry(notification, integrated_at)
            self._builder.append(leaf_hash(entry))
            new_entries.append(NewEntry(notification.id, entry))
        return new_entries

    def _sign_if_due(self) -> None:
        signed_size = 0 if self._last_signed is None else self._last_signed.size
        grown = self._builder.size - signed_size
        waited = self._clock() - self._last_signed_at
        if grown > 0 and (
            grown >= self.signing_entries or waited >= self.signing_interval
        ):
            self.sign_ledger_checkpoint()

    def sign_ledger_checkpoint(self) -> LedgerCheckpoint | None:
        """Sign the stored tree if it grew since the last ledger checkpoint.

        Refuses (InconsistentLedgerCheckpoint) unless the new tree head is a
        consistent extension of the previous one.
        """
        self.start()
        size = self._builder.size
        previous = self._last_signed
        if size == 0 or (previous is not None and previous.size == size):
            return None
        hashes = TileHashReader(self.store.read_tile, size)
        root_hash = tree_root(hashes, size)
        if previous is not None:
            _check_extends(
                previous,
                size,
                root_hash,
                consistency_proof(hashes, previous.size, size),
            )

        signed = self.signer.sign(size, root_hash)
        self.store.add_ledger_checkpoint(size, signed.note)
        self._keep_copy(signed)
        self._last_signed, self._last_signed_at = signed, self._clock()
        logger.info("signed ledger checkpoint at tree size %d", size)
        return signed

    def _keep_copy(self, signed: LedgerCheckpoint) -> None:
        """Write the checkpoint outside the database, replacing the file atomically."""
        if self.ledger_checkpoint_copy is None:
            return
        partial = self.ledger_checkpoint_copy.with_name(
            self.ledger_checkpoint_copy.name + ".partial"
        )
        partial.write_bytes(signed.note)
        os.replace(partial, self.ledger_checkpoint_copy)

    def _check_stored_ledger(self) -> None:
        """Refuse to run on a ledger that disagrees with what it signed.

        1. Verify the last stored ledger checkpoint with the signer's keys.
        2. Rebuild the tree from the stored entries; compare tiles and root.
        3. Compare with the copy kept outside the database (rollback).
        4. Check that the event store still holds the last integrated event.
        """
        position = self.store.integrator_position()
        last_signed = self._stored_checkpoint(position)
        self._audit_store(position, last_signed)
        self._check_copy(position)
        self._check_event_store(position)

        self._position = position
        self._builder = TileBuilder.resume(position.tree_size, self.store.read_tile)
        self._last_signed = last_signed

    def _stored_checkpoint(
        self, position: IntegratorPosition
    ) -> LedgerCheckpoint | None:
        note = self.store.latest_ledger_checkpoint()
        if note is None:
            return None
        signed = self._open(note, "the last stored ledger checkpoint")
        if signed.size > position.tree_size:
            raise LedgerIntegrityError(
                f"the ledger holds {position.tree_size} entries but its last "
                f"checkpoint signed {signed.size}: entries were removed or the "
                "ledger tables were restored from an older backup; restore them "
                "from the latest backup, then audit the ledger"
            )
        return signed

    def _open(self, note: bytes, what: str) -> LedgerCheckpoint:
        try:
            return open_ledger_checkpoint(note, self.signer.verifier_keys)
        except VerificationError as error:
            raise LedgerIntegrityError(
                f"{what} does not verify with the configured signing keys ({error}); "
                "while rotating keys, keep the previous key configured as well"
            ) from error

    def _audit_store(
        self, position: IntegratorPosition, signed: LedgerCheckpoint | None
    ) -> None:
        if signed is None:
            signed = LedgerCheckpoint(self.signer.origin, 0, EMPTY_ROOT, b"")
            if position.tree_size == 0:
                return
        try:
            audit_tree(
                StoredLedger(self.store),
                position.tree_size,
                signed,
                check_entry=EntryOrder(),
            )
        except VerificationError as error:
            raise LedgerIntegrityError(
                f"the stored ledger disagrees with its checkpoint at tree size "
                f"{signed.size}: {error}; do not run the integrator, audit the "
                "ledger and restore it from a verified backup"
            ) from error

    def _check_copy(self, position: IntegratorPosition) -> None:
        path = self.ledger_checkpoint_copy
        if path is None or not path.exists():
            return
        copy = self._open(path.read_bytes(), f"the ledger checkpoint copy {path}")
        if copy.size > position.tree_size:
            raise LedgerIntegrityError(
                f"the ledger holds {position.tree_size} entries but {path} shows a "
                f"checkpoint signed at {copy.size}: the database was restored from an "
                "older backup; restore the latest one instead"
            )
        root_hash = tree_root(
            TileHashReader(self.store.read_tile, position.tree_size), copy.size
        )
        if root_hash != copy.root_hash:
            raise LedgerIntegrityError(
                f"the stored ledger does not extend the checkpoint at size {copy.size} "
                f"kept in {path}: the ledger was rewritten; audit it before running"
            )

    def _check_event_store(self, position: IntegratorPosition) -> None:
        last_id = position.notification_id
        if last_id is None:
            return
        found = self.recorder.select_notifications(start=last_id, limit=1)
        if not found or found[0].id != last_id:
            raise LedgerIntegrityError(
                f"the event store no longer holds notification {last_id}, the last "
                "one in the ledger: it was restored from an older backup or events "
                "were deleted; restore the event store that matches the ledger"
            )
        entry = parse_entry(
            self.store.read_entries(position.tree_size - 1, position.tree_size)[0]
        )
        if hashlib.sha256(found[0].state).hexdigest() != entry["state_sha256"]:
            raise LedgerIntegrityError(
                f"stored event {last_id} differs from the event the ledger recorded: "
                "the event store was altered or replaced; audit it before running"
            )


def _check_extends(
    previous: LedgerCheckpoint, size: int, root_hash: bytes, proof: list[bytes]
) -> None:
    try:
        verify_consistency(previous.size, size, proof, previous.root_hash, root_hash)
    except ConsistencyProofError as error:
        raise InconsistentLedgerCheckpoint(
            f"refusing to sign tree size {size}: it does not extend the ledger "
            f"checkpoint at size {previous.size} ({error}); the stored tiles were "
            "altered; stop the integrator and audit the ledger"
        ) from error
