"""RFC 6962 / RFC 9162 hashing and proofs: reference vectors and a brute force."""

import base64
import hashlib
import json
import random
from pathlib import Path

import pytest

from ledger.errors import (
    ConsistencyProofError,
    InclusionProofError,
    ProofVerificationError,
)
from ledger.merkle import (
    EMPTY_ROOT,
    HASH_SIZE,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    node_hash,
    packed_root,
    perfect_root,
    tree_root,
    verify_consistency,
    verify_inclusion,
)
from ledger.tiles import TileBuilder, TileHashReader, tiles_for_size

VECTORS = Path(__file__).resolve().parents[3] / "shared" / "testdata" / "rfc6962"


def _vector_files(kind: str) -> list[str]:
    if not VECTORS.is_dir():
        return []
    return sorted(str(p.relative_to(VECTORS)) for p in (VECTORS / kind).rglob("*.json"))


def _b64(value: str | None) -> bytes:
    return base64.b64decode(value) if value else b""


def _load(shared_testdata: Path, name: str) -> dict[str, object]:
    return dict(json.loads((shared_testdata / "rfc6962" / name).read_text()))


# Reference: RFC 6962 section 2.1 written out as recursion, sharing no code.
def reference_root(leaves: list[bytes]) -> bytes:
    if not leaves:
        return hashlib.sha256(b"").digest()
    if len(leaves) == 1:
        return leaves[0]
    split = 1 << ((len(leaves) - 1).bit_length() - 1)
    return node_hash(reference_root(leaves[:split]), reference_root(leaves[split:]))


def reference_path(index: int, leaves: list[bytes]) -> list[bytes]:
    if len(leaves) <= 1:
        return []
    split = 1 << ((len(leaves) - 1).bit_length() - 1)
    if index < split:
        left, sibling = reference_path(index, leaves[:split]), leaves[split:]
    else:
        left, sibling = reference_path(index - split, leaves[split:]), leaves[:split]
    return [*left, reference_root(sibling)]


def reference_subproof(size1: int, leaves: list[bytes], whole: bool) -> list[bytes]:
    if size1 == len(leaves):
        return [] if whole else [reference_root(leaves)]
    split = 1 << ((len(leaves) - 1).bit_length() - 1)
    if size1 <= split:
        inner, other = reference_subproof(size1, leaves[:split], whole), leaves[split:]
    else:
        inner = reference_subproof(size1 - split, leaves[split:], False)
        other = leaves[:split]
    return [*inner, reference_root(other)]


def tiled(leaves: list[bytes]) -> TileHashReader:
    builder = TileBuilder()
    for leaf in leaves:
        builder.append(leaf)
    tiles = {(t.level, t.index): t.hashes for t in builder.take_changed()}
    return TileHashReader(lambda level, index: tiles.get((level, index)), len(leaves))


def leaves_for(size: int) -> list[bytes]:
    return [leaf_hash(f"entry {i}".encode()) for i in range(size)]


@pytest.mark.parametrize("name", _vector_files("inclusion"))
def test_inclusion_vector_is_accepted_or_rejected_as_specified(
    shared_testdata: Path, name: str
) -> None:
    vector = _load(shared_testdata, name)
    proof = [_b64(h) for h in vector["proof"] or []]  # type: ignore[union-attr]

    def verify() -> None:
        verify_inclusion(
            vector["leafIdx"],  # type: ignore[arg-type]
            vector["treeSize"],  # type: ignore[arg-type]
            _b64(vector["leafHash"]),  # type: ignore[arg-type]
            proof,
            _b64(vector["root"]),  # type: ignore[arg-type]
        )

    if vector["wantErr"]:
        with pytest.raises(InclusionProofError):
            verify()
    else:
        verify()


@pytest.mark.parametrize("name", _vector_files("consistency"))
def test_consistency_vector_is_accepted_or_rejected_as_specified(
    shared_testdata: Path, name: str
) -> None:
    vector = _load(shared_testdata, name)
    proof = [_b64(h) for h in vector["proof"] or []]  # type: ignore[union-attr]

    def verify() -> None:
        verify_consistency(
            vector["size1"],  # type: ignore[arg-type]
            vector["size2"],  # type: ignore[arg-type]
            proof,
            _b64(vector["root1"]),  # type: ignore[arg-type]
            _b64(vector["root2"]),  # type: ignore[arg-type]
        )

    if vector["wantErr"]:
        with pytest.raises(ConsistencyProofError):
            verify()
    else:
        verify()


def test_reference_vectors_are_all_found(shared_testdata: Path) -> None:
    assert len(_vector_files("inclusion")) >= 90
    assert len(_vector_files("consistency")) >= 90


def test_empty_tree_root_is_the_hash_of_nothing() -> None:
    expected = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

    assert EMPTY_ROOT.hex() == expected
    assert tree_root(tiled([]), 0) == EMPTY_ROOT


