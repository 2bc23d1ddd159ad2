"""The C2SP tlog-tiles layout: tile paths, entry bundles and tile arithmetic."""

import re
import struct
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

from ledger.errors import LedgerDivergence, LedgerLookupError
from ledger.merkle import HASH_SIZE, packed_root, tree_root

TILE_HEIGHT = 8
TILE_WIDTH = 1 << TILE_HEIGHT
FULL_TILE_BYTES = TILE_WIDTH * HASH_SIZE
MAX_ENTRY_BYTES = 0xFFFF
_ENTRY_LENGTH = struct.Struct(">H")

_PATH = re.compile(
    r"tile/(entries|0|[1-9][0-9]?)/((?:x\d{3}/)*\d{3})(?:\.p/([1-9]\d*))?"
)


@dataclass(frozen=True)
class TileAddress:
    """A tile (level >= 0) or an entry bundle (level None) and its width."""

    level: int | None
    index: int
    width: int = TILE_WIDTH

    @property
    def path(self) -> str:
        """The tlog-tiles path, with `.p/W` for a partial tile."""
        level = "entries" if self.level is None else str(self.level)
        suffix = "" if self.width == TILE_WIDTH else f".p/{self.width}"
        return f"tile/{level}/{encode_tile_index(self.index)}{suffix}"


@dataclass(frozen=True)
class Tile:
    """The hashes of one tile as stored: `width` concatenated SHA-256 hashes."""

    level: int
    index: int
    hashes: bytes

    @property
    def width(self) -> int:
        return len(self.hashes) // HASH_SIZE


def encode_tile_index(index: int) -> str:
    """Index 1234067 as `x001/x234/067`: 3-digit groups, all but the last x-ed."""
    groups = [f"{index % 1000:03d}"]
    index //= 1000
    while index:
        groups.append(f"x{index % 1000:03d}")
        index //= 1000
    return "/".join(reversed(groups))


def tile_path(level: int, index: int, width: int = TILE_WIDTH) -> str:
    """The path of hash tile `index` at `level`, e.g. `tile/0/x001/234.p/7`."""
    return TileAddress(level, index, width).path


def entry_bundle_path(index: int, width: int = TILE_WIDTH) -> str:
    """The path of entry bundle `index`, e.g. `tile/entries/005`."""
    return TileAddress(None, index, width).path


def parse_tile_path(path: str) -> TileAddress:
    """The tile or entry bundle that a tlog-tiles path names."""
    match = _PATH.fullmatch(path.strip("/"))
    if match is None:
        raise LedgerLookupError(f"{path!r} is not a tlog-tiles path like tile/0/001")
    level_text, index_text, width_text = match.groups()
    index = int(index_text.replace("x", "").replace("/", ""))
    if encode_tile_index(index) != index_text:
        raise LedgerLookupError(f"{path!r} spells its tile index with extra zeros")
    width = TILE_WIDTH if width_text is None else int(width_text)
    if width_text is not None and width >= TILE_WIDTH:
        raise LedgerLookupError(f"{path!r} has a partial width outside 1 to 255")
    level = None if level_text == "entries" else int(level_text)
    return TileAddress(level, index, width)


def tiles_for_size(size: int) -> Iterator[TileAddress]:
    """Every hash tile of a tree of `size` leaves, level by level."""
    level, count = 0, size
    while count:
        yield from _tiles_of_level(level, count)
        level, count = level + 1, count >> TILE_HEIGHT


def entry_bundles_for_size(size: int) -> Iterator[TileAddress]:
    """Every entry bundle of a tree of `size` leaves."""
    for address in _tiles_of_level(0, size):
        yield TileAddress(None, address.index, address.width)


def _tiles_of_level(level: int, count: int) -> Iterator[TileAddress]:
    full, partial = divmod(count, TILE_WIDTH)
    for index in range(full):
        yield TileAddress(level, index)
    if partial:
        yield TileAddress(level, full, partial)


def tile_width_at(level: int, index: int, size: int) -> int:
    """The width tile (level, index) has in a tree of `size` leaves (0: none)."""
    count = size >> (TILE_HEIGHT * level)
    return max(0, min(TILE_WIDTH, count - index * TILE_WIDTH))


def split_hashes(data: bytes) -> list[bytes]:
    """The 32-byte hashes of a tile."""
    return [data[i : i + HASH_SIZE] for i in range(0, len(data), HASH_SIZE)]


def encode_entry_bundle(entries: Sequence[bytes]) -> bytes:
    """Entries as a bundle: each one prefixed with its big-endian uint16 length."""
    parts = []
    for entry in entries:
        if len(entry) > MAX_ENTRY_BYTES:
            raise ValueError(f"an entry of {len(entry)} bytes does not fit a bundle")
        parts.append(len(entry).to_bytes(2, "big") + entry)
    return b"".join(parts)


def decode_entry_bundle(bundle: bytes) -> list[bytes]:
    """The entries of a bundle; ValueError where a length runs past the end."""
    entries, position, end = [], 0, len(bundle)
    read_length = _ENTRY_LENGTH.unpack_from
    while position < end:
        if position + 2 > end:
            raise ValueError(f"bundle ends inside a length prefix at byte {position}")
        (length,) = read_length(bundle, position)
        position += 2
        if position + length > end:
            raise ValueError(f"entry at byte {position} runs past the bundle end")
        entries.append(bundle[position : position + length])
        position += length
    return entries


