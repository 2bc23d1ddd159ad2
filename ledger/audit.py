"""Rebuilding a tree from its entries and comparing it with tiles and a root.

Used by the offline verifier on an export and by the integrator on its own
store at start-up. Standard library only.

Speed: hashing and checking entry bundles is the bulk of an audit, and an
export's bundles can be prepared ahead, in worker processes too
(ledger.export_bundles), down to the root of each full leaf tile; the tree
above the leaf tiles is rebuilt here, in order.
"""

import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from ledger.entries import ENTRY_FORMAT, parse_entry
from ledger.errors import LedgerDivergence
from ledger.merkle import EMPTY_ROOT, leaf_hash
from ledger.notes import LedgerCheckpoint
from ledger.tiles import (
    TILE_HEIGHT,
    TILE_WIDTH,
    Tile,
    TileAddress,
    TileBuilder,
    entry_bundle_path,
    entry_bundles_for_size,
    split_hashes,
    tile_path,
)

EntryCheck = Callable[[int, bytes], object]


class PreparedLeaves(Protocol):
    """A bundle hashed and checked ahead of the audit, perhaps in another process.

    Either its leaf hashes, which the audit compares with the leaf tile, or
    the root of its full leaf tile, which the leaves were found to equal;
    both None when the bundle could not be read. Where `passed` is false the
    audit checks the entries one by one, to name the first divergence
    precisely.
    """

    @property
    def leaves(self) -> list[bytes] | None: ...

    @property
    def tile_root(self) -> bytes | None: ...

    @property
    def passed(self) -> bool: ...


class TreeSource(Protocol):
    """Entries and tiles of a tree, from an export directory or a ledger store."""

    def entry_bundle(self, index: int, width: int) -> list[bytes]:
        """The entries of bundle `index`; LedgerDivergence if unreadable."""
        ...

    def tile(self, level: int, index: int, width: int) -> bytes | None:
        """The hashes of a tile at this width, or None where it is missing."""
        ...


@dataclass(frozen=True)
class _Mismatch:
    """A tile hash that differs from the tree rebuilt from the entries."""

    level: int
    index: int
    path: str
    rebuilt: str
    stored: str


