"""RFC 6962 hashing: the Certificate Transparency reference vectors, and proofs that verify
for every leaf of every tree shape and for nothing else."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chairside.esign import merkle

# The reference leaves and tree heads of RFC 6962 implementations (certificate-transparency).
CT_LEAVES = [
    bytes.fromhex(h)
    for h in (
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    )
]
CT_ROOTS = [
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]
CT_PROOFS = {
    0: [
        "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
    ],
    5: [
        "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    ],
}


def reference_root(leaves: list[bytes]) -> bytes:
    """MTH as RFC 6962 section 2.1 defines it, recursively."""
    n = len(leaves)
    if n == 0:
        return hashlib.sha256(b"").digest()
    if n == 1:
        return leaves[0]
    k = 1 << ((n - 1).bit_length() - 1)
    return merkle.node_hash(reference_root(leaves[:k]), reference_root(leaves[k:]))


def reference_path(m: int, leaves: list[bytes]) -> list[bytes]:
    """PATH(m, D[n]) as RFC 6962 section 2.1.1 defines it, recursively."""
    n = len(leaves)
    if n == 1:
        return []
    k = 1 << ((n - 1).bit_length() - 1)
    if m < k:
        return [*reference_path(m, leaves[:k]), reference_root(leaves[k:])]
    return [*reference_path(m - k, leaves[k:]), reference_root(leaves[:k])]


def _leaves(n: int) -> list[bytes]:
    return [merkle.leaf_hash(i.to_bytes(4, "big")) for i in range(n)]


def test_roots_match_the_rfc_6962_reference_tree_heads() -> None:
    hashed = [merkle.leaf_hash(d) for d in CT_LEAVES]
    for size in range(len(CT_ROOTS)):
        assert merkle.root(hashed[:size]).hex() == CT_ROOTS[size], size


def test_leaf_and_node_hashes_are_domain_separated() -> None:
    assert merkle.leaf_hash(b"") == hashlib.sha256(b"\x00").digest()
    a, b = merkle.leaf_hash(b"a"), merkle.leaf_hash(b"b")
    assert merkle.node_hash(a, b) == hashlib.sha256(b"\x01" + a + b).digest()
    # A node can never pass for a leaf of the concatenation (second preimage).
    assert merkle.leaf_hash(a + b) != merkle.node_hash(a, b)


@pytest.mark.parametrize("index", sorted(CT_PROOFS))
def test_inclusion_proofs_match_the_reference_vectors(index: int) -> None:
    hashed = [merkle.leaf_hash(d) for d in CT_LEAVES]

    proof = merkle.inclusion_proof(index, hashed)

    assert [p.hex() for p in proof] == CT_PROOFS[index]
    assert merkle.verify_inclusion(hashed[index], index, 8, proof, bytes.fromhex(CT_ROOTS[8]))


def test_every_leaf_of_every_tree_up_to_70_has_a_proof_that_verifies() -> None:
    for size in range(1, 71):
        leaves = _leaves(size)
        tree = merkle.MerkleTree(leaves)
        assert tree.root == reference_root(leaves), size
        for index in range(size):
            proof = tree.inclusion_proof(index)
            assert proof == reference_path(index, leaves), (size, index)
            assert merkle.verify_inclusion(leaves[index], index, size, proof, tree.root)


@given(size=st.integers(min_value=1, max_value=200), data=st.data())
def test_a_proof_fails_for_another_leaf_index_size_or_root(size: int, data: st.DataObject) -> None:
    leaves = _leaves(size)
    tree = merkle.MerkleTree(leaves)
    index = data.draw(st.integers(min_value=0, max_value=size - 1))
    proof = tree.inclusion_proof(index)
    assert merkle.verify_inclusion(leaves[index], index, size, proof, tree.root)

    assert not merkle.verify_inclusion(merkle.leaf_hash(b"forged"), index, size, proof, tree.root)
    other = data.draw(st.integers(min_value=0, max_value=size + 3).filter(lambda i: i != index))
    assert not merkle.verify_inclusion(leaves[index], other, size, proof, tree.root)
    assert not merkle.verify_inclusion(leaves[index], index, size, proof, merkle.leaf_hash(b"x"))
    bigger = merkle.MerkleTree([*leaves, merkle.leaf_hash(b"next")])
    assert not merkle.verify_inclusion(leaves[index], index, size + 1, proof, bigger.root)
    if proof:
        assert not merkle.verify_inclusion(leaves[index], index, size, proof[:-1], tree.root)
        flipped = [proof[0][:-1] + bytes([proof[0][-1] ^ 1]), *proof[1:]]
        assert not merkle.verify_inclusion(leaves[index], index, size, flipped, tree.root)
    assert not merkle.verify_inclusion(leaves[index], index, size, [*proof, tree.root], tree.root)


def test_no_proof_for_a_leaf_outside_the_tree() -> None:
    with pytest.raises(ValueError, match="not in a tree of 3"):
        merkle.inclusion_proof(3, _leaves(3))
    assert merkle.root([]) == hashlib.sha256(b"").digest()
