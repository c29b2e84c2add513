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

With **committees** (``docs/committees.md``; the judges drawn by
:mod:`decentralml_client.protocol.sampling`), ``judges`` maps each revealed submission to the
validators that judge it: only their verdicts count, an update is accepted when its accept
stake reaches the quorum of *its judges'* stake, its medians are over its judges' verdicts, a
validator's quality and verdict slash count the ``n_v`` submissions it judges (an omitted
verdict is an unevidenced one) and the validator pool is split by ``Q_v × n_v``. Without
``judges`` (``None``) every member judges every update, as above.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
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


def committee_accepts(accept_stake: int, quorum_ppm: int, judge_bonds: Iterable[int]) -> bool:
    """Whether an update judged by a committee is accepted: its accept stake is positive and
    reaches the quorum (rounded up) of its judges' stake (``judge_bonds``, the bonds its judges
    joined with)."""
    stake = sum(judge_bonds)
    return accept_stake > 0 and is_accepted(accept_stake, quorum_ppm, stake)


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
    # With committees: each revealed submission's judges and their stake (None: everyone).
    judges: Mapping[int, frozenset[str]] | None = None
    committee_stake: dict[int, int] = field(default_factory=dict)

    def assigned(self, who: str) -> list[int]:
        """The revealed submissions ``who`` judges (every one without committees)."""
        if self.judges is None:
            return list(self.accepted)
        return [i for i in self.accepted if who in self.judges.get(i, ())]


def evidenced(probe: int, median: int, constants: Constants = Constants()) -> bool:
    """Whether a verdict's probe matches the consensus probe (the pallet's rule)."""
    return abs(probe - median) <= max(constants.probe_floor,
                                      mul_floor(constants.probe_tolerance, median))


def consensus(
    revealed: Sequence[int],
    electorate: Mapping[str, VoteRecord],
    quorum_ppm: int,
    constants: Constants = Constants(),
    judges: Mapping[int, Sequence[str]] | None = None,
) -> Consensus:
    """Acceptance, consensus score, consensus probe and accept stake per revealed submission.

    ``judges`` (committees): each revealed submission's judges, keys of ``electorate``; only
    their verdicts on it count, and it is accepted by the quorum of their stake."""
    if judges is not None:
        return _committee_consensus(revealed, electorate, quorum_ppm, constants, judges)
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


def _medians(votes: list[tuple[int, int, int]], constants: Constants) -> tuple[int, int]:
    """``(probe median, score median of the evidenced)`` of ``(score, probe, bond)`` votes."""
    probe = weighted_median([p for _, p, _ in votes], [b for _, _, b in votes])
    good = [(s, b) for s, p, b in votes if evidenced(p, probe, constants)]
    return probe, weighted_median([s for s, _ in good], [b for _, b in good])


def _committee_consensus(revealed: Sequence[int], electorate: Mapping[str, VoteRecord],
                         quorum_ppm: int, constants: Constants,
                         judges: Mapping[int, Sequence[str]]) -> Consensus:
    """:func:`consensus` with committees: per submission over its judges only."""
    of = {i: frozenset(w for w in judges.get(i, ()) if w in electorate) for i in revealed}
    stake = {i: sum(electorate[w].bond for w in of[i]) for i in revealed}
    accept_stake = {i: 0 for i in revealed}
    votes: dict[int, list[tuple[int, int, int]]] = {i: [] for i in revealed}
    for who, rec in electorate.items():
        seen: set[int] = set()
        for sub, accept, score, probe in rec.verdicts or ():
            if sub in of and who in of[sub] and sub not in seen:
                seen.add(sub)
                if accept:
                    accept_stake[sub] += rec.bond
                votes[sub].append((score, probe, rec.bond))
    accepted = {i: accept_stake[i] > 0 and is_accepted(accept_stake[i], quorum_ppm, stake[i])
                for i in revealed}
    medians = {i: _medians(votes[i], constants) for i in revealed}
    return Consensus(accepted, {i: m[1] for i, m in medians.items()},
                     {i: m[0] for i, m in medians.items()}, accept_stake, of, stake)


