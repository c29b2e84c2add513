"""Commitments, byte for byte as the pallet computes them (SCALE encoding, blake2-256).

An update commitment binds the task, the round, the attempt (a failed round's retry is a new
attempt), the contributor's account, the update's hash, the claimed number of examples and a
salt; a vote commitment binds the same context, the validator's account, every verdict with
its score and probe (the evidence of evaluation), and a salt. Neither can be replayed under
another account, round or attempt.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence

from decentralml_client.hashing import blake2_256
from decentralml_client.protocol.consensus import Verdict


def _u32(v: int) -> bytes:
    return struct.pack("<I", v)


def _compact(n: int) -> bytes:
    """SCALE compact encoding of a length."""
    if n < 1 << 6:
        return bytes([n << 2])
    if n < 1 << 14:
        return struct.pack("<H", (n << 2) | 1)
    if n < 1 << 30:
        return struct.pack("<I", (n << 2) | 2)
    raise ValueError(f"length {n} too large")


def _b32(name: str, v: bytes) -> bytes:
    if len(v) != 32:
        raise ValueError(f"{name} must be 32 bytes, got {len(v)}")
    return v


def _context(task_id: int, round_: int, attempt: int, account_id: bytes) -> bytes:
    return _u32(task_id) + _u32(round_) + _u32(attempt) + _b32("account id", account_id)


def update_commitment(task_id: int, round_: int, attempt: int, account_id: bytes,
                      update_hash: bytes, num_examples: int, salt: bytes) -> bytes:
    """``blake2_256(SCALE(task, round, attempt, account, update_hash, num_examples, salt))``."""
    if num_examples < 0:
        raise ValueError("num_examples must not be negative")
    data = (_context(task_id, round_, attempt, account_id) + _b32("update hash", update_hash)
            + struct.pack("<Q", num_examples) + _b32("salt", salt))
    return blake2_256(data)


def encode_verdicts(verdicts: Sequence[Verdict]) -> bytes:
    """SCALE ``Vec<Verdict>``: compact length, then per verdict
    ``(u32 submission, bool accept, u32 score, u32 probe)``."""
    out = bytearray(_compact(len(verdicts)))
    for submission, accept, score, probe in verdicts:
        out += (_u32(submission) + (b"\x01" if accept else b"\x00") + _u32(score)
                + _u32(probe))
    return bytes(out)


def vote_commitment(task_id: int, round_: int, attempt: int, account_id: bytes,
                    verdicts: Sequence[Verdict], salt: bytes) -> bytes:
    """``blake2_256(SCALE(task, round, attempt, account, verdicts, salt))``."""
    data = (_context(task_id, round_, attempt, account_id) + encode_verdicts(verdicts)
            + _b32("salt", salt))
    return blake2_256(data)
