"""What auditors may read: ledger checkpoints, entries, tiles, proofs and receipts."""

from dataclasses import dataclass

from ledger.errors import LedgerLookupError
from ledger.merkle import HASH_SIZE, consistency_proof, inclusion_proof
from ledger.notes import LedgerCheckpoint, read_ledger_checkpoint
from ledger.receipts import Receipt, format_receipt
from ledger.store import LedgerStore
from ledger.tiles import (
    TILE_HEIGHT,
    TILE_WIDTH,
    TileAddress,
    TileHashReader,
    encode_entry_bundle,
    parse_tile_path,
)


@dataclass(frozen=True)
class InclusionProof:
    """An entry, its leaf index and its inclusion path at a tree size."""

    leaf_index: int
    tree_size: int
    entry: bytes
    hashes: list[bytes]
    ledger_checkpoint: LedgerCheckpoint | None


class LedgerReader:
    """Serves the signed part of the ledger; nothing beyond the latest checkpoint.

    Every method raises LedgerLookupError for what is not in the ledger, so
    an API can answer 404 by catching that one class.
    """

    def __init__(self, store: LedgerStore) -> None:
        self.store = store

    def latest_ledger_checkpoint(self) -> LedgerCheckpoint:
        note = self.store.latest_ledger_checkpoint()
        if note is None:
            raise LedgerLookupError(
                "no ledger checkpoint has been signed yet; start the integrator"
            )
        return read_ledger_checkpoint(note)

    def ledger_checkpoint(self, tree_size: int) -> LedgerCheckpoint:
        note = self.store.ledger_checkpoint_at(tree_size)
        if note is None:
            raise LedgerLookupError(
                f"no ledger checkpoint was signed at size {tree_size}"
            )
        return read_ledger_checkpoint(note)

    def _signed_size(self, tree_size: int | None = None) -> int:
        latest = self.latest_ledger_checkpoint().size
        if tree_size is None:
            return latest
        if not 0 <= tree_size <= latest:
            raise LedgerLookupError(
                f"tree size {tree_size} is outside the signed ledger (0 to {latest})"
            )
        return tree_size

    def entries(self, start: int, stop: int) -> list[bytes]:
        """Entries at leaf indexes [start, stop), cut at the signed tree size."""
        stop = min(stop, self._signed_size())
        if start < 0 or start > stop:
            raise LedgerLookupError(
                f"entry range {start} to {stop} is not in the ledger"
            )
        return self.store.read_entries(start, stop)

    def tile(self, path: str) -> bytes:
        """A hash tile or entry bundle by its tlog-tiles path."""
        address = parse_tile_path(path)
        size = self._signed_size()
        if address.level is None:
            start = address.index * TILE_WIDTH
            if start + address.width > size:
                raise LedgerLookupError(
                    f"{path} lies beyond the signed tree size {size}"
                )
            return encode_entry_bundle(
                self.store.read_entries(start, start + address.width)
            )
        return self._hash_tile(address, size)

    def _hash_tile(self, address: TileAddress, size: int) -> bytes:
        assert address.level is not None
        count = size >> (TILE_HEIGHT * address.level)
        if address.index * TILE_WIDTH + address.width > count:
            raise LedgerLookupError(f"{address.path} lies beyond tree size {size}")
        stored = self.store.read_tile(address.level, address.index) or b""
        wanted = address.width * HASH_SIZE
        if len(stored) < wanted:
            raise LedgerLookupError(f"{address.path} is not stored")
        return stored[:wanted]

    def _hashes(self, size: int) -> TileHashReader:
        return TileHashReader(self.store.read_tile, size)

    def inclusion_proof(
        self, notification_id: int, tree_size: int | None = None
    ) -> InclusionProof:
        """The proof that a notification's entry is in the tree at `tree_size`."""
        size = self._signed_size(tree_size)
        leaf_index = self.store.leaf_index_of(notification_id)
        if leaf_index is None or leaf_index >= size:
            raise LedgerLookupError(
                f"notification {notification_id} is not in the ledger at size {size}"
            )
        entry = self.store.read_entries(leaf_index, leaf_index + 1)[0]
        hashes = inclusion_proof(self._hashes(size), leaf_index, size)
        note = self.store.ledger_checkpoint_at(size)
        signed = None if note is None else read_ledger_checkpoint(note)
        return InclusionProof(leaf_index, size, entry, hashes, signed)

    def consistency_proof(self, size1: int, size2: int) -> list[bytes]:
        """The RFC 9162 proof that the tree at `size2` extends the one at `size1`."""
        size2 = self._signed_size(size2)
        if not 0 <= size1 <= size2:
            raise LedgerLookupError(f"tree size {size1} is not within 0 to {size2}")
        return consistency_proof(self._hashes(size2), size1, size2)

    def receipt(self, notification_id: int, tree_size: int | None = None) -> bytes:
        """A C2SP tlog-proof for a notification's entry, carrying the entry."""
        proof = self.inclusion_proof(notification_id, tree_size)
        if proof.ledger_checkpoint is None:
            raise LedgerLookupError(
                f"no ledger checkpoint was signed at size {proof.tree_size}"
            )
        receipt = Receipt(
            proof.leaf_index, proof.hashes, proof.ledger_checkpoint.note, proof.entry
        )
        return format_receipt(receipt)
