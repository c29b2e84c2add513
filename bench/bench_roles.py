"""Per-round cost of coordination: a whole round on the chain, on our dev node or on a
4-authority loopback network with real Aura slots.

A **whole round on the chain**: N fresh contributors and 3 validators (funded, registered and
joined first) play every phase with real extrinsics — N commits, N reveals, 3 sealed votes
(commit, reveal) over all N submissions, then 3 attestations of one aggregate (the first
proposes it) in one block, after which the pallet finalises the round itself (``on_idle``).
Each phase's transactions are sent together, as the role processes send them.

``--nodes 1`` (dev node, instant seal): beside the round, the other parts of a round measured
for real on this machine (TFF local training of one contributor, Kubo add/fetch, a validator's
decode + evaluate of one update, FedAvg over N updates) → ``results/roles.json``.

``--nodes 4``: the signers are spread over the authorities as separate participants would be
(participant i submits through node i % 4, every node's share of a phase sent concurrently);
the figures are the blocks per round, the seconds from the round's opening to its finalisation
(on-chain ``Timestamp.Now``; wall clock too), seconds per phase (``PhaseChanged``), the
largest finality lag seen on any node, and the same round on the dev node in the same run
→ ``results/roles-network.json`` (one entry per slot duration).

``--contributors N --validators V --committee K [--cohort C] [--audit 0.1]``: one round of a
task with committees at scale (``roles_committees.py``: bulk-signed setup of N + V accounts,
votes on each validator's assigned updates only), on the dev node or with ``--nodes 4``;
blocks per round, the heaviest block's share of the weight limits, evaluations per validator,
seconds → ``results/roles-committees.json``.

    uv run python bench/bench_roles.py [--sizes 4,16,64,256]                 # dev node + ML
    uv run python bench/bench_roles.py --nodes 4 --sizes 4,16,64 [--slot-ms 1000]
    uv run python bench/bench_roles.py --contributors 1024 --validators 64 --committee 3 \
        [--cohort 256] [--nodes 4]

Targets: at most 8 sequential blocks per round at every N; on the network, coordination per
round ≤ 12 s at 16 contributors and ≤ 20 s at 64, finality never more than 3 blocks behind the
head during a round; on the dev node, chain time at 64 contributors ≤ 5× one contributor's
training.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from decentralml_client.chain import (  # noqa: E402
    UNIT,
    Chain,
    DecentralMl,
    Receipt,
    Role,
    TaskSpec,
    permill,
)
from decentralml_client.keys import Account, dev_account  # noqa: E402
from decentralml_client.protocol import update_commitment, vote_commitment  # noqa: E402
from decentralml_client.services.chainspec import slot_ms as spec_slot_ms  # noqa: E402
from decentralml_client.services.node import LOCAL_CHAIN_SPEC, NodeNetwork  # noqa: E402
from decentralml_client.services.ports import free_port  # noqa: E402

VALIDATORS = 3
PHASES = ("Commit", "Reveal", "VoteCommit", "VoteReveal", "Aggregate")
NETWORK_TARGETS = {"blocks_per_round": "<= 8 at every N",
                   "coordination_s": {"16": 12.0, "64": 20.0},
                   "finality_lag_blocks": "<= 3 during a round"}
CONTEXT = {"before_this_change": "~10 blocks x 6 s = ~60 s per round (3-authority network)",
           "flower_1_42_deployment_engine": "41 s per round at 16 no-op clients"}


# -- pure helpers (tests/bench/test_bench_roles.py) ---------------------------------------------

def node_of(participant: int, nodes: int) -> int:
    """The node participant ``participant`` submits through."""
    return participant % nodes


def phase_spans(changes: list[tuple[str, int]], final_block: int,
                stamps: dict[int, int]) -> dict[str, dict[str, float]]:
    """Blocks and seconds each phase lasted: ``changes`` are the round's (phase, block) in
    order, from its ``Commit`` on; the last phase ends in ``final_block``; ``stamps`` maps a
    block to its ``Timestamp.Now`` (ms)."""
    ends = [b for _, b in changes[1:]] + [final_block]
    return {phase: {"blocks": end - start, "s": round((stamps[end] - stamps[start]) / 1000, 3)}
            for (phase, start), end in zip(changes, ends, strict=True)}


def check_targets(n: int, blocks: int, seconds: float, lag: int | None) -> dict[str, bool]:
    """Which network targets one size meets (the seconds target exists at 16 and 64)."""
    out = {"blocks_per_round": blocks <= 8}
    limit = NETWORK_TARGETS["coordination_s"].get(str(n))
    if limit is not None:
        out["coordination_s"] = seconds <= limit
    if lag is not None:
        out["finality_lag_blocks"] = lag <= 3
    return out


# -- the round --------------------------------------------------------------------------------

@dataclass
class Seats:
    task_id: int
    attempt: int
    contributors: list[Account]
    validators: list[Account]
    open_block: int  # the block in which round 0's Commit phase opened


def _setup(chain: Chain, n: int) -> Seats:
    """Fund, register and join N contributors and VALIDATORS validators to a fresh task (all
    through ``chain``); the last join fills the seats and opens round 0's Commit phase."""
    dml = DecentralMl(chain)
    alice = dev_account("alice")
    contributors = [Account(os.urandom(32)) for _ in range(n)]
    validators = [Account(os.urandom(32)) for _ in range(VALIDATORS)]
    everyone = contributors + validators
    chain.submit_many(alice.keypair, [("Balances", "transfer_keep_alive",
                                       {"dest": a.ss58_address, "value": 200 * UNIT})
                                      for a in everyone], timeout=120)
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
    joins = dml.submit_all([(a.keypair, dml.join_task_call(
        task_id, r, UNIT if r == Role.CONTRIBUTOR else 2 * UNIT)) for a, r in roles])
    task = dml.task(task_id)
    assert task is not None and task.phase == "Commit", task
    opened = [r.block_number for r in joins if any(
        e.name == "PhaseChanged" and e.record.phase == "Commit" for e in r.events)]
    return Seats(task_id, int(task.retries), contributors, validators,
                 opened[0] if opened else max(r.block_number for r in joins))


