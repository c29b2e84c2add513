"""Per-round cost of coordination for 4, 16, 64 and 256 contributors, on our dev node.

Every component is measured for real on this machine:
- TFF local training of one contributor, Kubo add/fetch, a validator's decode + evaluate of
  one update, FedAvg over N updates;
- a **whole round on the chain**: N fresh contributors and 3 validators (funded, registered
  and joined first) play every phase with real extrinsics — N commits, N reveals, 3 sealed
  votes (commit, reveal) over all N submissions, a proposal, 3 attestations and the
  finalisation. Each phase's transactions are sent together (``DecentralMl.submit_all``), as
  the role processes send them, and the dev node seals what arrives together into one block.
  The figures are the blocks the round took and its wall time on the chain, beside the
  training time of one contributor; and the node's own time to build (execute and import) the
  block holding the N commits, read from its log.

    uv run python bench/bench_roles.py [--out bench/results/roles.json] [--sizes 4,16,64,256]

Targets (issue #10): at most 8 blocks per round at every N; chain time per round at 64
contributors at most 5x the training time of one contributor.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from decentralml_client.chain import UNIT, Chain, DecentralMl, Role, TaskSpec, permill  # noqa: E402
from decentralml_client.keys import Account, dev_account  # noqa: E402
from decentralml_client.ml.aggregate import aggregate  # noqa: E402
from decentralml_client.ml.codec import decode_tensors, encode_update, file_hash  # noqa: E402
from decentralml_client.ml.data import load_digits_split, partition_iid  # noqa: E402
from decentralml_client.ml.evaluate import apply_delta, evaluate  # noqa: E402
from decentralml_client.ml.model_spec import default_digits_spec, make_initial_weights  # noqa: E402
from decentralml_client.ml.train import train_local  # noqa: E402
from decentralml_client.protocol import update_commitment, vote_commitment  # noqa: E402
from decentralml_client.services.devnet import free_port  # noqa: E402
from decentralml_client.services.kubo import KuboDaemon  # noqa: E402
from decentralml_client.services.node import NodeNetwork  # noqa: E402
from decentralml_client.storage import IpfsStore  # noqa: E402

VALIDATORS = 3


def _median_time(fn, n: int) -> float:  # noqa: ANN001
    times = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def _proposal_ms(log: Path, number: int) -> int | None:
    """The node's time to build block ``number`` ("Prepared block for proposing at N (T ms)")."""
    found = re.findall(rf"Prepared block for proposing at {number} \((\d+) ms\)",
                       log.read_text(errors="replace"))
    return int(found[-1]) if found else None


