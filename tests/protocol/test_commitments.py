"""Commitments are SCALE-exact and bind every field (replay under another account, round,
attempt, claim or vote is a different hash)."""

from __future__ import annotations

import hashlib

import pytest

from decentralml_client.protocol.commitments import (
    _compact,
    encode_verdicts,
    update_commitment,
    vote_commitment,
)

ACC, H, SALT = b"\x01" * 32, b"\x02" * 32, b"\x03" * 32


def test_scale_compact_lengths() -> None:
    assert _compact(0) == b"\x00" and _compact(1) == b"\x04" and _compact(63) == b"\xfc"
    assert _compact(64) == b"\x01\x01" and _compact(16383) == b"\xfd\xff"
    assert _compact(16384) == b"\x02\x00\x01\x00"


def test_update_commitment_is_blake2_of_the_scale_tuple() -> None:
    data = ((7).to_bytes(4, "little") + (2).to_bytes(4, "little") + (1).to_bytes(4, "little")
            + ACC + H + (169).to_bytes(8, "little") + SALT)
    assert update_commitment(7, 2, 1, ACC, H, 169, SALT) == hashlib.blake2b(
        data, digest_size=32).digest()


def test_vote_commitment_encodes_every_verdict() -> None:
    # The vector follows the pallet's SCALE rule for Vec<Verdict>: compact length (2 → 0x08),
    # then per verdict u32 submission, bool accept, u32 score, u32 probe, all little-endian
    # (recomputed by hand when Verdict gained its 4th field, probe).
    assert encode_verdicts([(0, True, 10_000, 123_456), (3, False, 0, 0)]) == (
        b"\x08"
        + b"\x00\x00\x00\x00" + b"\x01" + b"\x10\x27\x00\x00" + b"\x40\xe2\x01\x00"
        + b"\x03\x00\x00\x00" + b"\x00" + b"\x00\x00\x00\x00" + b"\x00\x00\x00\x00")
    assert encode_verdicts([(1, True, 2, 2**32 - 1)])[-4:] == b"\xff\xff\xff\xff"
    base = vote_commitment(1, 0, 0, ACC, [(0, True, 5000, 77)], SALT)
    assert base != vote_commitment(1, 0, 0, ACC, [(0, True, 5001, 77)], SALT)  # score bound
    assert base != vote_commitment(1, 0, 0, ACC, [(0, False, 5000, 77)], SALT)  # verdict bound
    assert base != vote_commitment(1, 0, 0, ACC, [(0, True, 5000, 78)], SALT)  # probe bound
    assert base != vote_commitment(1, 0, 1, ACC, [(0, True, 5000, 77)], SALT)  # attempt bound
    data = ((1).to_bytes(4, "little") + (0).to_bytes(4, "little") + (0).to_bytes(4, "little")
            + ACC + encode_verdicts([(0, True, 5000, 77)]) + SALT)
    assert base == hashlib.blake2b(data, digest_size=32).digest()


@pytest.mark.parametrize("change", ["task", "round", "attempt", "account", "hash", "claim", "salt"])
def test_update_commitment_binds_each_field(change: str) -> None:
    args = dict(task_id=1, round_=2, attempt=0, account_id=ACC, update_hash=H, num_examples=10,
                salt=SALT)
    base = update_commitment(**args)  # type: ignore[arg-type]
    other = {"task": ("task_id", 2), "round": ("round_", 3), "attempt": ("attempt", 1),
             "account": ("account_id", b"\x09" * 32), "hash": ("update_hash", b"\x08" * 32),
             "claim": ("num_examples", 10_000), "salt": ("salt", b"\x07" * 32)}[change]
    args[other[0]] = other[1]
    assert update_commitment(**args) != base  # type: ignore[arg-type]


def test_bad_lengths_are_refused() -> None:
    with pytest.raises(ValueError, match="salt must be 32 bytes"):
        update_commitment(1, 2, 0, ACC, H, 1, b"short")
