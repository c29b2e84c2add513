"""A panel of validators for the simulator, each playing a strategy, settled by the pallet's
own rules (:mod:`decentralml_client.protocol.consensus`).

Strategies (``decentralml simulate --validator-strategy``):

* ``honest`` — evaluates every update with :func:`~.acceptance.judge_updates` on its own data
  and measures its probe (:mod:`~.evidence`);
* ``accept-all`` / ``reject-all`` — evaluates nothing; all verdicts one way, with a guessed
  score (last round's mean consensus score, public on chain) and a guessed probe (last
  round's median consensus probe);
* ``random`` — coin-flip verdicts, uniform random scores and probes;
* ``copy`` — votes are sealed, so the best a copier can do is to replay the last *public*
  consensus: for each contributor **account**, what last round's consensus said of it
  (accepted or not, its consensus score and probe);
* ``silent`` — never votes (and never attests).

None of the non-evaluating strategies can produce this round's probes, so their verdicts are
unevidenced: they earn nothing and cost bond (:mod:`decentralml_client.protocol.consensus`).

Every validator that votes attests the proposed aggregate (the non-evaluating ones blindly).

With committees (``judges``: each update's validators, docs/committees.md) a validator votes
on, and evaluates, only the updates it judges, and the round is settled with the committee
rules; ``compare_full`` also has every validator judge every update (off the record) to tell
how often a committee's outcome is the whole electorate's.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from decentralml_client.ml.acceptance import AcceptancePolicy, judge_updates
from decentralml_client.ml.attacks import PublicHistory
from decentralml_client.ml.errors import MLError
from decentralml_client.ml.evidence import Prober
from decentralml_client.ml.model_spec import ModelSpec
from decentralml_client.protocol.consensus import (
    Constants,
    Verdict,
    VoteRecord,
    consensus,
    quorum_stake,
    settle_round,
)

STRATEGIES = ("honest", "accept-all", "reject-all", "random", "copy", "silent")
AGGREGATE = "aggregate"  # the (single, deterministic) aggregate every honest party computes


@dataclass(frozen=True)
class Economics:
    """A task's economic parameters in the simulator (defaults like ``task create``'s)."""

    validator_bond: int = 1_000_000
    reward_per_round: int = 1_000_000
    validator_share: int = 300_000  # Permill
    quorum: int = 666_666  # Permill of the electorate stake (2/3 rounded down)
    min_contributors: int = 1
    max_examples: int = 10_000
    min_improvement: int = 0  # basis points
    constants: Constants = field(default_factory=Constants)


def expand_strategies(strategies: Sequence[str], validators: int) -> list[str]:
    """One strategy per validator: a single value applies to all."""
    if validators < 1:
        raise MLError("need at least one validator")
    items = list(strategies) or ["honest"]
    if len(items) == 1:
        items = items * validators
    if len(items) != validators:
        raise MLError(f"{len(items)} validator strategies for {validators} validators")
    for s in items:
        if s not in STRATEGIES:
            raise MLError(f"unknown validator strategy {s!r}; choose from {STRATEGIES}")
    return items


@dataclass(frozen=True)
class Outcome:
    """What a round's public consensus said of one contributor account."""

    accepted: bool
    score: int
    probe: int


