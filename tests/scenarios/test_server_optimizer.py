"""A task with a server optimiser (FedAdam) on the real dev chain and a real Kubo daemon.

Two rounds run through the demo's orchestrator, every role its own process. Every validator
recomputes each round's aggregate on its own — the trimmed rule's delta, then one Adam step
from the optimiser state the previous global weights file carries — and attests its hash; the
test reads the ``AggregateAttested`` events and checks that every validator attested the
adopted hash in both rounds, and that the final global weights file on IPFS carries Adam's
state after two steps.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from decentralml_client.chain import Chain, DecentralMl
from decentralml_client.config import Settings
from decentralml_client.demo_run import DemoOptions, run_demo
from decentralml_client.ml.codec import decode_tensors
from decentralml_client.ml.model_spec import ModelSpec
from decentralml_client.ml.server_opt import ServerOptimizer
from decentralml_client.storage import IpfsStore

pytestmark = pytest.mark.integration


def _hex(value: object) -> str:
    if isinstance(value, (bytes, bytearray)):
        return "0x" + bytes(value).hex()
    return str(value).lower()


def test_a_two_round_fedadam_task_is_attested_by_every_validator(
    devnet, kubo, tmp_path: Path
) -> None:
    with Chain(devnet.url) as chain:
        start_block = chain.head()[0]

    summary = run_demo(
        Settings(data_dir=tmp_path),
        DemoOptions(rounds=2, contributors=3, validators=3, rule="trimmed-mean",
                    server_opt="adam", plot=None, shared_processes=False),
        services=(devnet.url, kubo.api_multiaddr),
    )

    assert summary["status"] == "Finished"
    assert [r["round"] for r in summary["rounds"]] == [0, 1]
    validators = {v["address"] for v in summary["validators"]}
    assert len(validators) == 3
    task_id = summary["task_id"]
    with Chain(devnet.url) as chain:
        dml = DecentralMl(chain)
        task = dml.task(task_id)
        assert task is not None
        assert ServerOptimizer.from_chain(task.spec.server_optimizer).kind == "adam"
        attested: dict[int, dict[str, str]] = {0: {}, 1: {}}
        for _, events in chain.events_between(start_block):
            for e in events:
                if e.qualname == "DecentralMl.AggregateAttested" and \
                        int(e.attributes["task_id"]) == task_id:
                    attested[int(e.attributes["round"])][str(e.attributes["validator"])] = _hex(
                        e.attributes["hash"])
    for r in summary["rounds"]:
        by_validator = attested[r["round"]]
        assert set(by_validator) == validators, (r["round"], by_validator)
        assert set(by_validator.values()) == {r["model_hash"].lower()}, (r, by_validator)
    assert summary["rounds"][0]["model_hash"] != summary["rounds"][1]["model_hash"]

    store = IpfsStore(kubo.api_multiaddr)
    spec = ModelSpec.from_bytes(store.fetch(task.spec.model_cid, task.spec.model_hash))
    final = decode_tensors(store.fetch(task.model_cid, task.model_hash), spec,
                           kind="weights")
    assert final.server_state is not None
    assert final.server_state.step == 2 and sorted(final.server_state.slots) == ["m", "v"]
    assert summary["final_accuracy"] > summary["rounds"][0]["attested_accuracy"] - 0.05