def _best(url: str, client: httpx.Client, finalized: bool = False) -> int:
    def call(method: str, params: list[Any]) -> Any:
        body = client.post(url, json={"id": 1, "jsonrpc": "2.0", "method": method,
                                      "params": params}).json()
        return body["result"]

    params = [call("chain_getFinalizedHead", [])] if finalized else []
    return int(call("chain_getHeader", params)["number"], 16)


class FinalityWatch:
    """Polls every node's best and finalised head every ~100 ms in a thread; ``max_lag`` is
    the largest (best − finalised) seen on any node."""

    def __init__(self, urls: list[str]) -> None:
        self.urls = [u.replace("ws://", "http://", 1) for u in urls]
        self.max_lag = 0
        self.lags: dict[int, int] = {}  # lag → how many node polls saw it
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        with httpx.Client(timeout=5, trust_env=False) as client:
            while not self._stop.is_set():
                for url in self.urls:
                    try:
                        best, fin = _best(url, client), _best(url, client, finalized=True)
                    except (httpx.HTTPError, KeyError, ValueError):
                        continue
                    self.max_lag = max(self.max_lag, best - fin)
                    self.lags[best - fin] = self.lags.get(best - fin, 0) + 1
                self._stop.wait(0.1)

    def __enter__(self) -> FinalityWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def _wait_heads(urls: list[str], number: int, timeout: float = 30.0) -> None:
    """Until every node's best block is ``number`` or later (so that the next phase's
    transactions are checked against a state holding this one's)."""
    end = time.monotonic() + timeout
    with httpx.Client(timeout=5, trust_env=False) as client:
        for url in (u.replace("ws://", "http://", 1) for u in urls):
            while _best(url, client) < number:
                if time.monotonic() > end:
                    raise TimeoutError(f"{url} did not import block #{number}")
                time.sleep(0.02)


