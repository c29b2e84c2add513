"""pallet-abi/ is generated from the runtime: the committed file must match the chain."""

from __future__ import annotations

import copy
import json

import pytest

from decentralml_client.chain import Chain, IncompatibleChain
from decentralml_client.chain.abi import check_compatible, describe, differences, load

pytestmark = pytest.mark.integration

CALLS = {"register", "deregister", "create_task", "join_task", "cancel_task", "commit_update",
         "reveal_update", "commit_vote", "reveal_vote", "propose_aggregate", "attest_aggregate",
         "finalize_round", "leave_task", "set_allowed", "purge_task"}


def test_committed_abi_matches_the_runtime(chain: Chain) -> None:
    assert describe(chain) == load(), "pallet-abi is stale: run `make abi` and commit it"


def test_the_pallet_has_exactly_the_protocol_calls(chain: Chain) -> None:
    assert {c["name"] for c in describe(chain)["calls"]} == CALLS


def test_every_error_and_call_is_documented_for_users(chain: Chain) -> None:
    abi = describe(chain)
    undocumented = [e["name"] for e in abi["errors"] + abi["calls"] + abi["events"]
                    if not e["docs"]]
    assert undocumented == []


def test_a_chain_with_a_changed_interface_is_refused(chain: Chain, tmp_path) -> None:
    altered = copy.deepcopy(load())
    vote = next(c for c in altered["calls"] if c["name"] == "reveal_vote")
    vote["args"].append({"name": "extra", "type": "u8"})
    altered["calls"] = [c for c in altered["calls"] if c["name"] != "cancel_task"]
    path = tmp_path / "abi.json"
    path.write_text(json.dumps(altered))
    with pytest.raises(IncompatibleChain) as err:
        check_compatible(chain, path)
    text = str(err.value)
    assert "call reveal_vote differs" in text
    assert "call cancel_task is unknown to this client" in text
    assert len(differences(altered, describe(chain))) == 2

