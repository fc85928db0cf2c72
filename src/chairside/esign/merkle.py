"""RFC 6962 Merkle tree hashing (Certificate Transparency): leaf and node hashes, the root
of a list of leaves, and inclusion proofs with their verification.

Pure functions over bytes, no Django: the offline verifier (`chairside verify`) uses them
on another machine with nothing but the evidence package.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

LEAF_PREFIX = b"\x00"
NODE_PREFIX = b"\x01"
EMPTY_ROOT = hashlib.sha256(b"").digest()


def leaf_hash(data: bytes) -> bytes:
    """MTH({d}) = SHA-256(0x00 || d)."""
    return hashlib.sha256(LEAF_PREFIX + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """SHA-256(0x01 || left || right)."""
    return hashlib.sha256(NODE_PREFIX + left + right).digest()


class MerkleTree:
    """The hashes of every level of one tree, so that many proofs cost one pass."""

    def __init__(self, leaves: Sequence[bytes]) -> None:
        # Bottom-up, level by level: an odd node at the end of a level is carried up
        # unchanged, which builds exactly RFC 6962's tree (left subtree always full).
        self.levels: list[list[bytes]] = [list(leaves)]
        while len(self.levels[-1]) > 1:
            level = self.levels[-1]
            parents = [node_hash(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
            if len(level) % 2:
                parents.append(level[-1])
            self.levels.append(parents)

    @property
    def size(self) -> int:
        return len(self.levels[0])

    @property
    def root(self) -> bytes:
        return self.levels[-1][0] if self.size else EMPTY_ROOT

    def inclusion_proof(self, index: int) -> list[bytes]:
        """PATH(index): the sibling hashes from the leaf up to the root."""
        if not 0 <= index < self.size:
            raise ValueError(f"leaf {index} is not in a tree of {self.size} leaves")
        proof: list[bytes] = []
        for level in self.levels[:-1]:
            sibling = index ^ 1
            if sibling < len(level):  # no sibling: this node was carried up as it is
                proof.append(level[sibling])
            index >>= 1
        return proof


def root(leaves: Sequence[bytes]) -> bytes:
    """The Merkle tree hash of `leaves` (leaf hashes, in index order)."""
    return MerkleTree(leaves).root


def inclusion_proof(index: int, leaves: Sequence[bytes]) -> list[bytes]:
    """PATH(index, leaves) of RFC 6962."""
    return MerkleTree(leaves).inclusion_proof(index)


def root_from_inclusion_proof(
    leaf: bytes, index: int, size: int, proof: Sequence[bytes]
) -> bytes | None:
    """The root the proof leads to from `leaf` at `index` in a tree of `size` leaves, or None
    when the proof has the wrong shape (RFC 9162 section 2.1.3.2)."""
    if not 0 <= index < size:
        return None
    fn, sn = index, size - 1
    r = leaf
    for sibling in proof:
        if sn == 0:
            return None
        if fn & 1 or fn == sn:
            r = node_hash(sibling, r)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = node_hash(r, sibling)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        return None
    return r


def verify_inclusion(
    leaf: bytes, index: int, size: int, proof: Sequence[bytes], expected_root: bytes
) -> bool:
    """True when `proof` shows `leaf` at `index` in the tree of `size` leaves with that root."""
    found = root_from_inclusion_proof(leaf, index, size, proof)
    return found is not None and found == expected_root