def _chain_round(chain: Chain, node_log: Path, n: int) -> dict[str, Any]:
    """One whole round with ``n`` contributors and VALIDATORS validators, every phase's
    transactions sent together; returns the blocks it took and its wall time."""
    dml = DecentralMl(chain)
    alice = dev_account("alice")
    contributors = [Account(os.urandom(32)) for _ in range(n)]
    validators = [Account(os.urandom(32)) for _ in range(VALIDATORS)]
    everyone = contributors + validators
    chain.submit_many(alice.keypair, [("Balances", "transfer_keep_alive",
                                       {"dest": a.ss58_address, "value": 200 * UNIT})
                                      for a in everyone])
    stake = {Role.CONTRIBUTOR: int(chain.constant("MinContributorStake")),
             Role.VALIDATOR: int(chain.constant("MinValidatorStake"))}
    roles = [(a, Role.CONTRIBUTOR) for a in contributors] + \
        [(a, Role.VALIDATOR) for a in validators]
    dml.submit_all([(a.keypair, dml.register_call(r, stake[r], a.x25519_public))
                    for a, r in roles])
    spec = TaskSpec(model_cid="bafkreibenchmarkbenchmarkbenchmarkbenchmarkbenchmarkbench",
                    model_hash="0x" + "ab" * 32, rounds=2, min_contributors=n,
                    max_contributors=n, max_validators=VALIDATORS, min_validators=2,
                    quorum=permill(2 / 3), enrol_blocks=1_000, commit_blocks=1_000,
                    reveal_blocks=1_000, vote_blocks=1_000, vote_reveal_blocks=1_000,
                    attest_blocks=1_000)
    task_id = dml.create_task(alice.keypair, spec)
    dml.submit_all([(a.keypair, dml.join_task_call(task_id, r, UNIT if r == Role.CONTRIBUTOR
                                                   else 2 * UNIT)) for a, r in roles])
    task = dml.task(task_id)
    assert task is not None and task["phase"] == "Commit", task
    attempt = int(task["retries"])
    salts = {a.ss58_address: os.urandom(32) for a in everyone}
    hashes = {a.ss58_address: os.urandom(32) for a in contributors}

    start_block, _ = chain.head()
    t0 = time.perf_counter()
    commits = dml.submit_all([(a.keypair, dml.commit_update_call(task_id, 0, update_commitment(
        task_id, 0, attempt, a.public_key, hashes[a.ss58_address], 100, salts[a.ss58_address])))
        for a in contributors])
    dml.submit_all([(a.keypair, dml.reveal_update_call(
        task_id, 0, f"bafkrei{a.ss58_address.lower()[:52]}", hashes[a.ss58_address], 100,
        salts[a.ss58_address])) for a in contributors])
    subs = sorted(dml.submissions(task_id, 0))
    verdicts = [(i, True, 9_000, 0) for i in subs]
    dml.submit_all([(v.keypair, dml.commit_vote_call(task_id, 0, vote_commitment(
        task_id, 0, attempt, v.public_key, verdicts, salts[v.ss58_address]))) for v in validators])
    dml.submit_all([(v.keypair, dml.reveal_vote_call(task_id, 0, verdicts, salts[v.ss58_address]))
                    for v in validators])
    model_cid, model_hash = "bafkreiaggregateaggregateaggregateaggregateaggregateaggr", os.urandom(32)
    dml.propose_aggregate(validators[0].keypair, task_id, 0, model_cid, model_hash)
    dml.submit_all([(v.keypair, dml.attest_aggregate_call(task_id, 0, model_cid, model_hash,
                                                          9_000)) for v in validators])
    final = dml.finalize_round(alice.keypair, task_id, 0)
    seconds = time.perf_counter() - t0
    task = dml.task(task_id)
    assert task is not None and int(task["round"]) == 1, f"the round did not finalise: {task}"
    commit_blocks = {r.block_number for r in commits}
    return {"blocks": final.block_number - start_block, "seconds": round(seconds, 3),
            "commit_blocks": len(commit_blocks),
            "commit_block_ms": _proposal_ms(node_log, max(commit_blocks))}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", type=Path, default=Path("bench/results/roles.json"))
    ap.add_argument("--sizes", default="4,16,64,256")
    args = ap.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]

    m = default_digits_spec()
    w0 = make_initial_weights(m, 0)
    x_tr, y_tr, x_te, y_te = load_digits_split(seed=0)
    results: dict[str, object] = {"machine": f"{os.cpu_count()} cores", "validators": VALIDATORS}
    with tempfile.TemporaryDirectory() as tmp, NodeNetwork(Path(tmp) / "chain", nodes=1, port=free_port()) as dev, \
            KuboDaemon(Path(tmp) / "ipfs") as kubo, Chain(dev.url) as chain:
        store = IpfsStore(kubo.api_multiaddr)
        per_size = {}
        for n in sizes:
            x, y = partition_iid(x_tr, y_tr, n, seed=0)[0]
            train = _median_time(lambda: train_local(m, w0, x, y, seed=1), 3)
            delta = train_local(m, w0, x, y, seed=1).delta
            update = encode_update(delta, m, task="0", round=0, base_model_hash="0x00",
                                   num_examples=len(y))
            ipfs_add = _median_time(lambda: store.add(update + os.urandom(8)), 5)
            cid = store.add(update)
            h = file_hash(update)
            ipfs_fetch = _median_time(lambda: IpfsStore(kubo.api_multiaddr).fetch(cid, h), 5)

            def check() -> None:
                d = decode_tensors(update, m, kind="delta").tensors
                evaluate(m, apply_delta(w0, d), x_te, y_te)

            validate_one = _median_time(check, 5)
            deltas = [delta] * n
            agg = _median_time(lambda: aggregate("FedAvg", w0, deltas, [len(y)] * n), 3)
            chain_round = _chain_round(chain, dev.nodes[0].log_path, n)
            round_parts = {
                "training_s": train,
                # contributors upload update + manifest in parallel; each validator then
                # fetches both files of all N updates (validators work in parallel)
                "ipfs_s": 2 * ipfs_add + 2 * n * ipfs_fetch,
                "chain_s": chain_round["seconds"],
                "validation_s": n * validate_one,
                # the aggregator and every validator aggregate in parallel
                "aggregation_s": agg,
            }
            overhead = sum(v for k_, v in round_parts.items() if k_ != "training_s") / train
            per_size[str(n)] = {**{k_: round(v, 4) for k_, v in round_parts.items()},
                                "blocks_per_round": chain_round["blocks"],
                                "commit_block_build_ms": chain_round["commit_block_ms"],
                                "chain_over_training": round(chain_round["seconds"] / train, 2),
                                "overhead_ratio": round(overhead, 3)}
            print(n, per_size[str(n)], file=sys.stderr)
        results["per_round"] = per_size
        results["targets"] = {"blocks_per_round": "<= 8 at every N",
                              "chain_over_training": "<= 5 at 64 contributors"}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
