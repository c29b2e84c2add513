"""Extrinsics included per second on a running dev chain (fresh Chopsticks, Instant mode).

Twelve dev accounts (sr25519 and ed25519 Alice..Ferdie) register as contributors and join one
task, then commit: every call is a real DecentralMl extrinsic. Measured twice:
- sequential: one client submits and waits for inclusion before the next;
- pipelined: the twelve commits of a second task are submitted at once (explicit nonces), and
  the time until all are included is measured.

    python chain/scripts/bench_devchain.py [ws://127.0.0.1:9944]
"""

import hashlib
import sys
import time
from concurrent.futures import ThreadPoolExecutor

from smoke_check import UNIT, dev_key
from substrateinterface import KeypairType, SubstrateInterface

NAMES = ("Alice", "Bob", "Charlie", "Dave", "Eve", "Ferdie")


def spec(contributors: int) -> dict:
    return {
        "model_cid": "0x" + b"bafy-bench".hex(), "model_hash": "0x" + "ab" * 32,
        "rounds": 1, "min_contributors": 1, "max_contributors": contributors,
        "quorum": 500_000, "min_validators": 1, "reward_per_round": UNIT,
        "validator_share": 0, "rule": "FedAvg", "max_examples": 100,
        "commit_blocks": 10_000, "reveal_blocks": 100, "vote_blocks": 100, "attest_blocks": 100,
        "max_retries": 0, "private": False,
    }


def main(url: str) -> None:
    chain = SubstrateInterface(url=url)
    keys = [dev_key(n, t) for t in (KeypairType.SR25519, KeypairType.ED25519) for n in NAMES]
    creator = keys[0]

    def send(key, name, wait=True, nonce=None, conn=None, **params):
        conn = conn or chain
        call = conn.compose_call("DecentralMl", name, params)
        xt = conn.create_signed_extrinsic(call=call, keypair=key, nonce=nonce)
        receipt = conn.submit_extrinsic(xt, wait_for_inclusion=wait)
        if wait:
            assert receipt.is_success, (name, receipt.error_message)
        return receipt

    def commitment(key, task):
        return "0x" + hashlib.blake2b(bytes(32) + bytes([task]) * 32 + key.public_key, digest_size=32).hexdigest()

    count, start = 0, time.monotonic()
    first = chain.query("DecentralMl", "NextTaskId").value
    send(creator, "create_task", spec=spec(len(keys)))
    send(creator, "create_task", spec=spec(len(keys)))
    count += 2
    for key in keys:
        send(key, "register", role="Contributor", stake=10 * UNIT, x25519_key="0x" + "00" * 32)
        send(key, "join_task", task_id=first, role="Contributor")
        send(key, "join_task", task_id=first + 1, role="Contributor")
        count += 3
    for key in keys:
        send(key, "commit_update", task_id=first, round=0, commitment=commitment(key, first))
        count += 1
    elapsed = time.monotonic() - start
    print(f"sequential: {count} extrinsics in {elapsed:.2f}s = {count / elapsed:.1f}/s "
          f"({1000 * elapsed / count:.0f} ms each, submit + inclusion)")

    # Pipelined: one connection per account, all twelve commits in flight at once.
    conns = [SubstrateInterface(url=url) for _ in keys]
    nonces = [chain.get_account_nonce(k.ss58_address) for k in keys]
    before = chain.get_block_number(chain.get_chain_head())
    start = time.monotonic()
    with ThreadPoolExecutor(len(keys)) as pool:
        list(pool.map(lambda i: send(keys[i], "commit_update", wait=False, nonce=nonces[i], conn=conns[i],
                                     task_id=first + 1, round=0, commitment=commitment(keys[i], first + 1)),
                      range(len(keys))))
    while chain.query("DecentralMl", "SubmissionCount", [(first + 1, 0)]).value < len(keys):
        time.sleep(0.02)
    elapsed = time.monotonic() - start
    after = chain.get_block_number(chain.get_chain_head())
    print(f"pipelined: {len(keys)} commits included in {elapsed:.2f}s = {len(keys) / elapsed:.1f}/s "
          f"in {after - before} blocks")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "ws://127.0.0.1:9944")
