"""Cohorts, committees and audits, byte for byte as the pallet draws them (docs/committees.md).

Every draw hashes a SCALE encoding with blake2-256: ``u32`` little-endian for the task, round,
attempt and judge index; an ``H256`` seed and an ``AccountId`` as their raw 32 bytes; the domain
tag (``b"dml:cohort"``, ``b"dml:audit"``, ``b"dml:judge"``) as raw bytes, without a length
prefix (a fixed-size byte array in SCALE). The shared vectors
``chain/pallets/decentralml/vectors/sampling.json`` check this module and the pallet.

* **cohort**: each eligible contributor's ticket is the first 8 bytes (``u64`` LE) of
  ``blake2_256(b"dml:cohort" ‖ task ‖ round ‖ attempt ‖ draw_seed ‖ account)``; the ``cohort``
  smallest tickets are drawn (``ticket ≤ cut``, the cut being the ``cohort``-th smallest); with
  ``cohort = 0`` or at least as many as are eligible everyone is, ``cut = u64::MAX``;
* **audit**: an update is audited when the first 4 bytes (``u32`` LE) of
  ``blake2_256(b"dml:audit" ‖ task ‖ round ‖ attempt ‖ committee_seed ‖ contributor)``, modulo
  one million, are below ``audit`` (ppm); an audited update's committee is three times as large
  (at most the electorate);
* **judges**: drawn one by one by bond without replacement; draw ``j`` takes the first 16 bytes
  (``u128`` LE) of ``blake2_256(b"dml:judge" ‖ task ‖ round ‖ attempt ‖ committee_seed ‖
  contributor ‖ j)`` modulo the bond of the members not yet drawn, and picks the first
  not-yet-drawn member, in electorate order, at which the running sum of bonds exceeds it.

Nothing here talks to a chain: the roles and the simulator call these functions with the seeds,
the electorate and the cut read from storage (or, in the simulator, made up).
"""

from __future__ import annotations

import struct
from collections.abc import Sequence

from decentralml_client.hashing import blake2_256

MAX_COMMITTEE = 5
AUDIT_FACTOR = 3
FULL_JUDGING_BUDGET = 8192
MAX_AUDIT_PPM = 500_000
U64_MAX = 2**64 - 1
PPM = 1_000_000

COHORT_TAG = b"dml:cohort"
AUDIT_TAG = b"dml:audit"
JUDGE_TAG = b"dml:judge"


def _u32(v: int) -> bytes:
    return struct.pack("<I", v)


def _b32(name: str, v: bytes) -> bytes:
    if len(v) != 32:
        raise ValueError(f"{name} must be 32 bytes, got {len(v)}")
    return bytes(v)


def _context(tag: bytes, task_id: int, round_: int, attempt: int, seed: bytes,
             account: bytes) -> bytes:
    return (tag + _u32(task_id) + _u32(round_) + _u32(attempt) + _b32("seed", seed)
            + _b32("account", account))


def mix_seed(seed: bytes, salt: bytes) -> bytes:
    """The task seed after a revealed salt (or a block hash) mixes in:
    ``blake2_256(seed ‖ salt)``, 64 bytes hashed."""
    return blake2_256(_b32("seed", seed) + _b32("salt", salt))


def cohort_ticket(task_id: int, round_: int, attempt: int, draw_seed: bytes,
                  account: bytes) -> int:
    """A contributor's ticket for the attempt's cohort draw (``u64``; smaller is drawn first)."""
    digest = blake2_256(_context(COHORT_TAG, task_id, round_, attempt, draw_seed, account))
    return int.from_bytes(digest[:8], "little")


def draw_cohort(task_id: int, round_: int, attempt: int, draw_seed: bytes,
                eligible: Sequence[bytes], cohort: int) -> tuple[int, int]:
    """``(cut, size)`` of the attempt's cohort: the ``cohort``-th smallest ticket and the number
    of eligible contributors whose ticket is at most the cut (``cohort`` unless two tickets tie
    at the cut). ``cohort = 0``, or at least as many as are eligible: ``(u64::MAX, eligible)``."""
    if cohort == 0 or cohort >= len(eligible):
        return U64_MAX, len(eligible)
    tickets = sorted(cohort_ticket(task_id, round_, attempt, draw_seed, a) for a in eligible)
    cut = tickets[cohort - 1]
    return cut, sum(1 for t in tickets if t <= cut)


def in_cohort(task_id: int, round_: int, attempt: int, draw_seed: bytes, account: bytes,
              cut: int) -> bool:
    """Whether ``account`` was drawn (its ticket is at most the attempt's ``cut``)."""
    if cut >= U64_MAX:
        return True
    return cohort_ticket(task_id, round_, attempt, draw_seed, account) <= cut


def full_judging(committee: int, electorate_size: int) -> bool:
    """Whether every electorate member judges every update (no committee, or a committee at
    least as large as the electorate)."""
    return committee == 0 or committee >= electorate_size


def is_audited(task_id: int, round_: int, attempt: int, committee_seed: bytes,
               contributor: bytes, audit_ppm: int) -> bool:
    """Whether the update of ``contributor`` is judged by an audit committee."""
    digest = blake2_256(_context(AUDIT_TAG, task_id, round_, attempt, committee_seed,
                                 contributor))
    return int.from_bytes(digest[:4], "little") % PPM < audit_ppm


def committee_size(committee: int, electorate_size: int, audited: bool) -> int:
    """How many judge one update: ``committee``, ``min(3 × committee, electorate)`` when
    audited, the whole electorate in full mode."""
    if full_judging(committee, electorate_size):
        return electorate_size
    return min(AUDIT_FACTOR * committee, electorate_size) if audited else committee


def judge_point(task_id: int, round_: int, attempt: int, committee_seed: bytes,
                contributor: bytes, j: int) -> int:
    """The ``u128`` of judge draw ``j`` (reduced modulo the bond not yet drawn)."""
    digest = blake2_256(_context(JUDGE_TAG, task_id, round_, attempt, committee_seed,
                                 contributor) + _u32(j))
    return int.from_bytes(digest[:16], "little")


def judges(task_id: int, round_: int, attempt: int, committee_seed: bytes, contributor: bytes,
           electorate: Sequence[tuple[bytes, int]], committee: int,
           audit_ppm: int) -> list[bytes]:
    """The judges of ``contributor``'s update, in draw order.

    ``electorate`` is the round's electorate in storage order, each member with the bond it
    joined with. In full mode (:func:`full_judging`) it is every member, in electorate order.
    Members of zero bond are never drawn; if only such members are left the draw stops early.
    """
    if full_judging(committee, len(electorate)):
        return [a for a, _ in electorate]
    audited = is_audited(task_id, round_, attempt, committee_seed, contributor, audit_ppm)
    size = committee_size(committee, len(electorate), audited)
    drawn = [False] * len(electorate)
    remaining = sum(b for _, b in electorate)
    out: list[bytes] = []
    for j in range(size):
        if remaining <= 0:
            break
        point = judge_point(task_id, round_, attempt, committee_seed, contributor, j) % remaining
        running = 0
        for k, (account, bond) in enumerate(electorate):
            if drawn[k]:
                continue
            running += bond
            if running > point:
                drawn[k] = True
                remaining -= bond
                out.append(account)
                break
    return out