def strategy_verdicts(
    strategy: str,
    submissions: Sequence[int],
    honest: Callable[[], list[Verdict]],
    rng: np.random.Generator,
    last: Mapping[int, Outcome],
) -> list[Verdict] | None:
    """The verdicts ``(submission, accept, score, probe)`` a validator playing ``strategy``
    casts (None: it stays silent). ``honest`` evaluates; the others never call it. ``last``
    maps each of this round's submissions to the previous round's public outcome for the
    same contributor account (absent: the account had no update then)."""
    if strategy == "silent":
        return None
    if strategy == "honest":
        return honest()
    outcomes = list(last.values())
    guess = int(np.mean([o.score for o in outcomes])) if outcomes else 1_000
    probe = int(np.median([o.probe for o in outcomes])) if outcomes else 0
    if strategy == "accept-all":
        return [(i, True, guess, probe) for i in submissions]
    if strategy == "reject-all":
        return [(i, False, guess, probe) for i in submissions]
    if strategy == "random":
        return [(i, bool(rng.random() < 0.5), int(rng.integers(0, 10_001)),
                 int(rng.integers(0, 2**31))) for i in submissions]
    if strategy == "copy":
        return [(i, last[i].accepted, last[i].score, last[i].probe) if i in last
                else (i, True, guess, probe) for i in submissions]
    raise MLError(f"unknown validator strategy {strategy!r}; choose from {STRATEGIES}")


@dataclass
class RoundVerdict:
    success: bool
    accepted: dict[int, bool]
    contributor_pay: dict[int, int]
    reasons: list[str]
    scores: dict[int, int] = field(default_factory=dict)  # consensus score per update
    evaluations: list[int] = field(default_factory=list)  # updates each validator judged
    full_accepted: dict[int, bool] | None = None  # what every validator judging would accept