class _TreeAudit:
    """Rebuilds a tree from its entries while comparing it with its tiles."""

    def __init__(
        self,
        source: TreeSource,
        size: int,
        check_entry: EntryCheck | None,
        prepared: Iterator[PreparedLeaves] | None = None,
    ) -> None:
        self.source = source
        self.size = size
        self.check_entry = check_entry
        self.prepared = prepared
        self.builder = TileBuilder()
        self.roots: dict[int, bytes] = {0: EMPTY_ROOT}
        self.root_sizes: set[int] = set()
        self.mismatch: _Mismatch | None = None
        self.entry_problem: LedgerDivergence | None = None
        self.tiles_checked = 0

    def run(self) -> None:
        for bundle in entry_bundles_for_size(self.size):
            self._audit_bundle(bundle)
        self._compare_tiles([t for t in self.builder.edge_tiles() if t.level > 0])

    def _audit_bundle(self, bundle: TileAddress) -> None:
        start = bundle.index * TILE_WIDTH
        prepared = None if self.prepared is None else next(self.prepared)
        leaves, tile_root = self._checked_hashes(bundle, prepared)
        if tile_root is not None and not self._root_inside(start):
            self._append_tile_root(tile_root)
        else:
            leaves = leaves or self._hash_leaves(bundle)
            self._compare_leaves(bundle, leaves)
            self._append(start, leaves)
        changed = self.builder.take_changed()
        self._compare_tiles([t for t in changed if t.level and t.width == TILE_WIDTH])

    def _checked_hashes(
        self, bundle: TileAddress, prepared: "PreparedLeaves | None"
    ) -> tuple[list[bytes] | None, bytes | None]:
        """The bundle's leaves or tile root, once its entries are checked.

        Entries the bundle's preparer did not hash, or whose checks it could
        not vouch for, are read and checked here.
        """
        start = bundle.index * TILE_WIDTH
        leaves = None if prepared is None else prepared.leaves
        tile_root = None if prepared is None else prepared.tile_root
        if leaves is None and tile_root is None:
            entries = self.source.entry_bundle(bundle.index, bundle.width)
            self._check_entries(start, entries[: bundle.width])
            return [leaf_hash(entry) for entry in entries], None
        if not self._accepts(start, prepared):
            entries = self.source.entry_bundle(bundle.index, bundle.width)
            self._check_entries(start, entries[: bundle.width])
        return leaves, tile_root

    def _hash_leaves(self, bundle: TileAddress) -> list[bytes]:
        """Leaves hashed again, for a bundle inside which a root is asked for."""
        entries = self.source.entry_bundle(bundle.index, bundle.width)
        return [leaf_hash(entry) for entry in entries]

    def _root_inside(self, start: int) -> bool:
        """Whether a root is asked for within the bundle, not at its end."""
        return any(start < size < start + TILE_WIDTH for size in self.root_sizes)

    def _append_tile_root(self, tile_root: bytes) -> None:
        """A full bundle whose leaves matched its leaf tile where they were hashed."""
        self.tiles_checked += 1
        self.builder.extend_by_tile_root(tile_root)
        if self.builder.size in self.root_sizes:
            self.roots[self.builder.size] = self.builder.root()

    def _append(self, start: int, leaves: list[bytes]) -> None:
        """Add leaves to the rebuilt tree, keeping the roots asked for on the way."""
        end = start + len(leaves)
        if not any(start < size <= end for size in self.root_sizes):
            self.builder.extend(leaves)
            return
        for leaf in leaves:
            self.builder.append(leaf)
            if self.builder.size in self.root_sizes:
                self.roots[self.builder.size] = self.builder.root()

    def _accepts(self, start: int, prepared: "PreparedLeaves | None") -> bool:
        """Whether a bundle checked elsewhere needs no entry-by-entry check."""
        check = self.check_entry
        if check is None or self.entry_problem is not None:
            return True
        accept = getattr(check, "accept_prepared", None)
        return bool(prepared and prepared.passed and accept and accept(start, prepared))

    def _check_entries(self, start: int, entries: list[bytes]) -> None:
        """Entry checks wait until the tree is known good, which decides blame."""
        check = self.check_entry
        if check is None or self.entry_problem is not None:
            return
        try:
            for offset, entry in enumerate(entries):
                check(start + offset, entry)
        except LedgerDivergence as problem:
            self.entry_problem = problem

    def _compare_leaves(self, bundle: TileAddress, leaves: list[bytes]) -> None:
        self.tiles_checked += 1
        stored_bytes = self.source.tile(0, bundle.index, bundle.width) or b""
        if len(leaves) == bundle.width and b"".join(leaves) == stored_bytes:
            return
        path = tile_path(0, bundle.index, bundle.width)
        stored = split_hashes(stored_bytes)
        offset = _first_difference(leaves, stored)
        start = bundle.index * TILE_WIDTH
        if len(leaves) != bundle.width:
            raise LedgerDivergence(
                "entry-count",
                f"{entry_bundle_path(bundle.index, bundle.width)} holds "
                f"{len(leaves)} entries where the tree needs {bundle.width}: entries "
                "were removed or inserted",
                index=start + (bundle.width if offset is None else offset),
                path=entry_bundle_path(bundle.index, bundle.width),
                expected=str(bundle.width),
                found=str(len(leaves)),
            )
        if offset is not None:
            self._note(0, start + offset, path, leaves, stored, offset)

    def _compare_tiles(self, tiles: list[Tile]) -> None:
        for tile in tiles:
            self.tiles_checked += 1
            stored_bytes = self.source.tile(tile.level, tile.index, tile.width)
            if stored_bytes == tile.hashes:
                continue
            rebuilt = split_hashes(tile.hashes)
            stored = split_hashes(stored_bytes or b"")
            offset = _first_difference(rebuilt, stored)
            if offset is not None:
                first_leaf = (tile.index * TILE_WIDTH + offset) << (
                    TILE_HEIGHT * tile.level
                )
                path = tile_path(tile.level, tile.index, tile.width)
                self._note(tile.level, first_leaf, path, rebuilt, stored, offset)

    def _note(
        self,
        level: int,
        index: int,
        path: str,
        rebuilt: list[bytes],
        stored: list[bytes],
        offset: int,
    ) -> None:
        if self.mismatch is None:
            self.mismatch = _Mismatch(
                level, index, path, _hex_at(rebuilt, offset), _hex_at(stored, offset)
            )

    def conclude(self, signed_size: int, signed_root: bytes) -> None:
        """Raise the first divergence, blaming entries or tiles by the signed root."""
        rebuilt_root = self.roots[signed_size]
        mismatch = self.mismatch
        if mismatch is not None and mismatch.index >= signed_size:
            raise _unsigned_divergence(mismatch)
        if rebuilt_root == signed_root:
            if mismatch is not None:
                raise _tile_divergence(mismatch)
            if self.entry_problem is not None:
                raise self.entry_problem
            return
        if mismatch is not None:
            raise _entry_divergence(mismatch)
        if self.entry_problem is not None:
            raise self.entry_problem
        raise LedgerDivergence(
            "root-hash",
            "entries and tiles agree with each other but not with the signed ledger "
            f"checkpoint at size {signed_size}: both were rewritten after signing",
            expected=signed_root.hex(),
            found=rebuilt_root.hex(),
        )