def _phase(pool: ThreadPoolExecutor, chains: list[Chain], urls: list[str],
           trace: list[Any] | None, items: list[tuple[int, Account, Any]]
           ) -> tuple[int, list[Receipt]]:
    """Send one phase's transactions, ``(participant, account, call)``, each through its
    participant's node, every node's share concurrently; returns the last block used and
    the receipts."""
    share: list[list[Any]] = [[] for _ in chains]
    for participant, account, call in items:
        share[node_of(participant, len(chains))].append((account.keypair, call))

    def send(k: int) -> list[Receipt]:
        return DecentralMl(chains[k]).submit_all(share[k]) if share[k] else []

    per_node = list(pool.map(send, range(len(chains))))
    receipts = [r for rs in per_node for r in rs]
    last = max(r.block_number for r in receipts)
    if trace is not None:  # which blocks each node's share landed in, and how many in each
        trace.append({str(k): {str(b): [r.block_number for r in rs].count(b)
                               for b in sorted({r.block_number for r in rs})}
                      for k, rs in enumerate(per_node) if rs})
    if len(chains) > 1:
        _wait_heads(urls, last)
    return last, receipts


def _play(chains: list[Chain], urls: list[str], seats: Seats, trace: list[Any]) -> int:
    """Every phase of round 0 with real extrinsics; returns the block it was finalised in
    (``trace`` gets, per phase, the blocks each node's transactions landed in)."""
    t, a, n = seats.task_id, seats.attempt, len(seats.contributors)
    salts = {x.ss58_address: os.urandom(32) for x in seats.contributors + seats.validators}
    hashes = {x.ss58_address: os.urandom(32) for x in seats.contributors}
    dml = DecentralMl(chains[0])
    cs = list(enumerate(seats.contributors))
    vs = [(n + j, v) for j, v in enumerate(seats.validators)]
    with ThreadPoolExecutor(len(chains)) as pool:
        _phase(pool, chains, urls, trace, [(i, c, dml.commit_update_call(t, 0, update_commitment(
            t, 0, a, c.public_key, hashes[c.ss58_address], 100, salts[c.ss58_address])))
            for i, c in cs])
        _, revealed = _phase(pool, chains, urls, trace, [(i, c, dml.reveal_update_call(
            t, 0, f"bafkrei{c.ss58_address.lower()[:52]}", hashes[c.ss58_address], 100,
            salts[c.ss58_address])) for i, c in cs])
        # the submissions as validators learn them: from the blocks' UpdateRevealed events
        verdicts = [(s, True, 9_000, 0) for s in sorted(
            e.record.submission for r in revealed for e in r.find("UpdateRevealed"))]
        assert len(verdicts) == n, verdicts
        _phase(pool, chains, urls, trace, [(i, v, dml.commit_vote_call(t, 0, vote_commitment(
            t, 0, a, v.public_key, verdicts, salts[v.ss58_address]))) for i, v in vs])
        _phase(pool, chains, urls, trace, [(i, v, dml.reveal_vote_call(
            t, 0, verdicts, salts[v.ss58_address])) for i, v in vs])
        cid, model_hash = "bafkreiaggregateaggregateaggregateaggregateaggregateaggr", \
            os.urandom(32)
        attested, _ = _phase(pool, chains, urls, trace, [(i, v, dml.attest_aggregate_call(
            t, 0, cid, model_hash, 9_000)) for i, v in vs])
    end = time.monotonic() + 60
    while (task := dml.task(t)) is None or task.round < 1:  # the pallet finalises it
        if time.monotonic() > end:
            raise TimeoutError(f"round 0 of task {t} was not finalised: {task}")
        time.sleep(0.05)
    for number, events in chains[0].events_between(attested):
        if any(e.name == "RoundFinalized" and e.record.task_id == t for e in events):
            return number
    raise AssertionError(f"no RoundFinalized for task {t} from block #{attested}")


