"""What each attack on a task costs the attacker and what it gains, from the runtime's constants.

Pure computation (no chain, no IPFS): the runtime constants come from the pallet metadata in
``pallet-abi/decentralml.json`` when it carries the v2 constants, otherwise from the runtime
source (``chain/runtime/src/lib.rs``); every round is settled with the client's copy of the
pallet's rules, ``decentralml_client.protocol.consensus`` (integer arithmetic, the pallet's
rounding), on the fixed scenario of ``tests/protocol/test_consensus.py``: four updates, the
last one poisoned.

Default task: 100 DML per round, validator share 20 %, bonds at the runtime floors
(``MinContributorBond``, ``MinValidatorBond``), quorum 2/3 of the electorate stake, three
honest validators (plus the attacker where it is a validator).

    uv run --frozen python bench/attack_costs.py [--markdown]

``--markdown`` also writes ``bench/results/attack_costs.md``. Amounts are per round unless a
row says otherwise; "net vs honest" is what the attacker ends with compared with playing the
same role honestly in the same round.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from decentralml_client.ml.aggregate import effective_examples  # noqa: E402
from decentralml_client.protocol.consensus import (  # noqa: E402
    PPM,
    Constants,
    RoundSettlement,
    VoteRecord,
    consensus,
    settle_round,
)

RUNTIME_SRC = ROOT / "chain" / "runtime" / "src" / "lib.rs"
ABI = ROOT / "pallet-abi" / "decentralml.json"
OUT = ROOT / "bench" / "results" / "attack_costs.md"

UNIT = 10**12  # plancks per DML (12 decimals)
NEEDED = ("MinContributorBond", "MinValidatorBond", "MaxRetries", "SilenceSlash",
          "VerdictSlash", "LosingAttestSlash", "ScoreTolerance", "TaskDeposit",
          "MinValidatorStake", "MaxPhaseBlocks")
# The evidence rule's constants; a runtime or metadata without them uses the client's defaults.
OPTIONAL = {"ProbeTolerance": Constants().probe_tolerance, "ProbeFloor": Constants().probe_floor}
PERMILL = ("SilenceSlash", "VerdictSlash", "LosingAttestSlash", "ProbeTolerance")

# The default task of the table.
REWARD = 100 * UNIT
VALIDATOR_SHARE = 200_000  # ppm
QUORUM = 666_667  # ppm: 2/3, Permill rounds down so 2 of 3 equal bonds reach it
PHASE_BLOCKS = 50  # the CLI's default length of each phase
PHASES_PER_ATTEMPT = 5  # Commit, Reveal, VoteCommit, VoteReveal, Aggregate
BLOCK_SECONDS = 6
FEE_PER_CALL = 8 * UNIT // 10_000  # ≈ 0.0008 DML per extrinsic (docs/chain.md §1)

# tests/protocol/test_consensus.py's scenario: submission 3 is poisoned. Verdicts are
# (submission, accept, score, probe); every validator below measured this round's probe P
# (the deviant ones too: they lose by their verdicts alone, even with evidence), except the
# replaying validator, which evaluates nothing and carries last round's probe.
P = 250_000
LAST_ROUND_PROBE = 190_000
REVEALED = [0, 1, 2, 3]
HONEST = {
    "honest1": [(0, True, 3000, P), (1, True, 2800, P), (2, True, 2600, P), (3, False, 0, P)],
    "honest2": [(0, True, 3100, P), (1, True, 2700, P), (2, True, 2600, P), (3, False, 0, P)],
    "honest3": [(0, True, 2900, P), (1, True, 2900, P), (2, True, 2500, P), (3, False, 0, P)],
}
DEVIANT = {
    "accept-all": [(0, True, 5000, P), (1, True, 5000, P), (2, True, 5000, P),
                   (3, True, 5000, P)],
    "reject-all": [(0, False, 0, P), (1, False, 0, P), (2, False, 0, P), (3, False, 0, P)],
    "random": [(0, True, 1200, P), (1, False, 9000, P), (2, True, 400, P), (3, True, 7000, P)],
}
# Replays the public consensus (right verdicts, consensus scores) without evaluating.
REPLAY = [(0, True, 3000, LAST_ROUND_PROBE), (1, True, 2800, LAST_ROUND_PROBE),
          (2, True, 2600, LAST_ROUND_PROBE), (3, False, 0, LAST_ROUND_PROBE)]
ADOPTED = "agg"


# --- constants -------------------------------------------------------------------------------

def _int(value: Any) -> int:
    if isinstance(value, str):
        return int(value, 16) if value.startswith("0x") else int(value)
    return int(value)


def constants_from_metadata(path: Path = ABI) -> dict[str, int] | None:
    """The runtime constants from the committed metadata, or None when it lacks any we need
    (a metadata file generated before protocol v2)."""
    try:
        from decentralml_client.chain.abi import load
        abi = load(path)
    except (OSError, ValueError):
        return None
    values = {c["name"]: c.get("value") for c in abi.get("constants", [])}
    if not all(name in values and values[name] is not None for name in NEEDED):
        return None
    return {name: _int(values[name]) for name in (*NEEDED, *OPTIONAL)
            if values.get(name) is not None}


def constants_from_source(path: Path = RUNTIME_SRC) -> dict[str, int]:
    """The runtime constants parsed from the runtime's ``parameter_types!`` and its
    ``impl pallet_decentralml::Config`` (``ConstU32<N>``)."""
    src = path.read_text()
    units = {"UNIT": UNIT, "MILLI_UNIT": UNIT // 1000}

    def balance(expr: str) -> int:
        total = 1
        for factor in expr.replace("_", "").split("*"):
            factor = factor.strip()
            total *= units[factor] if factor in units else int(factor)
        return total

    out: dict[str, int] = {}
    for name in (*NEEDED, *OPTIONAL):
        m = re.search(rf"pub const {name}: [\w:]+ = ([^;]+);", src)
        if m:
            expr = m.group(1).strip()
            pct = re.search(r"Permill::from_percent\((\d+)\)", expr)
            ppm = re.search(r"Permill::from_parts\((\d[\d_]*)\)", expr)
            if pct:
                out[name] = int(pct.group(1)) * 10_000
            elif ppm:
                out[name] = int(ppm.group(1).replace("_", ""))
            else:
                out[name] = balance(expr)
            continue
        m = re.search(rf"type {name} = ConstU32<([\d_]+)>;", src)
        if m:
            out[name] = int(m.group(1).replace("_", ""))
            continue
        if name in OPTIONAL:
            continue
        raise SystemExit(f"{path}: cannot find the runtime constant {name}")
    return out


def runtime_constants() -> tuple[dict[str, int], str]:
    """``(constants, where they came from)``: metadata first, the runtime source otherwise."""
    from_metadata = constants_from_metadata()
    if from_metadata is not None:
        return from_metadata, "pallet metadata (pallet-abi/decentralml.json)"
    return constants_from_source(), ("runtime source (chain/runtime/src/lib.rs; "
                                     "pallet-abi/decentralml.json predates protocol v2)")


# --- the table -------------------------------------------------------------------------------

@dataclass(frozen=True)
class Row:
    key: str
    attack: str
    cost: int  # plancks the attacker loses (slashes + forgone pay + fees), per round
    cost_text: str
    gain: int  # plancks the attacker gains over honest play (<= 0: the attack does not pay)
    gain_text: str
    outcome: str
    slashed: int = 0  # plancks of the attacker's bond moved to the escrow, per round


def dml(plancks: int) -> str:
    """Plancks as DML, without trailing zeros."""
    sign = "-" if plancks < 0 else ""
    whole, frac = divmod(abs(plancks), UNIT)
    text = f"{whole}.{frac:012d}".rstrip("0").rstrip(".")
    return f"{sign}{text} DML"


def pct(ppm: int) -> str:
    return f"{ppm / 10_000:g} %"


def settle(electorate: Mapping[str, VoteRecord], k: Mapping[str, int], *,
           revealed: Sequence[int] = REVEALED, unrevealed: Mapping[str, int] | None = None,
           adopted: str | None = ADOPTED) -> RoundSettlement:
    return settle_round(
        revealed=revealed, unrevealed=unrevealed or {}, electorate=electorate,
        quorum_ppm=QUORUM, min_contributors=1, reward=REWARD,
        validator_share_ppm=VALIDATOR_SHARE, adopted=adopted, min_validators=1,
        constants=Constants(silence_slash=k["SilenceSlash"], verdict_slash=k["VerdictSlash"],
                            losing_attest_slash=k["LosingAttestSlash"],
                            score_tolerance=k["ScoreTolerance"],
                            probe_tolerance=k.get("ProbeTolerance", OPTIONAL["ProbeTolerance"]),
                            probe_floor=k.get("ProbeFloor", OPTIONAL["ProbeFloor"])))


def honest_electorate(bond: int) -> dict[str, VoteRecord]:
    return {who: VoteRecord(bond, v, attested=ADOPTED) for who, v in HONEST.items()}


def compute(k: Mapping[str, int], sybils: int = 3) -> list[Row]:
    vb, cb = k["MinValidatorBond"], k["MinContributorBond"]
    rows: list[Row] = []

    # Baseline: the attacker as a fourth, honest validator (its verdicts are honest1's).
    base = honest_electorate(vb) | {"attacker": VoteRecord(vb, HONEST["honest1"],
                                                           attested=ADOPTED)}
    honest_pay = settle(base, k).validator_pay.get("attacker", 0)

    # Sybil split: one bond of sybils × floor against `sybils` accounts of one floor each.
    stake = sybils * vb
    results = {}
    for label, verdicts in (("honest", HONEST["honest1"]), ("accept-all", DEVIANT["accept-all"])):
        one = honest_electorate(vb) | {"attacker": VoteRecord(stake, verdicts, attested=ADOPTED)}
        many = honest_electorate(vb) | {f"sybil{i}": VoteRecord(vb, verdicts, attested=ADOPTED)
                                        for i in range(sybils)}
        s_one, s_many = settle(one, k), settle(many, k)
        stake_one = consensus(REVEALED, one, QUORUM).accept_stake
        stake_many = consensus(REVEALED, many, QUORUM).accept_stake
        pay_one = s_one.validator_pay.get("attacker", 0) - s_one.slashes.get("attacker", 0)
        pay_many = sum(s_many.validator_pay.get(f"sybil{i}", 0)
                       - s_many.slashes.get(f"sybil{i}", 0) for i in range(sybils))
        results[label] = (pay_one, pay_many, stake_one == stake_many,
                          s_one.accepted == s_many.accepted, s_many.accepted[3])
    gain = max(results[lbl][1] - results[lbl][0] for lbl in results)
    same = all(r[2] and r[3] for r in results.values())
    poisoned_in = results["accept-all"][4]
    extra_stake = (sybils - 1) * k["MinValidatorStake"]
    rows.append(Row(
        "sybil", f"Sybil split: one bond of {dml(stake)} spread over {sybils} accounts",
        extra_stake + (sybils - 1) * FEE_PER_CALL * 4,
        f"{sybils - 1} more registrations ({dml(extra_stake)} of extra `MinValidatorStake` "
        f"held), {sybils - 1} more seats, fees × {sybils}",
        gain,
        f"{dml(gain)}: pay {dml(results['honest'][1])} split vs {dml(results['honest'][0])} "
        f"as one account (honest votes); accept stake per update identical",
        f"influence = stake, not heads ({'same' if same else 'DIFFERENT'} accept stake and "
        f"outcome); voting accept-all with {dml(stake)} of {dml(stake + 3 * vb)} the poisoned "
        f"update is {'accepted' if poisoned_in else 'still rejected'}"))

    # Silent validator: in the electorate, reveals no vote.
    s = settle(honest_electorate(vb) | {"attacker": VoteRecord(vb, None)}, k)
    slash = s.slashes.get("attacker", 0)
    rows.append(Row(
        "silent", "Silent validator (no revealed vote, hoping to stall the round)",
        slash + honest_pay,
        f"{dml(slash)} slashed (`SilenceSlash` {pct(k['SilenceSlash'])} of its "
        f"{dml(vb)} bond) + the {dml(honest_pay)} it would have earned",
        -(slash + honest_pay), "nothing: no pay",
        "the vote phases close at their deadlines; the round succeeds without it "
        f"({'succeeded' if s.success else 'FAILED'}); silence costs reputation too",
        slash))

    # Deviant validators against the poisoned round.
    for name, verdicts in DEVIANT.items():
        s = settle(honest_electorate(vb) | {"attacker": VoteRecord(vb, verdicts,
                                                                   attested=ADOPTED)}, k)
        pay, slash = s.validator_pay.get("attacker", 0), s.slashes.get("attacker", 0)
        wrong = sum(1 for sub, acc, _, _ in verdicts if acc != s.accepted[sub])
        poisoned = "accepted" if s.accepted[3] else "rejected"
        rows.append(Row(
            name.replace("-", "_"), f"{name.capitalize()} validator (1 poisoned update of 4)",
            slash + honest_pay - pay,
            f"{dml(slash)} slashed (`VerdictSlash` {pct(k['VerdictSlash'])} × {wrong}/4 of its "
            f"bond) + pay forgone {dml(honest_pay - pay)}",
            pay - slash - honest_pay,
            f"pay {dml(pay)} (Q = {s.quality['attacker'] / PPM:.3f}) vs {dml(honest_pay)} "
            "honest",
            f"poisoned update {poisoned}; honest validators' Q = "
            f"{min(s.quality[h] for h in HONEST) / PPM:.3f}..1", slash))

    # Replaying validator: copies the public consensus of the last round, evaluates nothing.
    s = settle(honest_electorate(vb) | {"attacker": VoteRecord(vb, REPLAY, attested=ADOPTED)}, k)
    pay, slash = s.validator_pay.get("attacker", 0), s.slashes.get("attacker", 0)
    tolerance = k.get("ProbeTolerance", OPTIONAL["ProbeTolerance"])
    rows.append(Row(
        "replay", "Replaying validator (votes the public consensus, downloads nothing)",
        slash + honest_pay - pay,
        f"{dml(slash)} slashed (`VerdictSlash` {pct(k['VerdictSlash'])} × 4/4 of its bond: "
        f"no verdict carries this round's probe) + pay forgone {dml(honest_pay - pay)}",
        pay - slash - honest_pay,
        f"pay {dml(pay)} (Q = {s.quality['attacker'] / PPM:.3f}) vs {dml(honest_pay)} honest",
        f"its verdicts agree with the consensus but are unevidenced (probe off the consensus "
        f"probe by more than {pct(tolerance)}); the poisoned update is "
        f"{'accepted' if s.accepted[3] else 'rejected'}", slash))

    # Losing proposal and attestation (honest verdicts, backs a junk aggregate).
    s = settle(honest_electorate(vb) | {"attacker": VoteRecord(
        vb, HONEST["honest1"], attested="junk", proposed="junk")}, k)
    slash = s.slashes.get("attacker", 0)
    rows.append(Row(
        "losing_aggregate", "Proposing and attesting a junk aggregate",
        slash + honest_pay,
        f"{dml(slash)} slashed (`LosingAttestSlash` {pct(k['LosingAttestSlash'])} of its bond, "
        f"once per attempt) + the {dml(honest_pay)} pay of an attester of the adopted model",
        -(slash + honest_pay), "nothing",
        f"the junk hash never reaches {pct(QUORUM)} of the electorate stake; the honest "
        "aggregate is adopted", slash))

    # Free-rider / copier contributor: a fifth update, evaluated at 0 and rejected by all.
    revealed = [*REVEALED, 4]
    electorate = {who: VoteRecord(vb, [*v, (4, False, 0, P)], attested=ADOPTED)
                  for who, v in HONEST.items()}
    s = settle(electorate, k, revealed=revealed)
    weights = effective_examples([500, 600, 550, 10_000], 10_000)
    fees = 2 * FEE_PER_CALL
    rows.append(Row(
        "free_rider", "Free-rider / copier contributor (idle, copied or re-sent update)",
        fees, f"fees ≈ {dml(fees)} (commit + reveal); its {dml(cb)} bond stays at risk",
        s.contributor_pay.get(4, 0) - fees,
        f"{dml(s.contributor_pay.get(4, 0))}: consensus score {s.consensus_scores[4]}, "
        f"rejected (honest updates earned {dml(min(s.contributor_pay.values()))} to "
        f"{dml(max(s.contributor_pay.values()))})",
        "rejected; duplicate update hashes are refused on chain (`DuplicateUpdate`); a claim "
        f"of 10 000 examples against 500/600/550 weighs {weights[-1]} in FedAvg "
        "(capped at the round's median claim)"))

    # Unrevealed commitment.
    s = settle(honest_electorate(vb), k, unrevealed={"attacker": cb})
    slash = s.slashes.get("attacker", 0)
    rows.append(Row(
        "unrevealed", "Contributor commits and never reveals",
        slash + FEE_PER_CALL,
        f"{dml(slash)} slashed (`SilenceSlash` {pct(k['SilenceSlash'])} of its {dml(cb)} "
        "bond) + fees",
        -(slash + FEE_PER_CALL), "nothing",
        "the reveal phase closes at its deadline; the round goes on without it "
        f"({'succeeded' if s.success else 'FAILED'})", slash))

    # Cancelling creator: the round it cancels in is finalised and paid as usual.
    s = settle(honest_electorate(vb), k)
    rows.append(Row(
        "cancel", "Creator cancels after seeing the round's updates",
        s.paid,
        f"the round's accepted work is paid anyway: {dml(s.paid)} of the {dml(REWARD)} round "
        "reward",
        0, "nothing: only later rounds come back, as with any cancellation",
        "`cancel_task` after the first commitment only schedules the end (`CancelScheduled`); "
        "the round is finalised normally, then the task ends"))

    # Hostile retries: a blocking minority makes every attempt fail.
    attempt = PHASES_PER_ATTEMPT * PHASE_BLOCKS
    worst = PHASES_PER_ATTEMPT * k["MaxPhaseBlocks"]
    attempts = k["MaxRetries"] + 1
    s = settle(honest_electorate(vb) | {"attacker": VoteRecord(vb, None)}, k, adopted=None)
    per_attempt = s.slashes.get("attacker", 0)
    rows.append(Row(
        "retries", "Hostile retries: stalling a round so it fails and restarts",
        per_attempt * attempts,
        f"silent blocker: {dml(per_attempt)} per attempt, {dml(per_attempt * attempts)} over "
        f"the {attempts} attempts; attesting nothing instead: its pay",
        0, "nothing: failed attempts pay nobody",
        f"at most `MaxRetries` + 1 = {attempts} attempts per round, then the task ends and the "
        f"escrow goes back; others' bonds are held at most {attempts} × {attempt} = "
        f"{attempts * attempt} blocks (≈ {attempts * attempt * BLOCK_SECONDS / 3600:.1f} h) with "
        f"the CLI's phases, {attempts} × {worst} blocks (≈ "
        f"{attempts * worst * BLOCK_SECONDS / 86400:.0f} days) at `MaxPhaseBlocks`; "
        "`leave_task` frees a member after the current attempt", per_attempt))
    return rows


def _constant(name: str, value: int) -> str:
    if name in PERMILL:
        return pct(value)
    if "Bond" in name or "Stake" in name or name == "TaskDeposit":
        return dml(value)
    return str(value)


def markdown(rows: Sequence[Row], k: Mapping[str, int], source: str) -> str:
    lines = [
        "# Attack costs",
        "",
        "Generated by `uv run --frozen python bench/attack_costs.py --markdown` (pure "
        "computation with `decentralml_client.protocol.consensus`, the client's copy of the "
        "pallet's settlement).",
        "",
        f"Constants from the {source}: " + ", ".join(
            f"`{n}` {_constant(n, v)}" for n, v in k.items()) + ".",
        "",
        f"Default task: {dml(REWARD)} per round, validator share {pct(VALIDATOR_SHARE)}, "
        f"contributor bond {dml(k['MinContributorBond'])}, validator bond "
        f"{dml(k['MinValidatorBond'])}, quorum 2/3 of the electorate stake, 3 honest "
        "validators; the round of `tests/protocol/test_consensus.py` (4 updates, the last "
        "poisoned). Per round; \"net vs honest\" compares with playing the same role honestly "
        "in the same round.",
        "",
        "| attack | what it costs the attacker | what it gains (net vs honest) | outcome |",
        "|---|---|---|---|",
    ]
    for r in rows:
        lines.append(f"| {r.attack} | {r.cost_text} | {r.gain_text} ({dml(r.gain)}) | "
                     f"{r.outcome} |")
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> list[Row]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--markdown", action="store_true",
                        help=f"also write {OUT.relative_to(ROOT)}")
    parser.add_argument("--out", type=Path, default=OUT, help=argparse.SUPPRESS)
    parser.add_argument("--sybils", type=int, default=3, help="accounts of the Sybil split")
    args = parser.parse_args(argv)
    k, source = runtime_constants()
    rows = compute(k, sybils=args.sybils)
    text = markdown(rows, k, source)
    print(text, end="")
    if args.markdown:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text)
        print(f"\nwrote {args.out}")
    return rows


if __name__ == "__main__":
    main()
