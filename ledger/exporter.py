"""Export of the signed ledger as a C2SP tlog-tiles directory, for offline audit."""

import logging
from collections.abc import Callable, Sequence
from pathlib import Path

from eventsourcing.persistence import ApplicationRecorder

from ledger.entries import encode_event_bundle, event_bundle_path
from ledger.errors import LedgerError
from ledger.notes import LedgerCheckpoint
from ledger.reader import LedgerReader
from ledger.store import LedgerStore
from ledger.tiles import (
    TILE_WIDTH,
    TileAddress,
    entry_bundles_for_size,
    tiles_for_size,
)

logger = logging.getLogger(__name__)

Progress = Callable[[int, int], None]


def export(
    store: LedgerStore,
    directory: Path | str,
    *,
    event_records: ApplicationRecorder | None = None,
    vkeys: Sequence[str] = (),
    progress: Progress | None = None,
) -> LedgerCheckpoint:
    """Write the latest ledger checkpoint's tree in the tlog-tiles layout.

    1. Take the latest ledger checkpoint: the export covers exactly its tree.
    2. Write every hash tile (`tile/L/N[.p/W]`) and entry bundle
       (`tile/entries/N[.p/W]`) of that size.
    3. With `event_records`, write the stored events beside (`events/N`), so
       the verifier can check each entry's digest.
    4. Write `vkey` and, last, `checkpoint`: an interrupted export has none.
    """
    directory = Path(directory)
    if (directory / "checkpoint").exists():
        raise LedgerError(
            f"{directory} already holds an export; choose an empty folder"
        )
    reader = LedgerReader(store)
    signed = reader.latest_ledger_checkpoint()

    for address in tiles_for_size(signed.size):
        _write(directory, address.path, reader.tile(address.path))
    _write_entries(reader, directory, signed.size, event_records, progress)

    if vkeys:
        _write(directory, "vkey", ("\n".join(vkeys) + "\n").encode())
    _write(directory, "checkpoint", signed.note)
    logger.info("exported the ledger at tree size %d", signed.size)
    return signed


def _write_entries(
    reader: LedgerReader,
    directory: Path,
    size: int,
    event_records: ApplicationRecorder | None,
    progress: Progress | None,
) -> None:
    last_id: int | None = None
    for address in entry_bundles_for_size(size):
        bundle = reader.tile(address.path)
        _write(directory, address.path, bundle)
        if event_records is not None:
            last_id = _write_events(
                directory, address, reader.store, event_records, last_id
            )
        if progress is not None:
            progress(address.index * TILE_WIDTH + address.width, size)


def _write_events(
    directory: Path,
    address: TileAddress,
    store: LedgerStore,
    event_records: ApplicationRecorder,
    after_id: int | None,
) -> int | None:
    """Write every stored event after `after_id` up to the bundle's last entry."""
    last_id = store.notification_id_at(address.index * TILE_WIDTH + address.width - 1)
    if last_id is None:
        return after_id
    records = event_records.select_notifications(
        start=after_id,
        stop=last_id,
        limit=last_id - (after_id or 0) + 1,
        inclusive_of_start=False,
    )
    bundle = encode_event_bundle([(record.id, record.state) for record in records])
    _write(directory, event_bundle_path(address.index, address.width), bundle)
    return last_id


def _write(directory: Path, path: str, content: bytes) -> None:
    target = directory / path
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(content)
