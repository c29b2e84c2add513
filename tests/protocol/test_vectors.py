"""The shared test vectors of the consensus and payout rules (chain/pallets/decentralml/vectors/),
fed to the client's mirror (decentralml_client.protocol.consensus). The pallet's tests read the
same files (chain/pallets/decentralml/src/tests/vectors.rs, which runs each payout case on the
mock chain), so one copy of each scenario's figures checks both implementations."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from decentralml_client.protocol.consensus import (
    Constants,
    VoteRecord,
    consensus,
    settle_round,
    validator_quality,
)

VECTORS = Path(__file__).resolve().parents[2] / "chain" / "pallets" / "decentralml" / "vectors"


def _load(name: str) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads((VECTORS / f"{name}.json").read_text())
    return doc


def _verdicts(raw: list[list[Any]] | None) -> list[tuple[int, bool, int, int]] | None:
    if raw is None:
        return None
    return [(int(s), bool(a), int(score), int(probe)) for s, a, score, probe in raw]


def _cases(name: str) -> list[Any]:
    doc = _load(name)
    return [pytest.param(case, Constants(**doc["constants"]), id=case["name"])
            for case in doc["cases"]]


def test_the_vectors_use_the_clients_default_constants() -> None:
    """The pallet checks the same constants against its mock runtime's."""
    for name in ("consensus", "payout"):
        assert Constants(**_load(name)["constants"]) == Constants()


@pytest.mark.parametrize(("case", "constants"), _cases("consensus"))
def test_the_consensus_rule_gives_the_vectors_figures(case: dict[str, Any],
                                                       constants: Constants) -> None:
    n = case["submissions"]
    electorate = {f"{k}:{v['who']}": VoteRecord(bond=v["bond"], verdicts=_verdicts(v["verdicts"]))
                  for k, v in enumerate(case["votes"])}
    c = consensus(list(range(n)), electorate, case["quorum_ppm"], constants)
    expected = case["expected"]
    assert [c.accepted[i] for i in range(n)] == expected["accepted"]
    assert [c.probes[i] for i in range(n)] == expected["probe_medians"]
    assert [c.scores[i] for i in range(n)] == expected["medians"]
    matches, quality = [], []
    for record in electorate.values():
        if record.verdicts is None:
            continue
        q, wrong = validator_quality(record.verdicts, c, constants)
        quality.append(q)
        matches.append(n - wrong)
    assert matches == expected["matches"]
    assert quality == expected["quality"]


@pytest.mark.parametrize(("case", "constants"), _cases("payout"))
def test_the_payout_rule_gives_the_vectors_figures(case: dict[str, Any],
                                                    constants: Constants) -> None:
    n = case["submissions"]
    electorate = {m["who"]: VoteRecord(bond=m["bond"], verdicts=_verdicts(m["verdicts"]),
                                       attested=m["attested"], proposed=m["proposed"])
                  for m in case["electorate"]}
    s = settle_round(revealed=list(range(n)), unrevealed={}, electorate=electorate,
                     quorum_ppm=case["quorum_ppm"], min_contributors=case["min_contributors"],
                     reward=case["reward"], validator_share_ppm=case["validator_share_ppm"],
                     adopted=case["adopted"], min_validators=case["min_validators"],
                     constants=constants)
    expected = case["expected"]
    assert s.success
    assert [s.accepted[i] for i in range(n)] == expected["accepted"]
    assert [s.consensus_scores[i] for i in range(n)] == expected["consensus_scores"]
    # The vectors list every member and submission; the mirror omits zero entries.
    assert {w: s.quality.get(w, 0) for w in electorate} == expected["quality"]
    assert {w: s.validator_pay.get(w, 0) for w in electorate} == expected["validator_pay"]
    assert [s.contributor_pay.get(i, 0) for i in range(n)] == expected["contributor_pay"]
    assert {w: s.slashes.get(w, 0) for w in electorate} == expected["slashes"]