def test_leaf_and_node_hashes_use_their_domain_prefixes() -> None:
    assert leaf_hash(b"") == hashlib.sha256(b"\x00").digest()
    assert node_hash(b"a", b"b") == hashlib.sha256(b"\x01ab").digest()


def test_tiled_root_matches_brute_force_for_every_size_up_to_300() -> None:
    leaves = leaves_for(300)

    for size in range(1, 301):
        assert tree_root(tiled(leaves[:size]), size) == reference_root(leaves[:size])


@pytest.mark.parametrize("size", [1, 2, 3, 7, 8, 64, 255, 256, 257, 300])
def test_tiled_inclusion_proofs_match_brute_force_and_verify(size: int) -> None:
    leaves = leaves_for(size)
    hashes, root = tiled(leaves), reference_root(leaves)

    for index in range(size):
        proof = inclusion_proof(hashes, index, size)
        assert proof == reference_path(index, leaves)
        verify_inclusion(index, size, leaves[index], proof, root)


def test_tiled_consistency_proofs_match_brute_force_and_verify() -> None:
    leaves = leaves_for(300)
    hashes = tiled(leaves)
    pairs = [(m, n) for n in range(1, 41) for m in range(1, n + 1)]
    pairs += [(m, 300) for m in range(1, 301)] + [(255, 256), (256, 257)]

    for size1, size2 in pairs:
        proof = consistency_proof(hashes, size1, size2)
        assert proof == reference_subproof(size1, leaves[:size2], True)
        root1, root2 = reference_root(leaves[:size1]), reference_root(leaves[:size2])
        verify_consistency(size1, size2, proof, root1, root2)


def test_random_large_trees_prove_inclusion_and_consistency() -> None:
    chooser = random.Random(6962)
    for size in (65_536, 65_537, chooser.randrange(66_000, 140_000)):
        leaves = leaves_for(size)
        hashes = tiled(leaves)
        root = tree_root(hashes, size)
        assert root == reference_root(leaves)

        for index in (0, size - 1, chooser.randrange(size)):
            proof = inclusion_proof(hashes, index, size)
            verify_inclusion(index, size, leaves[index], proof, root)
        size1 = chooser.randrange(1, size)
        old_root = tree_root(hashes, size1)
        verify_consistency(
            size1, size, consistency_proof(hashes, size1, size), old_root, root
        )


def test_a_proof_reads_at_most_two_tiles_per_tile_level() -> None:
    size = 70_000
    leaves = leaves_for(size)
    builder = TileBuilder()
    for leaf in leaves:
        builder.append(leaf)
    tiles = {(t.level, t.index): t.hashes for t in builder.take_changed()}
    levels = len({address.level for address in tiles_for_size(size)})

    for index in (0, 12_345, 65_535, 69_999):
        reader = TileHashReader(lambda level, index: tiles.get((level, index)), size)
        inclusion_proof(reader, index, size)
        assert reader.tile_reads <= 2 * levels
    reader = TileHashReader(lambda level, index: tiles.get((level, index)), size)
    consistency_proof(reader, 12_345, size)
    assert reader.tile_reads <= 2 * levels


def test_changed_leaf_fails_inclusion_with_a_precise_error() -> None:
    leaves = leaves_for(10)
    hashes = tiled(leaves)
    proof = inclusion_proof(hashes, 3, 10)

    with pytest.raises(InclusionProofError, match="does not lead to the root"):
        verify_inclusion(3, 10, leaves[4], proof, reference_root(leaves))


def test_inclusion_index_beyond_size_is_refused() -> None:
    with pytest.raises(InclusionProofError, match="beyond tree size"):
        verify_inclusion(10, 10, leaf_hash(b""), [], EMPTY_ROOT)


def test_over_long_inclusion_proof_is_refused() -> None:
    leaves = leaves_for(4)
    proof = inclusion_proof(tiled(leaves), 1, 4)

    with pytest.raises(InclusionProofError, match="longer"):
        verify_inclusion(1, 4, leaves[1], [*proof, proof[0]], reference_root(leaves))


def test_both_proof_errors_share_one_base_class() -> None:
    assert issubclass(InclusionProofError, ProofVerificationError)
    assert issubclass(ConsistencyProofError, ProofVerificationError)


@pytest.mark.parametrize("count", [1, 2, 4, 128, 256])
def test_root_of_packed_hashes_is_the_perfect_root(count: int) -> None:
    hashes = [leaf_hash(i.to_bytes(2, "big")) for i in range(count)]

    assert packed_root(b"".join(hashes)) == perfect_root(hashes)


@pytest.mark.parametrize("size", [0, 31, 3 * HASH_SIZE, 256 * HASH_SIZE + 1])
def test_packed_hashes_must_be_a_power_of_two_count(size: int) -> None:
    with pytest.raises(ValueError, match="not a power-of-two count"):
        packed_root(bytes(size))