def _first_difference(rebuilt: list[bytes], stored: list[bytes]) -> int | None:
    for offset in range(max(len(rebuilt), len(stored))):
        if offset >= len(rebuilt) or offset >= len(stored):
            return offset
        if rebuilt[offset] != stored[offset]:
            return offset
    return None


def _hex_at(hashes: list[bytes], offset: int) -> str:
    return hashes[offset].hex() if offset < len(hashes) else "missing"


def _tile_divergence(mismatch: _Mismatch) -> LedgerDivergence:
    return LedgerDivergence(
        "tile",
        f"{mismatch.path} differs from the tree rebuilt from the entries, which "
        "matches the signed ledger checkpoint: the tile was altered",
        index=mismatch.index,
        path=mismatch.path,
        expected=mismatch.rebuilt,
        found=mismatch.stored,
    )


def _entry_divergence(mismatch: _Mismatch) -> LedgerDivergence:
    if mismatch.level == 0:
        message = (
            f"entry {mismatch.index} does not hash to its leaf in {mismatch.path}: "
            "the entry was altered, removed, reordered or inserted"
        )
    else:
        message = (
            f"the entries from index {mismatch.index} do not hash to {mismatch.path}: "
            "entries and their leaf tiles were altered together"
        )
    return LedgerDivergence(
        "entry",
        message,
        index=mismatch.index,
        path=mismatch.path,
        expected=mismatch.stored,
        found=mismatch.rebuilt,
    )


def _unsigned_divergence(mismatch: _Mismatch) -> LedgerDivergence:
    return LedgerDivergence(
        "unsigned-tail",
        f"after the last ledger checkpoint, entry {mismatch.index} and "
        f"{mismatch.path} disagree",
        index=mismatch.index,
        path=mismatch.path,
        expected=mismatch.stored,
        found=mismatch.rebuilt,
    )


@dataclass(frozen=True)
class TreeAudit:
    """The rebuilt roots asked for and how many tiles were compared."""

    roots: dict[int, bytes]
    tiles_checked: int


