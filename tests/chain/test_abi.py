"""pallet-abi/ is generated from the runtime: the committed file must match the chain; the
interface ships inside the package and the repository's pallet-abi/ is the same file."""

from __future__ import annotations

import copy
import json

import pytest

from decentralml_client.chain import Chain, IncompatibleChain, abi
from decentralml_client.chain.abi import check_compatible, describe, differences, load

CALLS = {"register", "deregister", "create_task", "join_task", "cancel_task", "commit_update",
         "reveal_update", "commit_vote", "reveal_vote", "propose_aggregate", "attest_aggregate",
         "finalize_round", "leave_task", "set_allowed", "purge_task"}


@pytest.mark.integration
def test_committed_abi_matches_the_runtime(chain: Chain) -> None:
    assert describe(chain) == load(), "pallet-abi is stale: run `make abi` and commit it"


@pytest.mark.integration
def test_the_pallet_has_exactly_the_protocol_calls(chain: Chain) -> None:
    assert {c["name"] for c in describe(chain)["calls"]} == CALLS


@pytest.mark.integration
def test_every_error_and_call_is_documented_for_users(chain: Chain) -> None:
    abi = describe(chain)
    undocumented = [e["name"] for e in abi["errors"] + abi["calls"] + abi["events"]
                    if not e["docs"]]
    assert undocumented == []


@pytest.mark.integration
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


def test_the_client_loads_the_interface_from_its_own_package() -> None:
    assert abi.ABI_FILE.is_relative_to(abi.Path(abi.__file__).resolve().parent)
    recorded = abi.load()
    assert recorded["pallet"] == "DecentralMl" and recorded["calls"] and recorded["errors"]


def test_the_repository_copy_is_the_packaged_file() -> None:
    assert json.loads(abi.REPO_ABI_FILE.read_text()) == abi.load(), (
        "pallet-abi/decentralml.json and the package's copy differ: run `make abi`"
    )