def _stamp(chain: Chain, number: int) -> int:
    return int(chain.query("Now", pallet="Timestamp", block_hash=chain.block_hash(number)))


def chain_round(chains: list[Chain], urls: list[str], n: int) -> dict[str, Any]:
    """One whole round with ``n`` contributors (see the module's docstring); its blocks,
    seconds (on-chain timestamps and wall clock), per-phase spans and finality lag."""
    chain = chains[0]
    seats = _setup(chain, n)
    if len(chains) > 1:
        _wait_heads(urls, seats.open_block)
    with FinalityWatch(urls if len(chains) > 1 else []) as watch:
        t0 = time.perf_counter()
        trace: list[Any] = []
        final = _play(chains, urls, seats, trace)
        wall = time.perf_counter() - t0
    changes = [(e.record.phase, number)
               for number, events in chain.events_between(seats.open_block, final)
               for e in events if e.name == "PhaseChanged" and e.record.task_id == seats.task_id
               and e.record.round == 0]
    assert [p for p, _ in changes] == list(PHASES), changes
    stamps = {b: _stamp(chain, b) for b in {seats.open_block, final, *(b for _, b in changes)}}
    return {"blocks": final - seats.open_block,
            "coordination_s": round((stamps[final] - stamps[seats.open_block]) / 1000, 3),
            "wall_s": round(wall, 3), "phases": phase_spans(changes, final, stamps),
            "finality_lag_blocks": watch.max_lag if len(chains) > 1 else None,
            "finality_lag_polls": {str(k): v for k, v in sorted(watch.lags.items())},
            "open_block": seats.open_block, "commit_block": changes[1][1], "final_block": final,
            "inclusion": dict(zip(("commits", "reveals", "vote_commits", "vote_reveals",
                                   "attestations"), trace, strict=True))}


# -- dev node with the other components of a round (--nodes 1) --------------------------------

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


def _components(store: Any, kubo: Any, n: int) -> dict[str, float]:
    """TFF training of one contributor, IPFS, validation and aggregation for ``n`` updates."""
    from decentralml_client.ml.aggregate import aggregate
    from decentralml_client.ml.codec import decode_tensors, encode_update, file_hash
    from decentralml_client.ml.data import load_digits_split, partition_iid
    from decentralml_client.ml.evaluate import apply_delta, evaluate
    from decentralml_client.ml.model_spec import default_digits_spec, make_initial_weights
    from decentralml_client.ml.train import train_local
    from decentralml_client.storage import IpfsStore

    m = default_digits_spec()
    w0 = make_initial_weights(m, 0)
    x_tr, y_tr, x_te, y_te = load_digits_split(seed=0)
    x, y = partition_iid(x_tr, y_tr, n, seed=0)[0]
    train = _median_time(lambda: train_local(m, w0, x, y, seed=1), 3)
    delta = train_local(m, w0, x, y, seed=1).delta
    update = encode_update(delta, m, task="0", round=0, base_model_hash="0x00",
                           num_examples=len(y))
    ipfs_add = _median_time(lambda: store.add(update + os.urandom(8)), 5)
    cid, h = store.add(update), file_hash(update)
    ipfs_fetch = _median_time(lambda: IpfsStore(kubo.api_multiaddr).fetch(cid, h), 5)

    def check() -> None:
        d = decode_tensors(update, m, kind="delta").tensors
        evaluate(m, apply_delta(w0, d), x_te, y_te)

    validate_one = _median_time(check, 5)
    agg = _median_time(lambda: aggregate("FedAvg", w0, [delta] * n, [len(y)] * n), 3)
    # contributors upload update + manifest in parallel; each validator then fetches both
    # files of all N updates (validators work in parallel); the aggregator and every
    # validator aggregate in parallel
    return {"training_s": train, "ipfs_s": 2 * ipfs_add + 2 * n * ipfs_fetch,
            "validation_s": n * validate_one, "aggregation_s": agg}


