"""The tlog-tiles layout: paths, partial tiles, entry bundles, tile building."""

import pytest

from ledger.errors import LedgerLookupError
from ledger.merkle import leaf_hash, perfect_root
from ledger.tiles import (
    TILE_WIDTH,
    TileAddress,
    TileBuilder,
    decode_entry_bundle,
    encode_entry_bundle,
    entry_bundle_path,
    entry_bundles_for_size,
    parse_tile_path,
    split_hashes,
    tile_path,
    tiles_for_size,
)


def test_tile_index_is_written_in_x_prefixed_groups_of_three_digits() -> None:
    assert tile_path(0, 1234) == "tile/0/x001/234"
    assert tile_path(2, 1234067) == "tile/2/x001/x234/067"
    assert tile_path(1, 5) == "tile/1/005"


def test_partial_tiles_and_bundles_carry_their_width() -> None:
    assert tile_path(0, 1234, 7) == "tile/0/x001/234.p/7"
    assert entry_bundle_path(3, 200) == "tile/entries/003.p/200"
    assert entry_bundle_path(3) == "tile/entries/003"


@pytest.mark.parametrize(
    ("path", "address"),
    [
        ("tile/0/x001/234", TileAddress(0, 1234)),
        ("tile/3/000.p/1", TileAddress(3, 0, 1)),
        ("tile/entries/x012/345.p/255", TileAddress(None, 12345, 255)),
    ],
)
def test_tile_paths_parse_back_to_their_address(
    path: str, address: TileAddress
) -> None:
    assert parse_tile_path(path) == address
    assert address.path == path


@pytest.mark.parametrize(
    "path",
    [
        "tile/0/1234",
        "tile/0/x000/001",
        "tile/0/001.p/0",
        "tile/0/001.p/256",
        "tile/0/001.p/07",
        "tile/00/001",
        "tile/x/001",
        "../tile/0/001",
    ],
)
def test_malformed_tile_paths_are_refused(path: str) -> None:
    with pytest.raises(LedgerLookupError):
        parse_tile_path(path)


def test_tree_of_70000_has_the_tiles_the_spec_lists() -> None:
    tiles = list(tiles_for_size(70_000))

    level0 = [t for t in tiles if t.level == 0]
    assert len(level0) == 274 and level0[-1] == TileAddress(0, 273, 112)
    assert [t for t in tiles if t.level == 1] == [
        TileAddress(1, 0),
        TileAddress(1, 1, 17),
    ]
    assert [t for t in tiles if t.level == 2] == [TileAddress(2, 0, 1)]


def test_tree_of_256_has_a_full_tile_and_a_partial_tile_above() -> None:
    assert list(tiles_for_size(256)) == [TileAddress(0, 0), TileAddress(1, 0, 1)]
    assert list(tiles_for_size(0)) == []


def test_entry_bundles_cover_the_tree() -> None:
    assert list(entry_bundles_for_size(300)) == [
        TileAddress(None, 0),
        TileAddress(None, 1, 44),
    ]


def test_entry_bundle_round_trips_length_prefixed_entries() -> None:
    entries = [b"", b"a", "ế".encode() * 100]

    bundle = encode_entry_bundle(entries)

    assert bundle[:2] == b"\x00\x00"
    assert decode_entry_bundle(bundle) == entries


def test_cut_entry_bundle_is_reported() -> None:
    bundle = encode_entry_bundle([b"abc"])

    with pytest.raises(ValueError, match="past the bundle end"):
        decode_entry_bundle(bundle[:-1])
    with pytest.raises(ValueError, match="length prefix"):
        decode_entry_bundle(bundle + b"\x00")


def test_full_tile_is_hashed_into_the_level_above() -> None:
    leaves = [leaf_hash(i.to_bytes(2, "big")) for i in range(TILE_WIDTH + 1)]
    builder = TileBuilder()

    for leaf in leaves:
        builder.append(leaf)

    tiles = {(t.level, t.index): t for t in builder.take_changed()}
    assert split_hashes(tiles[(0, 0)].hashes) == leaves[:TILE_WIDTH]
    assert tiles[(0, 1)].width == 1
    assert tiles[(1, 0)].hashes == perfect_root(leaves[:TILE_WIDTH])


def test_builder_resumes_from_stored_edge_tiles() -> None:
    leaves = [leaf_hash(i.to_bytes(4, "big")) for i in range(600)]
    whole, first = TileBuilder(), TileBuilder()
    for leaf in leaves:
        whole.append(leaf)
    for leaf in leaves[:333]:
        first.append(leaf)
    stored = {(t.level, t.index): t.hashes for t in first.take_changed()}

    resumed = TileBuilder.resume(333, lambda level, index: stored.get((level, index)))
    for leaf in leaves[333:]:
        resumed.append(leaf)

    assert resumed.root() == whole.root()
    assert resumed.edge_tiles() == whole.edge_tiles()


def test_extending_by_whole_tiles_builds_the_same_tiles_as_appending() -> None:
    leaves = [leaf_hash(i.to_bytes(4, "big")) for i in range(TILE_WIDTH * 257 + 3)]
    one_by_one, by_tile = TileBuilder(), TileBuilder()
    for leaf in leaves:
        one_by_one.append(leaf)

    by_tile.extend(leaves[:5])
    by_tile.extend(leaves[5:TILE_WIDTH])
    for start in range(TILE_WIDTH, len(leaves), TILE_WIDTH):
        by_tile.extend(leaves[start : start + TILE_WIDTH])

    def tiles(builder: TileBuilder) -> dict[tuple[int, int], bytes]:
        return {(t.level, t.index): t.hashes for t in builder.take_changed()}

    assert tiles(by_tile) == tiles(one_by_one)
    assert by_tile.root() == one_by_one.root()
    assert by_tile.edge_tiles() == one_by_one.edge_tiles()


def test_extending_by_tile_roots_builds_the_same_upper_tiles_and_root() -> None:
    leaves = [leaf_hash(i.to_bytes(4, "big")) for i in range(TILE_WIDTH * 257 + 3)]
    by_leaves, by_roots = TileBuilder(), TileBuilder()
    by_leaves.extend(leaves[: TILE_WIDTH * 257])
    for start in range(0, TILE_WIDTH * 257, TILE_WIDTH):
        by_roots.extend_by_tile_root(perfect_root(leaves[start : start + TILE_WIDTH]))

    def upper_tiles(builder: TileBuilder) -> dict[tuple[int, int], bytes]:
        return {(t.level, t.index): t.hashes for t in builder.take_changed() if t.level}

    assert upper_tiles(by_roots) == upper_tiles(by_leaves)
    assert by_roots.root() == by_leaves.root()
    by_leaves.extend(leaves[TILE_WIDTH * 257 :])
    by_roots.extend(leaves[TILE_WIDTH * 257 :])
    assert by_roots.root() == by_leaves.root()
    assert by_roots.edge_tiles() == by_leaves.edge_tiles()


def test_a_tile_root_cannot_follow_a_partial_tile() -> None:
    builder = TileBuilder()
    builder.append(leaf_hash(b"one"))

    with pytest.raises(ValueError, match="cannot follow 1 leaves"):
        builder.extend_by_tile_root(leaf_hash(b"root"))
