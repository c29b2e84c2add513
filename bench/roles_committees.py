"""A whole round of a task with committees at scale (``bench_roles.py --contributors N
--validators V --committee K [--cohort C] [--audit A] [--nodes 4]``).

N fresh contributors and V fresh validators are funded, registered and joined to one task
(``cohort``, ``committee``, ``audit`` as given), then round 0 is played with real extrinsics:
the drawn contributors commit and reveal, each validator commits and reveals a vote on exactly
the updates whose judges include it (recomputed with :mod:`decentralml_client.protocol.sampling`
from the chain's ``committee_seed`` and the round's electorate), then every validator attests
one aggregate (the first proposes it) and the pallet finalises the round (``on_idle``).

Setup signs in bulk: every transaction is signed first with an explicit nonce (a fresh account
starts at 0: register 0, join 1, commit 2, reveal 3), then the whole batch is handed to the
pool without waiting for inclusion, and the batch is checked on chain (nonces and state)
instead of reading thousands of receipts.

Figures: blocks per round (from the block that opened the round to the one that finalised it),
seconds per round (on-chain ``Timestamp.Now``; wall clock too), for every block of the round
its ``frame_system::BlockWeight`` against ``System.BlockWeights`` (normal class: ``max_total``;
all classes: ``max_block``) and its extrinsics, and the evaluations per validator (the
submissions it judges; goal ≤ 3·N/V plus the audits).
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import websocket

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from decentralml_client.chain import UNIT, Chain, DecentralMl, Role, TaskSpec, permill  # noqa: E402
from decentralml_client.chain.api import account_id  # noqa: E402
from decentralml_client.chain.client import PALLET  # noqa: E402
from decentralml_client.chain.records import Task  # noqa: E402
from decentralml_client.keys import Account, dev_account  # noqa: E402
from decentralml_client.protocol import update_commitment, vote_commitment  # noqa: E402
from decentralml_client.protocol.sampling import (  # noqa: E402
    AUDIT_FACTOR,
    in_cohort,
    is_audited,
    judges,
)

Signed = tuple[str, str]  # (signer address, 0x hex of the signed extrinsic)


# -- pure helpers (tests/bench/test_bench_roles.py) ---------------------------------------------

def evaluations(assigned: dict[str, list[int]], n: int, v: int, committee: int,
                audited: int) -> dict[str, Any]:
    """Evaluations per validator (the submissions each judges) against the goal: on average
    ``committee × n / v`` per validator plus the audits (each of the ``audited`` updates has
    ``AUDIT_FACTOR`` times the judges, at most ``v``). Judges are drawn by stake, so a
    validator's count varies around the mean."""
    counts = sorted(len(s) for s in assigned.values())
    base = committee * n / v
    goal = (committee * (n - audited) + min(AUDIT_FACTOR * committee, v) * audited) / v
    mean = statistics.mean(counts) if counts else 0.0
    return {"mean": round(mean, 2), "min": counts[0] if counts else 0,
            "max": counts[-1] if counts else 0, "goal_base": round(base, 2),
            "audited_updates": audited, "goal_with_audits": round(goal, 2),
            "mean_within_goal": mean <= goal + 1e-9,
            "updates": n, "full_judging_would_be": n}


def weight_shares(weights: dict[int, dict[str, Any]], limits: dict[str, int]
                  ) -> dict[int, dict[str, float]]:
    """Each block's ``BlockWeight`` (ref time) as shares: normal class of its ``max_total``,
    all classes of ``max_block``."""
    out = {}
    for number, w in weights.items():
        normal = int(w["normal"]["ref_time"])
        total = sum(int(w[c]["ref_time"]) for c in ("normal", "operational", "mandatory"))
        out[number] = {"normal": round(normal / limits["normal_max_total"], 4),
                       "total": round(total / limits["max_block"], 4)}
    return out


# -- bulk signing and sending -----------------------------------------------------------------

def sign_all(chain: Chain, items: list[tuple[Any, str, str, dict[str, Any], int]]
             ) -> list[Signed]:
    """Sign ``(keypair, pallet, call, params, nonce)`` items with their explicit nonces."""
    sub = chain.substrate
    out = []
    for keypair, pallet, call, params, nonce in items:
        composed = sub.compose_call(pallet, call, params)
        ext = sub.create_signed_extrinsic(composed, keypair, nonce=nonce)
        out.append((keypair.ss58_address, str(ext.data)))
    return out


