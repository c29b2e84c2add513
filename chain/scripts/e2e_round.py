"""One whole DecentralML task on a running dev chain, with plain substrate-interface.

sr25519 Alice creates a 1-round task; ed25519 Bob and Charlie contribute; sr25519 Dave and Eve
validate. Every phase closes early (everybody acts), so no empty blocks are needed. Checks the
events of each step, the stored task and the payments. Used to check the runtime wasm and the
chain specs end to end; needs a fresh chain (e.g. `chopsticks --genesis ...raw.json`).

    python chain/scripts/e2e_round.py [ws://127.0.0.1:9944]
"""

import hashlib
import sys
import time

from smoke_check import UNIT, dev_key
from substrateinterface import KeypairType, SubstrateInterface


def blake2_256(data: bytes) -> bytes:
    return hashlib.blake2b(data, digest_size=32).digest()


def main(url: str) -> None:
    chain = SubstrateInterface(url=url)
    sr, ed = KeypairType.SR25519, KeypairType.ED25519
    alice, dave, eve = (dev_key(n, sr) for n in ("Alice", "Dave", "Eve"))
    bob, charlie = (dev_key(n, ed) for n in ("Bob", "Charlie"))
    timings = []

    def send(key, name, **params):
        call = chain.compose_call("DecentralMl", name, params)
        xt = chain.create_signed_extrinsic(call=call, keypair=key)
        start = time.monotonic()
        receipt = chain.submit_extrinsic(xt, wait_for_inclusion=True)
        timings.append(time.monotonic() - start)
        assert receipt.is_success, (name, receipt.error_message)
        return [e.value["event_id"] for e in receipt.triggered_events if e.value["module_id"] == "DecentralMl"]

    for key, role, stake in ((bob, "Contributor", 10), (charlie, "Contributor", 10), (dave, "Validator", 50), (eve, "Validator", 50)):
        send(key, "register", role=role, stake=stake * UNIT, x25519_key="0x" + "22" * 32)

    task_id = chain.query("DecentralMl", "NextTaskId").value
    spec = {
        "model_cid": "0x" + b"bafy-initial-model".hex(),
        "model_hash": "0x" + blake2_256(b"model-0").hex(),
        "rounds": 1, "min_contributors": 2, "max_contributors": 8,
        "quorum": 666_667, "min_validators": 2,
        "reward_per_round": 100 * UNIT, "validator_share": 200_000,
        "rule": "FedAvg", "max_examples": 1000,
        "commit_blocks": 100, "reveal_blocks": 100, "vote_blocks": 100, "attest_blocks": 100,
        "max_retries": 1, "private": False,
    }
    events = send(alice, "create_task", spec=spec)
    assert "TaskCreated" in events, events
    task = chain.query("DecentralMl", "Tasks", [task_id]).value
    print("task", task_id, "created:", task["status"], task["phase"], "escrow", task["escrow"])

    for key in (bob, charlie):
        send(key, "join_task", task_id=task_id, role="Contributor")
    for key in (dave, eve):
        send(key, "join_task", task_id=task_id, role="Validator")

    salts = {}
    for key in (bob, charlie):
        update = blake2_256(b"update-" + key.public_key)
        salt = hashlib.sha256(key.public_key).digest()
        salts[key.ss58_address] = (update, salt)
        commitment = blake2_256(update + salt + key.public_key)
        events = send(key, "commit_update", task_id=task_id, round=0, commitment="0x" + commitment.hex())
    assert "PhaseChanged" in events, events  # all contributors committed: reveal opens
    for key, n in ((bob, 100), (charlie, 300)):
        update, salt = salts[key.ss58_address]
        events = send(key, "reveal_update", task_id=task_id, round=0, cid="0x" + b"bafy-update".hex(),
                      update_hash="0x" + update.hex(), num_examples=n, salt="0x" + salt.hex())
    assert "PhaseChanged" in events, events
    verdicts = [{"submission": 0, "accept": True, "score": 9100}, {"submission": 1, "accept": True, "score": 9200}]
    for key in (dave, eve):
        events = send(key, "vote", task_id=task_id, round=0, verdicts=verdicts)
    assert "PhaseChanged" in events, events
    aggregate = "0x" + blake2_256(b"aggregate-1").hex()
    send(bob, "propose_aggregate", task_id=task_id, round=0, cid="0x" + b"bafy-agg".hex(), hash=aggregate)
    send(dave, "attest_aggregate", task_id=task_id, round=0, hash=aggregate, score=9300)
    events = send(eve, "attest_aggregate", task_id=task_id, round=0, hash=aggregate, score=9300)
    assert "ModelAdopted" in events, events
    events = send(alice, "finalize_round", task_id=task_id, round=0)
    assert {"RoundFinalized", "RewardPaid", "TaskFinished"} <= set(events), events
    task = chain.query("DecentralMl", "Tasks", [task_id]).value
    summary = chain.query("DecentralMl", "RoundSummaries", [(task_id, 0)]).value
    print("task", task_id, "ended:", task["status"], "model", task["model_hash"], "paid", task["paid"])
    print("round 0:", summary)
    assert task["status"] == "Finished" and task["model_hash"] == aggregate
    print(f"{len(timings)} extrinsics, mean inclusion {sum(timings) / len(timings):.3f}s")
    print("OK")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "ws://127.0.0.1:9944")