def audit_tree(
    source: TreeSource,
    size: int,
    signed: LedgerCheckpoint,
    *,
    check_entry: EntryCheck | None = None,
    roots_at: Sequence[int] = (),
    prepared: Iterator[PreparedLeaves] | None = None,
) -> TreeAudit:
    """Rebuild a tree of `size` leaves from its entries and compare it all.

    1. Hash every entry and compare it with its level-0 tile, bundle by bundle.
    2. Rebuild the upper tiles and compare each one with the stored tile.
    3. Compare the rebuilt root at the signed size with the signed root; it
       tells whether a mismatch lies in the entries or in the tiles.

    Bundles `prepared` ahead (hashed, perhaps checked in other processes)
    are taken in order instead of hashing their entries here. Entry checks
    (`check_entry`) count only once the tree is good. Returns
    the rebuilt roots at `roots_at`; raises LedgerDivergence at the first
    divergence.
    """
    audit = _TreeAudit(source, size, check_entry, prepared)
    audit.root_sizes = {signed.size, *roots_at}
    audit.run()
    audit.conclude(signed.size, signed.root_hash)
    roots = {wanted: audit.roots[wanted] for wanted in audit.root_sizes}
    return TreeAudit(roots, audit.tiles_checked)


# Printable ASCII without quote or backslash: the JSON text is the value itself.
_TEXT = rb'"([ !#-\[\]-~]*)"'
_NUMBER = rb"(-?(?:0|[1-9][0-9]{0,17}))"
CANONICAL_ENTRY = re.compile(
    b"".join(
        [
            rb'\{(?:"actor":' + _TEXT + rb",)?",
            rb'"format":"' + re.escape(ENTRY_FORMAT.encode()) + rb'",',
            rb'"notification_id":' + _NUMBER + rb",",
            rb'"originator_id":' + _TEXT + rb",",
            rb'"originator_version":' + _NUMBER + rb",",
            rb'"recorded_at":' + _TEXT + rb",",
            rb'"state_sha256":' + _TEXT + rb",",
            rb'"topic":' + _TEXT + rb"\}",
        ]
    )
)


def parse_canonical_entry(entry: bytes) -> dict[str, Any]:
    """What parse_entry returns, sooner for the canonical entries the ledger writes.

    Parsing every entry as JSON took half of an audit. The pattern matches only
    canonical entries with the known fields, whole numbers and strings free of
    escapes, whose values it therefore reads exactly as JSON would; any other
    entry goes to parse_entry, which decides and says what is wrong.
    """
    match = CANONICAL_ENTRY.fullmatch(entry)
    if match is None:
        return parse_entry(entry)
    actor, notification_id, originator_id, version, recorded_at, digest, topic = (
        match.groups()
    )
    fields: dict[str, Any] = {} if actor is None else {"actor": actor.decode()}
    fields["format"] = ENTRY_FORMAT
    fields["notification_id"] = int(notification_id)
    fields["originator_id"] = originator_id.decode()
    fields["originator_version"] = int(version)
    fields["recorded_at"] = recorded_at.decode()
    fields["state_sha256"] = digest.decode()
    fields["topic"] = topic.decode()
    return fields


class EntryOrder:
    """Checks that entries parse and follow notification order."""

    def __init__(self) -> None:
        self.last_notification_id = -1

    def __call__(self, index: int, entry: bytes) -> dict[str, Any]:
        try:
            fields = parse_canonical_entry(entry)
        except ValueError as error:
            raise LedgerDivergence(
                "entry-format", f"entry {index} is malformed: {error}", index=index
            ) from None
        notification_id = fields["notification_id"]
        if notification_id <= self.last_notification_id:
            raise LedgerDivergence(
                "entry-order",
                f"entry {index} has notification id {notification_id}, not after "
                f"{self.last_notification_id}: entries were reordered or inserted",
                index=index,
                expected=f"> {self.last_notification_id}",
                found=str(notification_id),
            )
        self.last_notification_id = notification_id
        return fields
