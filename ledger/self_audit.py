"""The periodic self-audit: rebuild the whole signed ledger and compare it all.

It runs beside a live integrator, so it audits the tree up to the latest
signed ledger checkpoint and reads each tile only as wide as that tree needs:
entries appended meanwhile are left for the next run.
"""

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from ledger.audit import EntryOrder, audit_tree
from ledger.errors import VerificationError
from ledger.merkle import HASH_SIZE
from ledger.notes import NoteVerifierKey, open_ledger_checkpoint
from ledger.store import LedgerStore
from ledger.tiles import TILE_WIDTH

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class LedgerAuditResult:
    """What one full audit found; `problem` is empty when the ledger verified."""

    ok: bool
    tree_size: int
    tiles_checked: int
    finished_at: datetime
    seconds: float
    problem: str = ""


class _SignedPart:
    """The store seen as a tree source cut at the audited size."""

    def __init__(self, store: LedgerStore) -> None:
        self.store = store

    def entry_bundle(self, index: int, width: int) -> list[bytes]:
        start = index * TILE_WIDTH
        return self.store.read_entries(start, start + width)

    def tile(self, level: int, index: int, width: int) -> bytes | None:
        stored = self.store.read_tile(level, index)
        return None if stored is None else stored[: width * HASH_SIZE]


def audit_ledger(
    store: LedgerStore, verifier_keys: Sequence[NoteVerifierKey]
) -> LedgerAuditResult:
    """Audits every entry and tile under the latest ledger checkpoint.

    1. Read the latest checkpoint and verify its signature.
    2. Rebuild the tree from the stored entries, comparing every tile.
    3. Compare the rebuilt root with the signed root.
    Never raises for what it finds: the result says what is wrong.
    """
    started = time.monotonic()
    size, tiles, problem = 0, 0, ""
    try:
        note = store.latest_ledger_checkpoint()  # 1.
        if note is not None:
            signed = open_ledger_checkpoint(note, list(verifier_keys))
            size = signed.size
            audit = audit_tree(  # 2. and 3.
                _SignedPart(store), size, signed, check_entry=EntryOrder()
            )
            tiles = audit.tiles_checked
    except VerificationError as error:
        problem = str(error)
    result = LedgerAuditResult(
        ok=not problem,
        tree_size=size,
        tiles_checked=tiles,
        finished_at=datetime.now(UTC),
        seconds=time.monotonic() - started,
        problem=problem,
    )
    if result.ok:
        logger.info("ledger audit passed at tree size %d", size)
    else:
        logger.error("ledger audit FAILED at tree size %d: %s", size, problem)
    return result