def send_all(chains: list[Chain], signed: list[tuple[int, Signed]]) -> None:
    """Hand every ``(participant, signed)`` to its participant's node's pool (node
    ``participant % len(chains)``, every node's share concurrently), without waiting: one
    JSON-RPC batch per node, so a phase's transactions reach the pool within one slot (one
    request per transaction spread a thousand of them over two 2 s slots)."""
    share: list[list[str]] = [[] for _ in chains]
    for participant, (_, data) in signed:
        share[participant % len(chains)].append(data)

    def send(k: int) -> None:
        if not share[k]:
            return
        batch = [{"jsonrpc": "2.0", "id": i, "method": "author_submitExtrinsic",
                  "params": [data]} for i, data in enumerate(share[k])]
        ws = websocket.create_connection(chains[k].url, timeout=120)
        try:
            ws.send(json.dumps(batch))
            replies = json.loads(ws.recv())
        finally:
            ws.close()
        if not isinstance(replies, list):
            replies = [replies]
        refused = [r["error"] for r in replies if "error" in r]
        if refused or len(replies) != len(batch):
            raise RuntimeError(f"node {k} refused {len(refused)} of {len(batch)} "
                               f"transactions: {refused[:3]}")

    with ThreadPoolExecutor(len(chains)) as pool:
        list(pool.map(send, range(len(chains))))


def wait_until(what: str, ready: Callable[[], bool], timeout: float = 300.0,
               poll: float = 0.05) -> float:
    """Poll ``ready`` until true; returns the seconds it took."""
    t0 = time.monotonic()
    while not ready():
        if time.monotonic() - t0 > timeout:
            raise TimeoutError(f"{what}: not reached within {timeout:.0f} s")
        time.sleep(poll)
    return time.monotonic() - t0


def synced(chains: list[Chain]) -> None:
    """Until every node's best block is the first node's (a network: the next batch is
    checked against a state that holds the last one)."""
    if len(chains) > 1:
        target = chains[0].head()[0]
        wait_until("heads", lambda: all(c.head()[0] >= target for c in chains[1:]))


def nonces_reach(chain: Chain, accounts: list[str], nonce: int) -> Callable[[], bool]:
    def ready() -> bool:
        return all(int(chain.substrate.get_account_nonce(a)) >= nonce for a in accounts)
    return ready


# -- setup ------------------------------------------------------------------------------------

@dataclass
class Task0:
    task_id: int
    contributors: list[Account]
    validators: list[Account]
    open_block: int
    setup: dict[str, float] = field(default_factory=dict)
    # every contributor's commit and reveal of round 0, signed before the round opens (only
    # the drawn ones are sent), and every account's salt
    presigned: dict[str, tuple[Signed, Signed]] = field(default_factory=dict)
    salts: dict[str, bytes] = field(default_factory=dict)


def presign(chain: Chain, task_id: int, contributors: list[Account]
            ) -> tuple[dict[str, tuple[Signed, Signed]], dict[str, bytes]]:
    """Round 0's commit (nonce 2) and reveal (nonce 3) of every contributor, and the salts:
    nothing in them depends on the draw, so the round does not wait for the bench's signing."""
    dml = DecentralMl(chain)
    salts = {c.ss58_address: os.urandom(32) for c in contributors}
    hashes = {c.ss58_address: os.urandom(32) for c in contributors}
    commits = sign_all(chain, [(c.keypair, PALLET, *dml.commit_update_call(
        task_id, 0, update_commitment(task_id, 0, 0, c.public_key, hashes[c.ss58_address], 100,
                                      salts[c.ss58_address])), 2) for c in contributors])
    reveals = sign_all(chain, [(c.keypair, PALLET, *dml.reveal_update_call(
        task_id, 0, f"bafkrei{c.ss58_address.lower()[:52]}", hashes[c.ss58_address], 100,
        salts[c.ss58_address]), 3) for c in contributors])
    return {c.ss58_address: (cm, rv) for c, cm, rv in zip(contributors, commits, reveals,
                                                         strict=True)}, salts


