"""RFC 6962 / RFC 9162 Merkle tree hashes, proofs and their verification."""

import hashlib
import struct
from collections.abc import Callable, Iterator, Sequence
from functools import cache
from typing import Protocol

from ledger.errors import ConsistencyProofError, InclusionProofError

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()


def leaf_hash(entry: bytes) -> bytes:
    """The hash of one leaf: SHA-256 of 0x00 and the entry bytes, as stored."""
    return hashlib.sha256(b"\x00" + entry).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """The hash of an interior node: SHA-256 of 0x01 and both children."""
    return hashlib.sha256(b"\x01" + left + right).digest()


def perfect_root(hashes: Sequence[bytes]) -> bytes:
    """The root over a power-of-two count of sibling hashes, paired level by level."""
    return packed_root(b"".join(hashes))


def packed_root(packed: bytes) -> bytes:
    """perfect_root of hashes given back to back, as a tile stores them."""
    count = len(packed) // HASH_SIZE
    if not count or count & (count - 1) or len(packed) != count * HASH_SIZE:
        raise ValueError(f"{len(packed)} bytes are not a power-of-two count of hashes")
    sha256 = hashlib.sha256
    while len(packed) > HASH_SIZE:
        pairs = _pairs_of(len(packed) // (2 * HASH_SIZE))(packed)
        packed = b"".join([sha256(b"\x01" + pair).digest() for pair in pairs])
    return packed


@cache
def _pairs_of(count: int) -> Callable[[bytes], tuple[bytes, ...]]:
    """Splits `count` pairs of hashes in one call rather than a slice per pair."""
    return struct.Struct(f"{2 * HASH_SIZE}s" * count).unpack


class SubtreeHashes(Protocol):
    """Where proofs read hashes of perfect subtrees from (tiles, memory)."""

    def subtree_hash(self, level: int, index: int) -> bytes:
        """The hash of leaves [index * 2**level, (index + 1) * 2**level)."""
        ...


def perfect_subtrees(start: int, end: int) -> Iterator[tuple[int, int]]:
    """The (level, index) of the perfect subtrees that make up [start, end)."""
    while start < end:
        level = (end - start).bit_length() - 1
        if start:
            level = min(level, (start & -start).bit_length() - 1)
        yield level, start >> level
        start += 1 << level


def range_hash(hashes: SubtreeHashes, start: int, end: int) -> bytes:
    """MTH(D[start:end]) for a range that is a subtree of the tree."""
    parts = [hashes.subtree_hash(*part) for part in perfect_subtrees(start, end)]
    result = parts.pop()
    for left in reversed(parts):
        result = node_hash(left, result)
    return result


def tree_root(hashes: SubtreeHashes, size: int) -> bytes:
    """The root hash of the first `size` leaves (the empty root for size 0)."""
    if size == 0:
        return EMPTY_ROOT
    return range_hash(hashes, 0, size)


def _split(count: int) -> int:
    """The largest power of two smaller than count (count >= 2)."""
    return 1 << ((count - 1).bit_length() - 1)


def inclusion_proof(hashes: SubtreeHashes, index: int, size: int) -> list[bytes]:
    """The RFC 9162 inclusion path of leaf `index` in the tree of `size` leaves."""
    if not 0 <= index < size:
        raise ValueError(f"leaf index {index} is not in a tree of size {size}")
    proof = []
    start, end = 0, size
    while end - start > 1:
        half = _split(end - start)
        if index < start + half:
            proof.append(range_hash(hashes, start + half, end))
            end = start + half
        else:
            proof.append(range_hash(hashes, start, start + half))
            start += half
    proof.reverse()
    return proof


def consistency_proof(hashes: SubtreeHashes, size1: int, size2: int) -> list[bytes]:
    """The RFC 9162 consistency proof from tree size `size1` to `size2`."""
    if not 0 <= size1 <= size2:
        raise ValueError(f"cannot prove tree size {size1} inside tree size {size2}")
    if size1 in (0, size2):
        return []
    proof = []
    start, end, whole = 0, size2, True
    while size1 != end:
        half = _split(end - start)
        if size1 - start <= half:
            proof.append(range_hash(hashes, start + half, end))
            end = start + half
        else:
            proof.append(range_hash(hashes, start, start + half))
            start, whole = start + half, False
    if not whole:
        proof.append(range_hash(hashes, start, end))
    proof.reverse()
    return proof


def _check_hashes(hashes: Sequence[bytes], error: type[Exception]) -> None:
    for position, value in enumerate(hashes):
        if len(value) != HASH_SIZE:
            raise error(f"hash {position} is {len(value)} bytes, not {HASH_SIZE}")


def _shift_to_odd(fn: int, sn: int) -> tuple[int, int]:
    """Shift both right until fn is odd or zero (RFC 9162 2.1.3.2 step 5b2)."""
    while fn and not fn & 1:
        fn, sn = fn >> 1, sn >> 1
    return fn, sn


def verify_inclusion(
    index: int, size: int, leaf: bytes, proof: Sequence[bytes], root: bytes
) -> None:
    """Check that `proof` leads from leaf `index` to `root` (RFC 9162 2.1.3.2)."""
    if not 0 <= index < size:
        raise InclusionProofError(f"leaf index {index} is beyond tree size {size}")
    _check_hashes([leaf, *proof], InclusionProofError)

    fn, sn, result = index, size - 1, leaf
    for sibling in proof:
        if sn == 0:
            raise InclusionProofError("inclusion proof is longer than the tree")
        if fn & 1 or fn == sn:
            result = node_hash(sibling, result)
            fn, sn = _shift_to_odd(fn, sn)
        else:
            result = node_hash(result, sibling)
        fn, sn = fn >> 1, sn >> 1

    if sn != 0:
        raise InclusionProofError("inclusion proof is shorter than the tree")
    if result != root:
        raise InclusionProofError("inclusion proof does not lead to the root hash")


def _check_consistency_sizes(
    size1: int, size2: int, proof: Sequence[bytes], root1: bytes, root2: bytes
) -> bool:
    """Settle the edge cases; True when nothing is left to compute."""
    if size1 > size2:
        raise ConsistencyProofError(f"tree size {size1} is larger than {size2}")
    if size1 <= 0:
        raise ConsistencyProofError("a consistency proof from size 0 proves nothing")
    if size1 == size2:
        if proof:
            raise ConsistencyProofError("equal tree sizes need an empty proof")
        if root1 != root2:
            raise ConsistencyProofError("equal tree sizes but different root hashes")
        return True
    if not proof:
        raise ConsistencyProofError("consistency proof is empty")
    _check_hashes(proof, ConsistencyProofError)
    return False


def verify_consistency(
    size1: int, size2: int, proof: Sequence[bytes], root1: bytes, root2: bytes
) -> None:
    """Check that `proof` joins tree head (size1, root1) to (size2, root2).

    Follows RFC 9162 section 2.1.4.2; a proof from size 0 is refused as
    meaningless, as the reference vectors require.
    """
    if _check_consistency_sizes(size1, size2, proof, root1, root2):
        return
    path = list(proof)
    if size1 & (size1 - 1) == 0:
        path.insert(0, root1)

    fn, sn = size1 - 1, size2 - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    first = second = path[0]
    for sibling in path[1:]:
        if sn == 0:
            raise ConsistencyProofError("consistency proof is longer than the tree")
        if fn & 1 or fn == sn:
            first, second = node_hash(sibling, first), node_hash(sibling, second)
            fn, sn = _shift_to_odd(fn, sn)
        else:
            second = node_hash(second, sibling)
        fn, sn = fn >> 1, sn >> 1

    if sn != 0:
        raise ConsistencyProofError("consistency proof is shorter than the tree")
    if first != root1:
        raise ConsistencyProofError("consistency proof does not lead to the old root")
    if second != root2:
        raise ConsistencyProofError("consistency proof does not lead to the new root")