def dev_node_mode(sizes: list[int], out: Path, skip_ml: bool) -> dict[str, Any]:
    """The round on the dev node beside the other components of a round (``roles.json``)."""
    from decentralml_client.services.kubo import KuboDaemon
    from decentralml_client.storage import IpfsStore

    results: dict[str, Any] = {"machine": f"{os.cpu_count()} cores", "validators": VALIDATORS,
                               "load_before": _uptime()}
    with tempfile.TemporaryDirectory() as tmp:
        with NodeNetwork(Path(tmp) / "chain", nodes=1, port=free_port()) as dev, \
                Chain(dev.url) as chain:
            kubo = None if skip_ml else KuboDaemon(Path(tmp) / "ipfs").start()
            try:
                per_size = {}
                for n in sizes:
                    parts = {} if kubo is None else _components(
                        IpfsStore(kubo.api_multiaddr), kubo, n)
                    r = chain_round([chain], [dev.url], n)
                    row = {**{k: round(v, 4) for k, v in parts.items()},
                           "chain_s": r["wall_s"], "blocks_per_round": r["blocks"],
                           "commit_block_build_ms": _proposal_ms(dev.nodes[0].log_path,
                                                                 r["commit_block"])}
                    if parts:
                        row["chain_over_training"] = round(r["wall_s"] / parts["training_s"], 2)
                        row["overhead_ratio"] = round(sum(
                            v for k, v in parts.items() if k != "training_s") / parts[
                            "training_s"] + r["wall_s"] / parts["training_s"], 3)
                    per_size[str(n)] = row
                    print(n, row, file=sys.stderr)
            finally:
                if kubo is not None:
                    kubo.stop()
    results["per_round"] = per_size
    results["targets"] = {"blocks_per_round": "<= 8 at every N",
                          "chain_over_training": "<= 5 at 64 contributors"}
    results["load_after"] = _uptime()
    return results


# -- the 4-authority network (--nodes 4) ------------------------------------------------------

def _uptime() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True, check=False).stdout.strip()