def setup(chains: list[Chain], n: int, v: int, committee: int, cohort: int,
          audit_ppm: int) -> Task0:
    """Fund, register and join ``n`` contributors and ``v`` validators to a fresh task; the
    last join fills the seats and opens round 0."""
    chain = chains[0]
    dml = DecentralMl(chain)
    timings: dict[str, float] = {}
    t = time.monotonic()
    contributors = [Account(os.urandom(32)) for _ in range(n)]
    validators = [Account(os.urandom(32)) for _ in range(v)]
    everyone = contributors + validators
    timings["keys_s"] = time.monotonic() - t
    alice = dev_account("alice")
    start = int(chain.substrate.get_account_nonce(alice.ss58_address))
    t = time.monotonic()
    signed = sign_all(chain, [(alice.keypair, "Balances", "transfer_keep_alive",
                               {"dest": a.ss58_address, "value": 200 * UNIT}, start + i)
                              for i, a in enumerate(everyone)])
    timings["fund_sign_s"] = time.monotonic() - t
    send_all(chains[:1], list(enumerate(signed)))  # one signer: one node keeps the order
    timings["fund_s"] = time.monotonic() - t
    timings["fund_s"] += wait_until("funding", nonces_reach(chain, [alice.ss58_address],
                                                             start + len(everyone)))
    synced(chains)
    stake = {Role.CONTRIBUTOR: int(chain.constant("MinContributorStake")),
             Role.VALIDATOR: int(chain.constant("MinValidatorStake"))}
    bond = {Role.CONTRIBUTOR: int(chain.constant("MinContributorBond")),
            Role.VALIDATOR: int(chain.constant("MinValidatorBond"))}
    roles = [(a, Role.CONTRIBUTOR) for a in contributors] + \
        [(a, Role.VALIDATOR) for a in validators]
    t = time.monotonic()
    signed = sign_all(chain, [(a.keypair, PALLET, *dml.register_call(r, stake[r],
                                                                     a.x25519_public), 0)
                              for a, r in roles])
    send_all(chains, list(enumerate(signed)))
    addresses = [a.ss58_address for a in everyone]
    wait_until("registration", nonces_reach(chain, addresses, 1))
    synced(chains)
    timings["register_s"] = time.monotonic() - t
    spec = TaskSpec(model_cid="bafkreibenchmarkbenchmarkbenchmarkbenchmarkbenchmarkbench",
                    model_hash="0x" + "ab" * 32, rounds=2, min_contributors=min(n, cohort or n),
                    max_contributors=n, max_validators=v, min_validators=2,
                    quorum=permill(2 / 3), enrol_blocks=1_000, commit_blocks=1_000,
                    reveal_blocks=1_000, vote_blocks=1_000, vote_reveal_blocks=1_000,
                    attest_blocks=1_000, contributor_bond=bond[Role.CONTRIBUTOR],
                    validator_bond=bond[Role.VALIDATOR], cohort=cohort, committee=committee,
                    audit=audit_ppm)
    task_id = dml.create_task(alice.keypair, spec)
    synced(chains)
    t = time.monotonic()
    presigned, salts = presign(chain, task_id, contributors)
    timings["presign_round_s"] = time.monotonic() - t
    t = time.monotonic()
    signed = sign_all(chain, [(a.keypair, PALLET, *dml.join_task_call(task_id, r, bond[r]), 1)
                              for a, r in roles])
    send_all(chains, list(enumerate(signed)))
    wait_until("joining", nonces_reach(chain, addresses, 2))
    synced(chains)
    timings["join_s"] = time.monotonic() - t
    task = dml.task(task_id)
    assert task is not None and task.phase == "Commit", task
    assert (task.num_contributors, task.num_validators) == (n, v), task
    return Task0(task_id, contributors, validators, task.phase_ends_at - spec.commit_blocks,
                 {k: round(s, 2) for k, s in timings.items()}, presigned, salts)


# -- the round --------------------------------------------------------------------------------

def _phase_is(dml: DecentralMl, task_id: int, *phases: str,
              chains: list[Chain] | None = None) -> Callable[[], bool]:
    """The task has reached one of ``phases`` (or a later round) on the first node, and every
    other node has imported that block."""
    def ready() -> bool:
        t = dml.task(task_id)
        if t is None or not (t.phase in phases or t.round > 0):
            return False
        synced(chains or [])
        return True
    return ready