class ValidatorPanel:
    """The validators of a simulated task, their bonds and earnings across rounds."""

    def __init__(self, strategies: Sequence[str], data: Sequence[tuple[NDArray[Any], NDArray[Any]]],
                 economics: Economics, rng: np.random.Generator) -> None:
        self.strategies = list(strategies)
        self.data = list(data)
        self.econ = economics
        self.rng = rng
        self.bonds = [economics.validator_bond] * len(strategies)
        self.rewards = [0] * len(strategies)
        self.slashed = [0] * len(strategies)
        self.qualities: list[list[int]] = [[] for _ in strategies]
        self.round_rewards: list[list[int]] = [[] for _ in strategies]
        self._last: dict[int, Outcome] = {}  # contributor account -> last public outcome
        self._full_rng = np.random.default_rng(0xF011)  # the off-record full judging's
        self.joined = list(self.bonds)  # the bonds they joined with (committee weights)

    def _vote(self, k: int, model_spec: ModelSpec, base: Sequence[NDArray[Any]],
              candidates: Mapping[int, Any], previous_step: Sequence[NDArray[Any]] | None,
              history: PublicHistory, probes: Mapping[int, int],
              ) -> tuple[list[Verdict] | None, list[str]]:
        reasons: list[str] = []

        def honest() -> list[Verdict]:
            x, y = self.data[k]
            policy = AcceptancePolicy(min_improvement=self.econ.min_improvement)
            judged = judge_updates(model_spec, base, candidates, x, y, policy=policy,
                                   previous_step=previous_step, history=history.deltas(),
                                   not_own={i: history.not_own(i) for i in candidates})
            reasons.extend(f"validator {k}: update {i}: {j.reason}"
                           for i, j in judged.items() if j.reason)
            return [(i, j.accept, j.score, probes[i]) for i, j in judged.items()]

        # In the simulator a submission's index is its contributor's account.
        last = {i: self._last[i] for i in candidates if i in self._last}
        verdicts = strategy_verdicts(self.strategies[k], sorted(candidates), honest, self.rng,
                                     last)
        return verdicts, reasons

    def play_round(self, model_spec: ModelSpec, base: Sequence[NDArray[Any]],
                   candidates: Mapping[int, Any],
                   previous_step: Sequence[NDArray[Any]] | None,
                   history: PublicHistory | None = None,
                   probe_seed: bytes = b"", judges: Mapping[int, Sequence[int]] | None = None,
                   compare_full: bool = False) -> RoundVerdict:
        """Every validator votes on ``candidates`` (index → delta or error; in the simulator
        an index is its contributor's account); the round is settled with the pallet's rules.
        ``history``: what earlier rounds made public. ``judges``: each candidate's validators
        (committees; None: every validator judges every candidate)."""
        history = history or PublicHistory()
        econ = self.econ
        prober = Prober(model_spec, base, probe_seed)
        probes = {i: prober.probe(c) for i, c in candidates.items()}
        votes, reasons, evaluations = {}, [], []
        for k in range(len(self.strategies)):
            mine = (candidates if judges is None
                    else {i: c for i, c in candidates.items() if k in judges.get(i, ())})
            v, why = self._vote(k, model_spec, base, mine, previous_step, history, probes)
            votes[k] = v
            reasons += why
            evaluations.append(len(mine))
        revealed = sorted(candidates)
        keyed = (None if judges is None
                 else {i: [str(k) for k in judges.get(i, ())] for i in revealed})
        full = (self._full_outcome(model_spec, base, candidates, previous_step, history,
                                   probes) if compare_full else None)
        # With committees a member weighs what it joined with (the pallet's electorate weight;
        # slashes cut its bond, not its vote); the full-judging simulation keeps its bond.
        weight = self.bonds if judges is None else self.joined
        electorate = {str(k): VoteRecord(weight[k], votes[k]) for k in votes}
        c = consensus(revealed, electorate, econ.quorum, econ.constants, keyed)
        n_accepted = sum(c.accepted.values())
        adopted = None
        if n_accepted >= econ.min_contributors:
            attest_stake = sum(weight[k] for k in votes if votes[k] is not None)
            e_stake = sum(weight)
            if e_stake and attest_stake >= quorum_stake(econ.quorum, e_stake):
                adopted = AGGREGATE
        electorate = {
            str(k): VoteRecord(weight[k], votes[k],
                               attested=AGGREGATE if votes[k] is not None else None)
            for k in votes
        }
        s = settle_round(revealed=revealed, unrevealed={}, electorate=electorate,
                         quorum_ppm=econ.quorum, min_contributors=econ.min_contributors,
                         reward=econ.reward_per_round, validator_share_ppm=econ.validator_share,
                         adopted=adopted, min_validators=1, constants=econ.constants,
                         judges=keyed)
        for k in range(len(self.strategies)):
            key = str(k)
            cut = min(self.bonds[k], s.slashes.get(key, 0))
            self.bonds[k] -= cut
            self.slashed[k] += cut
            self.rewards[k] += s.validator_pay.get(key, 0)
            self.round_rewards[k].append(s.validator_pay.get(key, 0))
            if key in s.quality:
                self.qualities[k].append(s.quality[key])
        self._last = {i: Outcome(c.accepted[i], c.scores[i], c.probes[i]) for i in revealed}
        return RoundVerdict(s.success, dict(c.accepted), dict(s.contributor_pay), reasons,
                            dict(c.scores), evaluations, full)

    def _full_outcome(self, model_spec: ModelSpec, base: Sequence[NDArray[Any]],
                      candidates: Mapping[int, Any],
                      previous_step: Sequence[NDArray[Any]] | None, history: PublicHistory,
                      probes: Mapping[int, int]) -> dict[int, bool]:
        """What the round's consensus would accept were every validator to judge every
        candidate (nothing recorded; the random strategies draw from their own generator)."""
        rng, self.rng = self.rng, self._full_rng
        try:
            votes = {str(k): VoteRecord(self.joined[k], self._vote(
                k, model_spec, base, candidates, previous_step, history, probes)[0])
                for k in range(len(self.strategies))}
        finally:
            self.rng = rng
        return dict(consensus(sorted(candidates), votes, self.econ.quorum,
                              self.econ.constants).accepted)

    def report(self) -> list[dict[str, Any]]:
        return [
            {
                "index": k,
                "strategy": self.strategies[k],
                "reward": self.rewards[k],
                "bond": self.bonds[k],
                "slashed": self.slashed[k],
                "mean_quality": (int(np.mean(self.qualities[k])) if self.qualities[k] else 0),
                "round_rewards": list(self.round_rewards[k]),
            }
            for k in range(len(self.strategies))
        ]