def validator_quality(verdicts: Verdicts, c: Consensus, constants: Constants = Constants(),
                      assigned: Collection[int] | None = None) -> tuple[int, int]:
    """``(quality ppm, losing or unevidenced verdicts)`` of one revealed vote.

    ``assigned`` (committees): the revealed submissions the voter judges (``n_v`` of them);
    only verdicts on them count and a missing one is unevidenced. Without it, the vote covers
    every revealed submission."""
    if assigned is not None:
        return _committee_quality(verdicts, c, constants, assigned)
    n = len(c.accepted)
    if n == 0:
        return 0, 0
    tolerance = max(1, constants.score_tolerance)
    matches, dev = _scored([v for v in verdicts if v[0] in c.accepted], c, constants, tolerance)
    return _quality(matches, dev, n, tolerance), n - matches


def _scored(verdicts: Iterable[Verdict], c: Consensus, constants: Constants,
            tolerance: int) -> tuple[int, int]:
    """``(matches, deviation)`` of verdicts on revealed submissions: an evidenced verdict
    matches when it agrees with the outcome and deviates by its capped score distance; an
    unevidenced one deviates by the whole tolerance."""
    matches, dev = 0, 0
    for sub, accept, score, probe in verdicts:
        if evidenced(probe, c.probes[sub], constants):
            if accept == c.accepted[sub]:
                matches += 1
            dev += min(abs(score - c.scores[sub]), tolerance)
        else:
            dev += tolerance
    return matches, dev


def _quality(matches: int, dev: int, n: int, tolerance: int) -> int:
    agreement = matches * PPM // n
    closeness = PPM - dev * PPM // (n * tolerance)
    return agreement * agreement // PPM * closeness // PPM


def _committee_quality(verdicts: Verdicts, c: Consensus, constants: Constants,
                       assigned: Collection[int]) -> tuple[int, int]:
    mine = {i for i in assigned if i in c.accepted}
    n = len(mine)
    if n == 0:
        return 0, 0
    tolerance = max(1, constants.score_tolerance)
    given: dict[int, Verdict] = {}
    for v in verdicts:
        if v[0] in mine:
            given.setdefault(v[0], v)
    matches, dev = _scored(given.values(), c, constants, tolerance)
    dev += tolerance * (n - len(given))  # an omitted verdict: unevidenced
    return _quality(matches, dev, n, tolerance), n - matches


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
    judges: Mapping[int, Sequence[str]] | None = None,
) -> RoundSettlement:
    """Settle one round attempt.

    ``revealed`` are the revealed submission indices, ``unrevealed`` maps contributors that
    committed without revealing to their bond,
    ``electorate`` maps each member of the round's electorate to its record, ``adopted`` is
    the adopted aggregate hash (None if none was). The round succeeds when a hash was adopted,
    at least ``min_contributors`` updates were accepted and at least ``min_validators``
    validators revealed a vote. Silence costs bond only once the attempt reached the vote
    (at least ``min_contributors`` updates revealed); every slash is capped by the bond left.
    ``judges`` (committees, see :func:`consensus`): each revealed submission's judges; a
    validator's verdict slash and quality then count its ``n_v`` assigned submissions and the
    validator pool is split by ``Q_v × n_v``.
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
    c = consensus(revealed, electorate, quorum_ppm, constants, judges)
    accepted, medians = c.accepted, c.scores
    out.accepted, out.consensus_scores = accepted, medians
    n = len(revealed)
    reached_vote = n >= min_contributors
    voters = 0
    work: dict[str, int] = {}  # n_v per voter (committees)
    for who, rec in electorate.items():
        if rec.verdicts is None:
            if reached_vote:
                slash(who, mul_floor(constants.silence_slash, rec.bond))
        else:
            voters += 1
            mine = None if judges is None else c.assigned(who)
            n_v = n if mine is None else len(mine)
            q, wrong = validator_quality(rec.verdicts, c, constants, mine)
            out.quality[who], work[who] = q, n_v
            if n_v:
                slash(who, rec.bond * wrong * constants.verdict_slash // (n_v * PPM))
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
    weights = {who: (electorate[who].bond if judges is None else work[who]) * q
               for who, q in out.quality.items() if electorate[who].attested == adopted}
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