class TileBuilder:
    """Appends leaf hashes and keeps the right-edge tile of every level.

    A tile that fills up is hashed into the level above. `take_changed`
    returns the tiles written since it was last called, full or partial.
    """

    def __init__(self, size: int = 0, edges: Sequence[bytes] = ()) -> None:
        self.size = size
        self._counts = [size >> (TILE_HEIGHT * level) for level in range(len(edges))]
        self._edges = [bytearray(edge) for edge in edges]
        self._changed: dict[tuple[int, int], bytes] = {}

    @classmethod
    def resume(
        cls, size: int, read_tile: Callable[[int, int], bytes | None]
    ) -> "TileBuilder":
        """A builder that continues a stored tree of `size` leaves."""
        edges = []
        for level, count in enumerate(_level_counts(size)):
            index, width = divmod(count, TILE_WIDTH)
            stored = read_tile(level, index) if width else b""
            edge = (stored or b"")[: width * HASH_SIZE]
            if len(edge) != width * HASH_SIZE:
                raise LedgerDivergence(
                    "tile-missing",
                    f"the stored tree of size {size} lacks hashes of its edge tile",
                    path=tile_path(level, index, width),
                )
            edges.append(edge)
        return cls(size, edges)

    def append(self, leaf: bytes) -> None:
        """Add the next leaf hash."""
        self._push(0, leaf)
        self.size += 1

    def extend(self, leaves: Sequence[bytes]) -> None:
        """Add leaf hashes; a whole aligned tile is hashed in one pass."""
        if len(leaves) != TILE_WIDTH or self.size % TILE_WIDTH:
            for leaf in leaves:
                self.append(leaf)
            return
        # The same tiles as appending one by one, without a call per leaf.
        hashes = b"".join(leaves)
        self._changed[(0, self.size >> TILE_HEIGHT)] = hashes
        self.extend_by_tile_root(packed_root(hashes))

    def extend_by_tile_root(self, root: bytes) -> None:
        """Add a whole aligned tile of leaves by its root alone.

        For an audit that compared the leaf tile elsewhere: the leaf tile is
        not kept, so take_changed returns only the tiles above it.
        """
        if self.size % TILE_WIDTH:
            raise ValueError(f"a whole tile cannot follow {self.size} leaves")
        if not self._edges:
            self._edges.append(bytearray())
            self._counts.append(0)
        self._counts[0] += TILE_WIDTH
        self.size += TILE_WIDTH
        self._push(1, root)

    def _push(self, level: int, value: bytes) -> None:
        if level == len(self._edges):
            self._edges.append(bytearray())
            self._counts.append(0)
        edge = self._edges[level]
        edge += value
        self._changed[(level, self._counts[level] >> TILE_HEIGHT)] = bytes(edge)
        self._counts[level] += 1
        if len(edge) == FULL_TILE_BYTES:
            self._edges[level] = bytearray()
            self._push(level + 1, packed_root(bytes(edge)))

    def take_changed(self) -> list[Tile]:
        """The tiles changed since the last call, each in its latest state."""
        changed = [
            Tile(level, index, data) for (level, index), data in self._changed.items()
        ]
        self._changed.clear()
        return changed

    def root(self) -> bytes:
        """The root hash of the leaves appended so far."""
        edges = {(tile.level, tile.index): tile.hashes for tile in self.edge_tiles()}
        reader = TileHashReader(
            lambda level, index: edges.get((level, index)), self.size
        )
        return tree_root(reader, self.size)

    def edge_tiles(self) -> list[Tile]:
        """The partial tiles at the right edge of every level."""
        return [
            Tile(level, self._counts[level] >> TILE_HEIGHT, bytes(edge))
            for level, edge in enumerate(self._edges)
            if edge
        ]


def _level_counts(size: int) -> Iterator[int]:
    """How many hashes each tile level holds in a tree of `size` leaves."""
    while size:
        yield size
        size >>= TILE_HEIGHT


class TileHashReader:
    """Subtree hashes of a tree of `size` leaves, read from its tiles.

    A hash at level k comes from one tile at level k // 8, so a proof reads
    O(log n) tiles. Tiles are cached for the life of the reader.
    """

    def __init__(
        self, read_tile: Callable[[int, int], bytes | None], size: int
    ) -> None:
        self.size = size
        self.tile_reads = 0
        self._read_tile = read_tile
        self._cache: dict[tuple[int, int], bytes] = {}

    def subtree_hash(self, level: int, index: int) -> bytes:
        """The hash of leaves [index * 2**level, (index + 1) * 2**level)."""
        if (index + 1) << level > self.size:
            raise ValueError(f"subtree {level}/{index} lies beyond size {self.size}")
        tile_level, shift = divmod(level, TILE_HEIGHT)
        tile_index, offset = divmod(index << shift, TILE_WIDTH)
        count = 1 << shift
        data = self._tile(tile_level, tile_index, (offset + count) * HASH_SIZE)
        return packed_root(data[offset * HASH_SIZE : (offset + count) * HASH_SIZE])

    def _tile(self, level: int, index: int, needed: int) -> bytes:
        data = self._cache.get((level, index), b"")
        if len(data) < needed:
            data = self._read_tile(level, index) or b""
            self.tile_reads += 1
            self._cache[(level, index)] = data
        if len(data) < needed:
            width = tile_width_at(level, index, self.size)
            raise LedgerDivergence(
                "tile-missing",
                f"tile holds {len(data) // HASH_SIZE} hashes, the tree needs "
                f"{needed // HASH_SIZE}",
                path=tile_path(level, index, width),
            )
        return data
