"""Per-round cost of coordination, split by component, for 4, 16 and 64 contributors.

Every component is measured for real on this machine — TFF local training, Kubo add/fetch,
extrinsic submit → inclusion on the dev chain (our node in dev mode, instant seal), a validator's
decode + evaluate of one update, FedAvg over N updates — and combined into a round the way
the roles run it: contributors train in parallel (one training time), their 2N commit/reveal
transactions and the validators' sealed votes (commit + reveal) and attestations are included
one block each, each
validator checks all N updates, one aggregator aggregates N updates.

    uv run python bench/bench_roles.py [--out bench/results/roles.json]

The overhead ratio is (IPFS + chain + validation + aggregation) / training, per round.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from decentralml_client.chain import UNIT, Chain  # noqa: E402
from decentralml_client.keys import Account, dev_account  # noqa: E402
from decentralml_client.ml.aggregate import aggregate  # noqa: E402
from decentralml_client.ml.codec import decode_tensors, encode_update, file_hash  # noqa: E402
from decentralml_client.ml.data import load_digits_split, partition_iid  # noqa: E402
from decentralml_client.ml.evaluate import apply_delta, evaluate  # noqa: E402
from decentralml_client.ml.model_spec import default_digits_spec, make_initial_weights  # noqa: E402
from decentralml_client.ml.train import train_local  # noqa: E402
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


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", type=Path, default=Path("bench/results/roles.json"))
    ap.add_argument("--sizes", default="4,16,64")
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
            # Chain: one inclusion per extrinsic (Instant mode), measured on real transfers.
            acct = Account.from_seed(os.urandom(32))
            alice = dev_account("alice")
            t = time.perf_counter()
            k = 20
            for _ in range(k):
                chain.submit(alice.keypair, "transfer_keep_alive",
                             {"dest": acct.ss58_address, "value": UNIT}, pallet="Balances")
            inclusion = (time.perf_counter() - t) / k
            # commits, reveals, vote commits, vote reveals, attests, propose, finalize
            txs = 2 * n + 3 * VALIDATORS + 2
            round_parts = {
                "training_s": train,
                # contributors upload update + manifest in parallel; each validator then
                # fetches both files of all N updates (validators work in parallel)
                "ipfs_s": 2 * ipfs_add + 2 * n * ipfs_fetch,
                "chain_s": txs * inclusion,
                "validation_s": n * validate_one,
                # the aggregator and every validator aggregate in parallel
                "aggregation_s": agg,
            }
            overhead = sum(v for k_, v in round_parts.items() if k_ != "training_s") / train
            per_size[str(n)] = {**{k_: round(v, 4) for k_, v in round_parts.items()},
                                "inclusion_s": round(inclusion, 4),
                                "overhead_ratio": round(overhead, 3)}
            print(n, per_size[str(n)], file=sys.stderr)
        results["per_round"] = per_size
        results["target"] = "overhead <= 0.25 with 16 contributors"
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
