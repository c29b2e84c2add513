"""Extrinsics included per second on a running dev chain (fresh Chopsticks, Instant mode).

Twelve dev accounts (sr25519 and ed25519 Alice..Ferdie): sr25519 Alice creates two tasks,
sr25519 Bob joins both as their validator, the other ten register as contributors, join both
tasks with a bond (protocol v2: the creator cannot join its own task), and commit to an update
of the first: every call is a real DecentralMl extrinsic. Measured twice:
- sequential: one client submits and waits for inclusion before the next;
- pipelined: the ten commits of the second task are submitted at once (explicit nonces), and
  the time until all are included is measured.
Commitments are the v2 ones, computed here with hashlib:
blake2_256(task u32 ‖ round u32 ‖ attempt u32 ‖ account ‖ update_hash ‖ num_examples u64 ‖ salt).

    python chain/scripts/bench_devchain.py [--url ws://127.0.0.1:9944]
"""

import argparse
import hashlib
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from smoke_check import UNIT, dev_key
from substrateinterface import Keypair, KeypairType, SubstrateInterface

NAMES = ("Alice", "Bob", "Charlie", "Dave", "Eve", "Ferdie")


def spec(contributors: int) -> dict:
    return {
        "model_cid": "0x" + b"bafy-bench".hex(), "model_hash": "0x" + "ab" * 32,
        "rounds": 1, "min_contributors": 1, "max_contributors": contributors,
        "max_validators": 1, "quorum": 500_000, "min_validators": 1, "reward_per_round": UNIT,
        "validator_share": 0, "rule": "FedAvg", "server_optimizer": "None", "max_examples": 100,
        "example_weighting": "MedianCapped", "min_improvement": 0,
        "contributor_bond": UNIT, "validator_bond": 2 * UNIT, "admission": "Open",
        "enrol_blocks": 10_000, "commit_blocks": 10_000, "reveal_blocks": 100,
        "vote_blocks": 100, "vote_reveal_blocks": 100, "attest_blocks": 100,
        "max_retries": 0, "private": False, "max_idle_rounds": 0,
        "cohort": 0, "committee": 0, "audit": 0,
    }


def blake2_256(data: bytes) -> bytes:
    return hashlib.blake2b(data, digest_size=32).digest()


def commitment(key: Keypair, task: int) -> str:
    """The v2 update commitment of round 0, attempt 0, 100 examples, fixed salt."""
    le = lambda n, size=4: n.to_bytes(size, "little")  # noqa: E731
    update_hash = blake2_256(b"update" + key.public_key + le(task))
    data = (le(task) + le(0) + le(0) + key.public_key + update_hash + le(100, 8)
            + bytes([task % 256]) * 32)
    return "0x" + blake2_256(data).hex()


def main(url: str) -> None:
    chain = SubstrateInterface(url=url)
    keys = [dev_key(n, t) for t in (KeypairType.SR25519, KeypairType.ED25519) for n in NAMES]
    creator, validator, contributors = keys[0], keys[1], keys[2:]

    def send(key: Keypair, name: str, **params: Any) -> Any:
        call = chain.compose_call("DecentralMl", name, params)
        xt = chain.create_signed_extrinsic(call=call, keypair=key)
        receipt = chain.submit_extrinsic(xt, wait_for_inclusion=True)
        assert receipt.is_success, (name, receipt.error_message)
        return receipt

    def register(key: Keypair, role: str, stake: int) -> int:
        info = chain.query("DecentralMl", "Participants", [key.ss58_address]).value
        if info and info[role.lower() + "_stake"] is not None:
            return 0  # already registered (e.g. by smoke_check.py)
        send(key, "register", role=role, stake=stake, x25519_key="0x" + "00" * 32)
        return 1

    count, start = 0, time.monotonic()
    first = chain.query("DecentralMl", "NextTaskId").value
    send(creator, "create_task", spec=spec(len(contributors)))
    send(creator, "create_task", spec=spec(len(contributors)))
    count += 2
    count += register(validator, "Validator", 50 * UNIT)
    for task in (first, first + 1):
        send(validator, "join_task", task_id=task, role="Validator", bond=2 * UNIT)
        count += 1
    for key in contributors:
        count += register(key, "Contributor", 10 * UNIT)
        send(key, "join_task", task_id=first, role="Contributor", bond=UNIT)
        send(key, "join_task", task_id=first + 1, role="Contributor", bond=UNIT)
        count += 2
    for task in (first, first + 1):  # every seat taken: the commit phase is open
        assert chain.query("DecentralMl", "Tasks", [task]).value["phase"] == "Commit"
    for key in contributors:
        send(key, "commit_update", task_id=first, round=0, commitment=commitment(key, first))
        count += 1
    elapsed = time.monotonic() - start
    print(f"sequential: {count} extrinsics in {elapsed:.2f}s = {count / elapsed:.1f}/s "
          f"({1000 * elapsed / count:.0f} ms each, submit + inclusion)")

    # Pipelined: one connection per account, all ten commits in flight at once. The signed
    # extrinsics are built first (scalecodec's type registry is not thread-safe), then sent.
    conns = [SubstrateInterface(url=url) for _ in contributors]
    xts = []
    for key in contributors:
        call = chain.compose_call("DecentralMl", "commit_update", {
            "task_id": first + 1, "round": 0, "commitment": commitment(key, first + 1)})
        nonce = chain.get_account_nonce(key.ss58_address)
        xts.append(str(chain.create_signed_extrinsic(call=call, keypair=key, nonce=nonce).data))
    before = chain.get_block_number(chain.get_chain_head())
    start = time.monotonic()
    with ThreadPoolExecutor(len(contributors)) as pool:
        list(pool.map(lambda i: conns[i].rpc_request("author_submitExtrinsic", [xts[i]]),
                      range(len(contributors))))
    while chain.query("DecentralMl", "SubmissionCount", [(first + 1, 0)]).value < len(contributors):
        time.sleep(0.02)
    elapsed = time.monotonic() - start
    after = chain.get_block_number(chain.get_chain_head())
    print(f"pipelined: {len(contributors)} commits included in {elapsed:.2f}s = "
          f"{len(contributors) / elapsed:.1f}/s in {after - before} blocks")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Dev-chain throughput of DecentralMl calls.")
    parser.add_argument("--url", default="ws://127.0.0.1:9944")
    main(parser.parse_args().url)