def network_mode(sizes: list[int], nodes: int, slot: int | None) -> dict[str, Any]:
    """Each size on a ``nodes``-authority network, then on the dev node (same run)."""
    slot_ms = slot or spec_slot_ms(json.loads(LOCAL_CHAIN_SPEC.read_text()))
    run: dict[str, Any] = {"machine": f"{os.cpu_count()} cores", "nodes": nodes,
                           "slot_ms": slot_ms, "validators": VALIDATORS,
                           "load_before": _uptime()}
    network: dict[int, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        with NodeNetwork(Path(tmp) / "net", nodes=nodes, port=free_port(),
                         slot_ms=slot) as net:
            net.wait_finalized(1)
            urls = [p.url for p in net.nodes]
            chains = [Chain(u) for u in urls]
            try:
                for n in sizes:
                    network[n] = chain_round(chains, urls, n)
                    print(f"network n={n}", network[n], file=sys.stderr)
            finally:
                for c in chains:
                    c.close()
        run["load_between"] = _uptime()
        with NodeNetwork(Path(tmp) / "dev", nodes=1, port=free_port()) as dev, \
                Chain(dev.url) as chain:
            dev_rounds = {n: chain_round([chain], [dev.url], n) for n in sizes}
    per_size = {}
    for n in sizes:
        r, d = network[n], dev_rounds[n]
        per_size[str(n)] = {
            **{k: r[k] for k in ("blocks", "coordination_s", "wall_s", "phases",
                                 "finality_lag_blocks", "finality_lag_polls", "open_block",
                                 "final_block", "inclusion")},
            "dev_node": {k: d[k] for k in ("blocks", "coordination_s", "wall_s")},
            "network_over_dev_node": round(r["coordination_s"] / max(d["coordination_s"], 1e-3), 1),
            "targets_met": check_targets(n, r["blocks"], r["coordination_s"],
                                         r["finality_lag_blocks"])}
        print(n, per_size[str(n)], file=sys.stderr)
    run["per_round"] = per_size
    run["load_after"] = _uptime()
    return run


def committees_mode(args: argparse.Namespace) -> dict[str, Any]:
    """One round of a task with committees at scale on the dev node (``--nodes 1``) or on a
    network of authorities; keyed by its setting, to merge into ``roles-committees.json``."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from roles_committees import committee_round

    key = (f"{args.contributors}x{args.validators}-committee{args.committee}"
           f"-cohort{args.cohort}-audit{round(args.audit * 100)}-nodes{args.nodes}")
    run: dict[str, Any] = {"machine": f"{os.cpu_count()} cores", "nodes": args.nodes,
                           "load_before": _uptime(), "measured_at": time.strftime(
                               "%Y-%m-%d %H:%M UTC", time.gmtime())}
    with tempfile.TemporaryDirectory() as tmp:
        with NodeNetwork(Path(tmp) / "net", nodes=args.nodes, port=free_port(),
                         slot_ms=args.slot_ms if args.nodes > 1 else None) as net:
            if args.nodes > 1:
                net.wait_finalized(1)
                run["slot_ms"] = args.slot_ms or spec_slot_ms(
                    json.loads(LOCAL_CHAIN_SPEC.read_text()))
            run.update(committee_round([p.url for p in net.nodes], args.contributors,
                                       args.validators, args.committee, args.cohort,
                                       permill(args.audit)))
    run["load_after"] = _uptime()
    print(key, json.dumps(run, indent=1), file=sys.stderr)
    return {key: run}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--nodes", type=int, default=1, help="1: dev node (+ ML components); "
                    "2-4: a loopback network of that many authorities")
    ap.add_argument("--sizes", default=None, help="contributors per round (comma-separated)")
    ap.add_argument("--slot-ms", type=int, default=None,
                    help="Aura slot of the network (default: the local chain spec's)")
    ap.add_argument("--skip-ml", action="store_true",
                    help="--nodes 1: the chain round only (no TFF/Kubo component timings)")
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument("--contributors", type=int, default=None,
                    help="a task with committees at scale (bench/roles_committees.py): this "
                         "many contributors, --validators validators, --committee judges per "
                         "update → results/roles-committees.json")
    ap.add_argument("--validators", type=int, default=64)
    ap.add_argument("--committee", type=int, default=3)
    ap.add_argument("--cohort", type=int, default=0, help="contributors drawn (0: all)")
    ap.add_argument("--audit", type=float, default=0.1, help="audited share of the updates")
    args = ap.parse_args(argv)
    if args.contributors is not None:
        out = args.out or Path("bench/results/roles-committees.json")
        results = committees_mode(args)
        merged = json.loads(out.read_text()) if out.is_file() else {}
        merged.setdefault("runs", {}).update(results)
        results = merged
    elif args.nodes == 1:
        sizes = [int(s) for s in (args.sizes or "4,16,64,256").split(",")]
        out = args.out or Path("bench/results/roles.json")
        results = dev_node_mode(sizes, out, args.skip_ml)
    else:
        sizes = [int(s) for s in (args.sizes or "4,16,64").split(",")]
        out = args.out or Path("bench/results/roles-network.json")
        run = network_mode(sizes, args.nodes, args.slot_ms)
        results = json.loads(out.read_text()) if out.is_file() else {}
        results.update(targets=NETWORK_TARGETS, context=CONTEXT)
        results.setdefault("runs", {})[f"{run['slot_ms']}ms"] = run
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