def assignments(dml: DecentralMl, task: Task) -> tuple[dict[str, list[int]], int]:
    """Validator → the revealed submissions it judges, ascending (the chain's draw), and how
    many updates are audited."""
    bonds = dml.electorate(task.id, task.round)
    electorate = [(account_id(a), b) for a, b in bonds.items()]
    by_id = {account_id(a): a for a in bonds}
    out: dict[str, list[int]] = {a: [] for a in bonds}
    audited = 0
    seed = task.committee_seed.raw
    for i, s in sorted(dml.submissions(task.id, task.round).items()):
        if s.revealed:
            who = account_id(s.contributor)
            audited += is_audited(task.id, task.round, task.retries, seed, who, task.spec.audit)
            for j in judges(task.id, task.round, task.retries, seed, who, electorate,
                            task.spec.committee, task.spec.audit):
                out[by_id[j]].append(i)
    return out, audited


def play(chains: list[Chain], t0: Task0) -> dict[str, Any]:
    """Round 0 with real extrinsics; returns the figures of :func:`round_figures`."""
    chain = chains[0]
    dml = DecentralMl(chain)
    tid = t0.task_id
    task = dml.task(tid)
    assert task is not None
    attempt = task.retries
    assert attempt == 0, task  # what the presigned commitments are for
    drawn = [(i, c) for i, c in enumerate(t0.contributors)
             if in_cohort(tid, 0, attempt, task.draw_seed.raw, account_id(c.ss58_address),
                          task.cohort_cut)]
    assert len(drawn) == task.cohort_size, (len(drawn), task.cohort_size)
    salts = {**t0.salts, **{v.ss58_address: os.urandom(32) for v in t0.validators}}
    commits = [t0.presigned[c.ss58_address][0] for _, c in drawn]
    reveals = [t0.presigned[c.ss58_address][1] for _, c in drawn]
    steps: dict[str, float] = {}
    t_start = time.monotonic()
    send_all(chains, [(i, s) for (i, _), s in zip(drawn, commits, strict=True)])
    steps["commit_s"] = wait_until("commits", _phase_is(dml, tid, "Reveal", chains=chains))
    send_all(chains, [(i, s) for (i, _), s in zip(drawn, reveals, strict=True)])
    steps["reveal_s"] = wait_until("reveals", _phase_is(dml, tid, "VoteCommit", chains=chains))
    t = time.monotonic()
    task = dml.task(tid)
    assert task is not None and task.phase == "VoteCommit", task
    assigned, audited = assignments(dml, task)
    verdicts = {a: [(i, True, 9_000, 0) for i in subs] for a, subs in assigned.items()}
    n = len(t0.contributors)
    vs = [(n + j, v) for j, v in enumerate(t0.validators)]
    vote_commits = sign_all(chain, [(v.keypair, PALLET, *dml.commit_vote_call(
        tid, 0, vote_commitment(tid, 0, attempt, v.public_key, verdicts[v.ss58_address],
                                salts[v.ss58_address])), 2) for _, v in vs])
    vote_reveals = sign_all(chain, [(v.keypair, PALLET, *dml.reveal_vote_call(
        tid, 0, verdicts[v.ss58_address], salts[v.ss58_address]), 3) for _, v in vs])
    model_hash = os.urandom(32)
    cid = "bafkreiaggregateaggregateaggregateaggregateaggregateaggr"
    attests = sign_all(chain, [(v.keypair, PALLET, *dml.attest_aggregate_call(
        tid, 0, cid, model_hash, 9_000), 4) for _, v in vs])
    steps["judges_and_signing_s"] = time.monotonic() - t
    send_all(chains, [(i, s) for (i, _), s in zip(vs, vote_commits, strict=True)])
    steps["vote_commit_s"] = wait_until("vote commits",
                                        _phase_is(dml, tid, "VoteReveal", chains=chains))
    send_all(chains, [(i, s) for (i, _), s in zip(vs, vote_reveals, strict=True)])
    steps["vote_reveal_s"] = wait_until("vote reveals",
                                        _phase_is(dml, tid, "Aggregate", chains=chains))
    send_all(chains, [(i, s) for (i, _), s in zip(vs, attests, strict=True)])

    def finalised() -> bool:
        t = dml.task(tid)
        return t is not None and t.round >= 1

    steps["attest_s"] = wait_until("finalisation", finalised, timeout=120)
    wall = time.monotonic() - t_start
    figures = round_figures(chain, t0, assigned, audited, len(drawn))
    figures.update(wall_s=round(wall, 3), steps_s={k: round(s, 3) for k, s in steps.items()},
                   drawn=len(drawn))
    return figures


