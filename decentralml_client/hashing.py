"""The one hash of the protocol: blake2-256 of an artifact's bytes (PROTOCOL §4)."""

from __future__ import annotations

import hashlib


def blake2_256(data: bytes) -> bytes:
    """Return the 32-byte blake2b-256 digest of ``data`` (the same function the pallet uses)."""
    return hashlib.blake2b(data, digest_size=32).digest()


def blake2_256_hex(data: bytes) -> str:
    """Return ``blake2_256(data)`` as ``0x``-prefixed lowercase hex, as the chain shows hashes."""
    return "0x" + blake2_256(data).hex()
