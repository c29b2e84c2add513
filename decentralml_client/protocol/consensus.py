"""Consensus and settlement of a round: the pallet's rules in integer arithmetic.

This module mirrors the DecentralMl pallet's consensus and settlement exactly (same integer
operations, same rounding), so the simulator predicts what the chain pays; the shared vectors
in ``chain/pallets/decentralml/vectors/`` are checked against both (the pallet's
``tests::vectors`` and ``tests/protocol/test_vectors.py``). The rules, argued in
``docs/protocol.md``:

* an update is **accepted** when the bonded stake behind its accept verdicts reaches the
  quorum (rounded up) of the round's electorate stake — stake, not heads, so splitting one
  bond over many accounts changes nothing;
* every verdict carries a **probe** (:mod:`decentralml_client.ml.evidence`), evidence that the
  validator fetched and ran this round's update; a verdict is **evidenced** when its probe is
  within ``probe_tolerance`` (ppm of the median, at least ``probe_floor``) of the bond-weighted
  median probe of the update. A vote replayed from public history, or cast without
  downloading, carries no such evidence;
* an update's **consensus score** is the bond-weighted (lower) median of the *evidenced*
  verdicts' scores, so validators that did not evaluate cannot set it;
* a validator's **quality** is ``agreement² × closeness`` where agreement is the share of its
  verdicts that are evidenced and on the consensus side, and closeness falls linearly to zero
  as its scores move ``score_tolerance`` basis points from the consensus scores (clipped, as
  Yuma clips weights above the median; an unevidenced verdict is as far as it can be);
* the validator pool is split by ``bond × quality`` among validators that attested the
  adopted model; the contributor pool by consensus score among accepted updates;
* silence (no revealed vote), losing or unevidenced verdicts and backing a losing aggregate
  cost bond.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from decentralml_client.units import PERMILL

PPM = PERMILL

MAX_SCORE = 10_000

Verdict = tuple[int, bool, int, int]  # (submission, accept, score in basis points, probe)
Verdicts = Sequence[Verdict]


@dataclass(frozen=True)
class Constants:
    """The runtime constants the settlement depends on (defaults: the dev runtime's)."""

    silence_slash: int = 100_000  # Permill of the bond
    verdict_slash: int = 50_000  # Permill of the bond, times the share of losing verdicts
    losing_attest_slash: int = 50_000  # Permill of the bond
    score_tolerance: int = 1_000  # basis points
    probe_tolerance: int = 1_000  # Permill of the median probe (ProbeTolerance)
    probe_floor: int = 1_000  # probe units (ProbeFloor)


def mul_floor(ppm: int, value: int) -> int:
    return value * ppm // PPM


def quorum_stake(quorum_ppm: int, electorate_stake: int) -> int:
    """``Permill::mul_ceil``: the stake an update's accept verdicts (or an aggregate's
    attestations) must reach."""
    return -(-electorate_stake * quorum_ppm // PPM)


def is_accepted(accept_stake: int, quorum_ppm: int, electorate_stake: int) -> bool:
    """Whether an update with ``accept_stake`` behind its accept verdicts is accepted."""
    return electorate_stake > 0 and accept_stake >= quorum_stake(quorum_ppm, electorate_stake)


def aggregated(accepted: Sequence[int], scores: Mapping[int, int]) -> list[int]:
    """The updates that enter the round's aggregate: the accepted ones whose consensus score
    (their fresh value) is positive — "accepted" means it helps, so an update that adds
    nothing beyond public history (a perturbed copy, a history mix) is not averaged in even
    when no validator refused it. When no accepted update has a positive score, all accepted
    ones enter (the round still moves the model; nobody is paid for it)."""
    ids = sorted(accepted)
    valued = [i for i in ids if scores.get(i, 0) > 0]
    return valued or ids


def weighted_median(values: Sequence[int], weights: Sequence[int]) -> int:
    """The weighted lower median: the smallest value at which the cumulative weight reaches
    half of the total (``2·cum ≥ total``). Ties keep input order (the result is the same)."""
    if not values:
        return 0
    total = sum(weights)
    if total <= 0:
        weights = [1] * len(values)
        total = len(values)
    cum = 0
    for v, w in sorted(zip(values, weights, strict=False), key=lambda vw: vw[0]):
        cum += w
        if 2 * cum >= total:
            return v
    return max(values)


@dataclass(frozen=True)
class VoteRecord:
    """One electorate member's part in a round attempt."""

    bond: int
    verdicts: Verdicts | None = None  # the revealed vote; None = silent
    attested: str | None = None  # hash it attested
    proposed: str | None = None  # hash it proposed


@dataclass
class RoundSettlement:
    """What finalising (or failing) a round attempt does."""

    success: bool
    accepted: dict[int, bool] = field(default_factory=dict)
    consensus_scores: dict[int, int] = field(default_factory=dict)
    quality: dict[str, int] = field(default_factory=dict)  # validator -> ppm
    validator_pay: dict[str, int] = field(default_factory=dict)
    contributor_pay: dict[int, int] = field(default_factory=dict)  # submission -> amount
    slashes: dict[str, int] = field(default_factory=dict)  # account -> amount

    @property
    def paid(self) -> int:
        return sum(self.validator_pay.values()) + sum(self.contributor_pay.values())


@dataclass(frozen=True)
class Consensus:
    """The consensus of a round's revealed votes."""

    accepted: dict[int, bool]
    scores: dict[int, int]  # consensus score (median of evidenced scores)
    probes: dict[int, int]  # consensus probe (median of all probes)
    accept_stake: dict[int, int]


def evidenced(probe: int, median: int, constants: Constants = Constants()) -> bool:
    """Whether a verdict's probe matches the consensus probe (the pallet's rule)."""
    return abs(probe - median) <= max(constants.probe_floor,
                                      mul_floor(constants.probe_tolerance, median))


def consensus(
    revealed: Sequence[int],
    electorate: Mapping[str, VoteRecord],
    quorum_ppm: int,
    constants: Constants = Constants(),
) -> Consensus:
    """Acceptance, consensus score, consensus probe and accept stake per revealed submission."""
    e_stake = sum(r.bond for r in electorate.values())
    accept_stake = {i: 0 for i in revealed}
    votes: dict[int, list[tuple[int, int, int]]] = {i: [] for i in revealed}  # score, probe, bond
    for rec in electorate.values():
        if rec.verdicts is None:
            continue
        for sub, accept, score, probe in rec.verdicts:
            if sub in accept_stake:
                if accept:
                    accept_stake[sub] += rec.bond
                votes[sub].append((score, probe, rec.bond))
    accepted = {i: is_accepted(accept_stake[i], quorum_ppm, e_stake) for i in revealed}
    probes = {i: weighted_median([p for _, p, _ in votes[i]], [b for _, _, b in votes[i]])
              for i in revealed}
    scores = {}
    for i in revealed:
        good = [(s, b) for s, p, b in votes[i] if evidenced(p, probes[i], constants)]
        scores[i] = weighted_median([s for s, _ in good], [b for _, b in good])
    return Consensus(accepted, scores, probes, accept_stake)


def validator_quality(verdicts: Verdicts, c: Consensus,
                      constants: Constants = Constants()) -> tuple[int, int]:
    """``(quality ppm, losing or unevidenced verdicts)`` of one revealed vote."""
    n = len(c.accepted)
    if n == 0:
        return 0, 0
    tolerance = max(1, constants.score_tolerance)
    matches, dev = 0, 0
    for sub, accept, score, probe in verdicts:
        if sub not in c.accepted:
            continue
        if evidenced(probe, c.probes[sub], constants):
            if accept == c.accepted[sub]:
                matches += 1
            dev += min(abs(score - c.scores[sub]), tolerance)
        else:
            dev += tolerance
    agreement = matches * PPM // n
    closeness = PPM - dev * PPM // (n * tolerance)
    return agreement * agreement // PPM * closeness // PPM, n - matches


def settle_round(
    *,
    revealed: Sequence[int],
    unrevealed: Mapping[str, int],
    electorate: Mapping[str, VoteRecord],
    quorum_ppm: int,
    min_contributors: int,
    reward: int,
    validator_share_ppm: int,
    adopted: str | None,
    min_validators: int = 1,
    constants: Constants = Constants(),
) -> RoundSettlement:
    """Settle one round attempt.

    ``revealed`` are the revealed submission indices, ``unrevealed`` maps contributors that
    committed without revealing to their bond,
    ``electorate`` maps each member of the round's electorate to its record, ``adopted`` is
    the adopted aggregate hash (None if none was). The round succeeds when a hash was adopted,
    at least ``min_contributors`` updates were accepted and at least ``min_validators``
    validators revealed a vote. Silence costs bond only once the attempt reached the vote
    (at least ``min_contributors`` updates revealed); every slash is capped by the bond left.
    """
    out = RoundSettlement(success=False)
    slashes: dict[str, int] = {}
    bonds = {who: rec.bond for who, rec in electorate.items()} | dict(unrevealed)

    def slash(who: str, amount: int) -> None:
        amount = min(amount, bonds[who] - slashes.get(who, 0))
        if amount > 0:
            slashes[who] = slashes.get(who, 0) + amount

    for who, bond in unrevealed.items():
        slash(who, mul_floor(constants.silence_slash, bond))
    c = consensus(revealed, electorate, quorum_ppm, constants)
    accepted, medians = c.accepted, c.scores
    out.accepted, out.consensus_scores = accepted, medians
    n = len(revealed)
    reached_vote = n >= min_contributors
    voters = 0
    for who, rec in electorate.items():
        if rec.verdicts is None:
            if reached_vote:
                slash(who, mul_floor(constants.silence_slash, rec.bond))
        else:
            voters += 1
            q, wrong = validator_quality(rec.verdicts, c, constants)
            out.quality[who] = q
            if n:
                slash(who, rec.bond * wrong * constants.verdict_slash // (n * PPM))
        if adopted is not None and (
            (rec.attested is not None and rec.attested != adopted)
            or (rec.proposed is not None and rec.proposed != adopted)
        ):
            slash(who, mul_floor(constants.losing_attest_slash, rec.bond))
    out.slashes = slashes
    n_accepted = sum(accepted.values())
    if adopted is None or n_accepted < min_contributors or voters < min_validators:
        return out
    out.success = True
    v_pool = mul_floor(validator_share_ppm, reward)
    c_pool = reward - v_pool
    weights = {who: electorate[who].bond * q for who, q in out.quality.items()
               if electorate[who].attested == adopted}
    total_w = sum(weights.values())
    if total_w:
        out.validator_pay = {who: v_pool * w // total_w for who, w in weights.items()
                             if v_pool * w // total_w > 0}
    winners = [i for i in revealed if accepted[i]]
    cw = {i: medians[i] for i in winners}
    if sum(cw.values()) == 0:
        cw = {i: 1 for i in winners}
    total_c = sum(cw.values())
    out.contributor_pay = {i: c_pool * w // total_c for i, w in cw.items()
                           if c_pool * w // total_c > 0}
    return out