def round_figures(chain: Chain, t0: Task0, assigned: dict[str, list[int]], audited: int,
                  updates: int) -> dict[str, Any]:
    """Blocks, seconds, weights and extrinsics of round 0, read back block by block."""
    dml = DecentralMl(chain)
    tid = t0.task_id
    task = dml.task(tid)
    assert task is not None
    limits_raw = chain.constant("BlockWeights", pallet="System")
    limits = {"max_block": int(limits_raw["max_block"]["ref_time"]),
              "normal_max_total": int(limits_raw["per_class"]["normal"]["max_total"]["ref_time"])}
    head, _ = chain.head()
    blocks: dict[int, dict[str, Any]] = {}
    final = None
    for number in range(t0.open_block, head + 1):
        h = chain.block_hash(number)
        state = dml.chain.query("Tasks", [tid], block_hash=h)
        raw = chain.substrate.rpc_request("chain_getBlock", [h])["result"]
        blocks[number] = {
            "weight": chain.query("BlockWeight", pallet="System", block_hash=h),
            "now": int(chain.query("Now", pallet="Timestamp", block_hash=h)),
            "extrinsics": len(raw["block"]["extrinsics"]) - 1,  # without the timestamp
            "phase": str(state["phase"]), "round": int(state["round"])}
        if blocks[number]["round"] >= 1:
            final = number
            break
    assert final is not None, "round 0 was not finalised"
    first = next((b for b in sorted(blocks) if b > t0.open_block and blocks[b]["extrinsics"]),
                 None)
    shares = weight_shares({b: blocks[b]["weight"] for b in blocks if b > t0.open_block},
                           limits)
    heaviest = max(shares, key=lambda b: shares[b]["normal"])
    heaviest_total = max(shares, key=lambda b: shares[b]["total"])
    spec = task.spec
    return {
        "blocks": final - t0.open_block, "open_block": t0.open_block, "final_block": final,
        # from the opening block (the last join) to finalisation; it includes the bench's
        # own signing of the commits and reveals once it learnt the draw
        "coordination_s": round((blocks[final]["now"] - blocks[t0.open_block]["now"]) / 1000, 3),
        # the blocks from the first one holding commits to the one that finalised the round
        "active_blocks": final - (first or t0.open_block + 1) + 1,
        # from the block of the first commits to the block that finalised the round
        "round_s": round((blocks[final]["now"] - blocks[first or t0.open_block]["now"]) / 1000,
                         3),
        "heaviest_normal_share": shares[heaviest]["normal"], "heaviest_normal_block": heaviest,
        "heaviest_total_share": shares[heaviest_total]["total"],
        "heaviest_total_block": heaviest_total, "limits": limits,
        "per_block": {str(b): {"phase_after": blocks[b]["phase"],
                               "extrinsics": blocks[b]["extrinsics"], **shares[b]}
                      for b in shares},
        "evaluations_per_validator": evaluations(assigned, updates,
                                                 len(t0.validators), spec.committee,
                                                 audited),
        "verdicts": sum(len(s) for s in assigned.values()),
    }


def committee_round(urls: list[str], n: int, v: int, committee: int, cohort: int,
                    audit_ppm: int) -> dict[str, Any]:
    """Set up and play one round on the nodes at ``urls`` (participant i on node i % len)."""
    chains = [Chain(u, timeout=120) for u in urls]
    try:
        t = time.monotonic()
        t0 = setup(chains, n, v, committee, cohort, audit_ppm)
        setup_s = time.monotonic() - t
        print(f"setup of {n}+{v} accounts: {setup_s:.1f} s {t0.setup}", file=sys.stderr)
        if len(chains) > 1:  # every node has imported the opening block
            wait_until("heads", lambda: all(c.head()[0] >= t0.open_block for c in chains))
        figures = play(chains, t0)
        return {"contributors": n, "validators": v, "committee": committee, "cohort": cohort,
                "audit_ppm": audit_ppm, "setup_s": round(setup_s, 1), "setup": t0.setup,
                **figures}
    finally:
        for c in chains:
            c.close()
