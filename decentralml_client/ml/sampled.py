"""Cohorts and committees in the simulator (docs/committees.md), drawn with the protocol's
own functions (:mod:`decentralml_client.protocol.sampling`).

The simulator has no chain, so it makes up what the chain would hold: 32-byte accounts for the
contributors and validators (hashes of the seed and their index) and, per round, a draw seed
and a committee seed, ``mix_seed`` of a task seed with salts derived from ``--seed`` and the
round (on chain they come from the revealed salts). Each round the cohort is drawn from every
contributor, and each drawn contributor's update gets its judges, by the validators' bonds.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from decentralml_client.hashing import blake2_256
from decentralml_client.ml.errors import MLError
from decentralml_client.protocol import sampling


@dataclass(frozen=True)
class Sampling:
    """A task's cohort, committee and audit share (Permill), and whether the simulator also
    computes what judging by every validator would accept (``compare_full``)."""

    cohort: int = 0
    committee: int = 0
    audit: int = 0
    compare_full: bool = False

    @property
    def active(self) -> bool:
        return self.cohort > 0 or self.committee > 0

    def check(self) -> None:
        if self.cohort < 0 or self.committee < 0:
            raise MLError("--cohort and --committee must not be negative")
        if self.committee > sampling.MAX_COMMITTEE:
            raise MLError(f"a committee is at most {sampling.MAX_COMMITTEE} validators")
        if not 0 <= self.audit <= sampling.MAX_AUDIT_PPM:
            raise MLError("the audit share must be between 0 and 50 %")
        if self.audit and not self.committee:
            raise MLError("an audit share needs a committee")


@dataclass
class Draw:
    """One round's draw: the cohort (contributor indices, ascending), its cut, each member's
    judges (validator indices in draw order; None in full judging) and the audited ones."""

    members: list[int]
    cut: int
    judges: dict[int, list[int]] | None
    audited: list[int] = field(default_factory=list)


def _u32(v: int) -> bytes:
    return struct.pack("<I", v & 0xFFFFFFFF)


class Sampler:
    """The made-up accounts and seeds of a simulated task, and each round's draw."""

    TASK_ID = 0

    def __init__(self, seed: int, contributors: int, validators: int, plan: Sampling) -> None:
        self.plan = plan
        tag = _u32(seed)
        self.contributors = [blake2_256(b"sim:contributor" + tag + _u32(i))
                             for i in range(contributors)]
        self.validators = [blake2_256(b"sim:validator" + tag + _u32(k))
                           for k in range(validators)]
        self._index = {a: k for k, a in enumerate(self.validators)}
        self.seed = blake2_256(b"dml:seed" + _u32(self.TASK_ID) + b"sim" + tag)
        self._tag = tag

    def seeds(self, r: int) -> tuple[bytes, bytes]:
        """Round ``r``'s draw seed and committee seed (the task seed with made-up salts)."""
        draw = sampling.mix_seed(self.seed, blake2_256(b"sim:draw" + self._tag + _u32(r)))
        committee = sampling.mix_seed(draw, blake2_256(b"sim:reveals" + self._tag + _u32(r)))
        return draw, committee

    def draw(self, r: int, bonds: Sequence[int]) -> Draw:
        """Round ``r``'s cohort and committees, with the validators' current ``bonds``."""
        plan = self.plan
        draw_seed, committee_seed = self.seeds(r)
        cut, _ = sampling.draw_cohort(self.TASK_ID, r, 0, draw_seed, self.contributors,
                                      plan.cohort)
        members = [i for i, a in enumerate(self.contributors)
                   if sampling.in_cohort(self.TASK_ID, r, 0, draw_seed, a, cut)]
        if sampling.full_judging(plan.committee, len(self.validators)):
            return Draw(members, cut, None)
        electorate = list(zip(self.validators, bonds, strict=True))
        judges: dict[int, list[int]] = {}
        audited: list[int] = []
        for i in members:
            who = self.contributors[i]
            judges[i] = [self._index[a] for a in sampling.judges(
                self.TASK_ID, r, 0, committee_seed, who, electorate, plan.committee,
                plan.audit)]
            if sampling.is_audited(self.TASK_ID, r, 0, committee_seed, who, plan.audit):
                audited.append(i)
        return Draw(members, cut, judges, audited)


def round_stats(draw: Draw, evaluations: Sequence[int],
                full_accepted: dict[int, bool] | None,
                accepted: dict[int, bool]) -> dict[str, Any]:
    """What a sampled round adds to its history row."""
    out: dict[str, Any] = {
        "cohort": len(draw.members),
        "audited": len(draw.audited),
        "evaluations_mean": round(sum(evaluations) / max(1, len(evaluations)), 3),
        "evaluations_max": max(evaluations, default=0),
        "evaluations": sum(evaluations),
    }
    if full_accepted is not None:
        same = sum(1 for i in draw.members if accepted.get(i, False) == full_accepted.get(i, False))
        out["agree_with_full"] = same
        out["full_accepted"] = sum(1 for i in draw.members if full_accepted.get(i, False))
    return out


def summary(plan: Sampling, history: Sequence[dict[str, Any]], validators: int,
            contributors: int) -> dict[str, Any]:
    """The run's sampling figures: cohort sizes, evaluations per validator, audits and, with
    ``compare_full``, the share of updates whose outcome the committees and the whole
    electorate agree on."""
    rows = [h for h in history if "cohort" in h]
    evals = [h["evaluations"] for h in rows]
    updates = sum(h["cohort"] for h in rows)
    out: dict[str, Any] = {
        "cohort": plan.cohort, "committee": plan.committee, "audit_ppm": plan.audit,
        "full_judging": sampling.full_judging(plan.committee, validators),
        "cohort_sizes": [h["cohort"] for h in rows],
        "updates": updates,
        "audited": sum(h["audited"] for h in rows),
        "evaluations": sum(evals),
        "evaluations_per_validator_per_round_mean": round(
            sum(evals) / max(1, validators * len(rows)), 3),
        "evaluations_per_validator_per_round_max": max(
            (h["evaluations_max"] for h in rows), default=0),
        "evaluations_if_everyone_judged": updates * validators,
        "chain_requires_committee": (plan.committee == 0 and contributors * validators
                                     > sampling.FULL_JUDGING_BUDGET),
    }
    if plan.compare_full:
        agree = sum(h["agree_with_full"] for h in rows)
        out["agreement_with_full"] = agree / updates if updates else 1.0
        out["agreeing_updates"] = agree
    return out
