"""Whole DecentralML tasks and the incentive attacks on a dev chain, with plain substrate-interface.

An independent check of the v2 pallet: it does not import decentralml_client; the SCALE
commitments are computed here with hashlib. Against a running dev chain (Chopsticks) it

1. runs a whole honest round (``--quick`` skips it: the attack task's round is also a whole
   round): bonds, sealed update commitments, sealed votes (commit, then reveal), a proposal,
   attestations with CID and hash, finalisation and payment;
2. tries each capture / stall / replay / free-ride and expects a named refusal or an unpaid
   rejection: the creator joining its own task, a second role, reading or revealing a vote
   before the reveal window, a reveal different from the commit, a commitment replayed under
   another account, an inflated example count, a duplicate update, a proposal from outside the
   electorate, an attestation with a swapped CID, three Sybils splitting one honest validator's
   bond, and a junk (zero-score) update;
3. checks that balances are conserved up to the fees: total issuance before - after equals the
   sum of ``TransactionFeePaid.actual_fee`` in between, and the sum of every account's free +
   reserved equals the total issuance.

It prints one line per check and exits with status 1 if any failed. Fresh accounts funded by
//Alice, so it can run on a chain other sessions already used. To keep it fast it switches
Chopsticks to manual block building (``dev_setBlockBuildMode``) and builds one block per batch
of independent extrinsics; the mode is set back to Instant at the end.

    python chain/scripts/e2e_round.py [--url ws://127.0.0.1:9944] [--quick]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sys
import time
import traceback
from typing import Any

from substrateinterface import Keypair, KeypairType, SubstrateInterface
from substrateinterface.base import ExtrinsicReceipt

UNIT = 10**12
FAILURES: list[str] = []
Item = tuple[Keypair, str, str, dict[str, Any]]  # (signer, pallet, call, params)


def blake2_256(data: bytes) -> bytes:
    return hashlib.blake2b(data, digest_size=32).digest()


def u32(n: int) -> bytes:
    return n.to_bytes(4, "little")


def compact(n: int) -> bytes:
    if n < 1 << 6:
        return bytes([n << 2])
    if n < 1 << 14:
        return ((n << 2) | 1).to_bytes(2, "little")
    if n < 1 << 30:
        return ((n << 2) | 2).to_bytes(4, "little")
    raise ValueError(n)


def update_commitment(task: int, rnd: int, attempt: int, account: bytes, update_hash: bytes,
                      num_examples: int, salt: bytes) -> str:
    """blake2_256(SCALE(task u32, round u32, attempt u32, account, update_hash, n u64, salt))."""
    data = (u32(task) + u32(rnd) + u32(attempt) + account + update_hash
            + num_examples.to_bytes(8, "little") + salt)
    return "0x" + blake2_256(data).hex()


def vote_commitment(task: int, rnd: int, attempt: int, account: bytes,
                    verdicts: list[tuple[int, bool, int, int]], salt: bytes) -> str:
    """blake2_256(SCALE(task, round, attempt, account, Vec<Verdict>, salt)); a verdict is
    (submission u32, accept bool, score u32, probe u32)."""
    enc = compact(len(verdicts)) + b"".join(u32(s) + bytes([a]) + u32(sc) + u32(p)
                                            for s, a, sc, p in verdicts)
    return "0x" + blake2_256(u32(task) + u32(rnd) + u32(attempt) + account + enc + salt).hex()


def verdict_params(verdicts: list[tuple[int, bool, int, int]]) -> list[dict[str, Any]]:
    return [{"submission": s, "accept": a, "score": sc, "probe": p} for s, a, sc, p in verdicts]


def hx(b: bytes) -> str:
    return "0x" + b.hex()


def check(ok: bool, what: str, detail: object = "") -> bool:
    print(("PASS " if ok else "FAIL ") + what + (f"  [{detail}]" if detail and not ok else ""),
          flush=True)
    if not ok:
        FAILURES.append(what)
    return ok


class Dev:
    """A dev chain in manual block mode: each batch of extrinsics becomes one block."""

    def __init__(self, url: str) -> None:
        self.chain = SubstrateInterface(url=url)
        self.chain.rpc_request("dev_setBlockBuildMode", ["Manual"])
        self.alice = Keypair.create_from_uri("//Alice")
        self.blocks = 0
        self.nonces: dict[str, int] = {}  # our fresh accounts: nobody else signs for them

    def close(self) -> None:
        self.chain.rpc_request("dev_setBlockBuildMode", ["Instant"])

    def head(self) -> int:
        return self.chain.get_block_number(self.chain.get_chain_head())

    def new_blocks(self, count: int) -> None:
        if count > 0:
            self.chain.rpc_request("dev_newBlock", [{"count": count}])
            self.blocks += count

    def batch(self, items: list[Item]) -> list[ExtrinsicReceipt]:
        """Submit (key, pallet, call, params) items, build one block, return their receipts."""
        nonces = self.nonces
        nonces.pop(self.alice.ss58_address, None)  # others may use //Alice: ask every time
        hashes = []
        for key, pallet, name, params in items:
            addr = key.ss58_address
            if addr not in nonces:
                nonces[addr] = self.chain.get_account_nonce(addr)
            call = self.chain.compose_call(pallet, name, params)
            xt = self.chain.create_signed_extrinsic(call=call, keypair=key, nonce=nonces[addr])
            nonces[addr] += 1
            self.chain.rpc_request("author_submitExtrinsic", [str(xt.data)])
            hashes.append(xt.extrinsic_hash)
        block_hash = self.chain.rpc_request("dev_newBlock", [{"count": 1}])["result"]
        self.blocks += 1
        block = self.chain.get_block(block_hash=block_hash)
        index = {}
        for i, ext in enumerate(block["extrinsics"]):
            h = ext.extrinsic_hash
            index[h if isinstance(h, bytes) else bytes.fromhex(str(h).removeprefix("0x"))] = i
        receipts = []
        for (_, _, name, _), h in zip(items, hashes, strict=True):
            h = h if isinstance(h, bytes) else bytes.fromhex(str(h).removeprefix("0x"))
            if h not in index:
                raise RuntimeError(f"{name} was not included in block {block_hash}")
            receipts.append(ExtrinsicReceipt(substrate=self.chain, extrinsic_hash=hx(h),
                                             block_hash=block_hash, extrinsic_idx=index[h]))
        return receipts

    def ok(self, items: list[Item]) -> list[ExtrinsicReceipt]:
        """A batch that must all succeed (setup steps: a failure here aborts)."""
        receipts = self.batch(items)
        for (_, _, name, _), r in zip(items, receipts, strict=True):
            if not r.is_success:
                raise RuntimeError(f"{name} failed: {r.error_message}")
        return receipts

    def query(self, name: str, params: list[Any] | None = None) -> Any:
        return self.chain.query("DecentralMl", name, params or []).value

    def task(self, task_id: int) -> dict[str, Any]:
        return self.query("Tasks", [task_id])

    def past_deadline(self, task_id: int) -> None:
        """Build empty blocks until the current phase's deadline has passed."""
        self.new_blocks(self.task(task_id)["phase_ends_at"] - self.head())


def dml(key: Keypair, call: str, **params: Any) -> Item:
    return (key, "DecentralMl", call, params)


def named(records: list[Any], name: str) -> list[dict[str, Any]]:
    return [e.value["attributes"] for e in records
            if e.value["module_id"] == "DecentralMl" and e.value["event_id"] == name]


def events(receipts: list[ExtrinsicReceipt], name: str) -> list[dict[str, Any]]:
    return named([e for r in receipts for e in r.triggered_events], name)


def finalisation(dev: Dev, receipts: list[ExtrinsicReceipt]) -> list[Any]:
    """What the block of ``receipts`` emitted after its extrinsics: the round its last
    attestation completed is finalised there (the pallet's on_idle)."""
    records = dev.chain.get_events(receipts[-1].block_hash)
    return [e for e in records if e.value["phase"] == "Finalization"]


def error_name(receipt: ExtrinsicReceipt) -> str | None:
    if receipt.is_success:
        return None
    err = receipt.error_message
    return err.get("name") if isinstance(err, dict) else str(err)


def refused(receipt: ExtrinsicReceipt, name: str, what: str) -> None:
    got = error_name(receipt)
    check(got == name, f"{what}: refused with {name}", f"got {got or 'success'}")


def new_account(name: str, kind: int) -> Keypair:
    key = Keypair.create_from_seed(hx(os.urandom(32)), crypto_type=kind)
    key.name = name  # type: ignore[attr-defined]
    return key


def spec(contributors: int, validators: int, **kw: Any) -> dict[str, Any]:
    s = {
        "model_cid": hx(b"bafy-initial-model"), "model_hash": hx(blake2_256(b"model-0")),
        "rounds": 1, "min_contributors": 1, "max_contributors": contributors,
        "max_validators": validators, "quorum": 500_000, "min_validators": 1,
        "reward_per_round": 100 * UNIT, "validator_share": 300_000, "rule": "FedAvg",
        "server_optimizer": "None", "max_examples": 1000, "example_weighting": "MedianCapped",
        "min_improvement": 0, "contributor_bond": UNIT,
        "validator_bond": 2 * UNIT, "admission": "Open", "enrol_blocks": 100,
        "commit_blocks": 100, "reveal_blocks": 100, "vote_blocks": 100,
        "vote_reveal_blocks": 100, "attest_blocks": 100, "max_retries": 0, "private": False, "max_idle_rounds": 0,
        "cohort": 0, "committee": 0, "audit": 0,
    }
    s.update(kw)
    return s


def setup(dev: Dev, roles: dict[str, list[str]], task_spec: dict[str, Any]
          ) -> tuple[dict[str, Keypair], int]:
    """Fresh accounts (validators sr25519, others ed25519), funded and registered; `creator`
    creates a task with `task_spec` in the registration block. Returns the keys and task id."""
    keys = {n: new_account(n, KeypairType.SR25519 if "Validator" in r else KeypairType.ED25519)
            for n, r in roles.items()}
    dev.ok([(dev.alice, "Balances", "transfer_keep_alive",
             {"dest": k.ss58_address, "value": 1000 * UNIT}) for k in keys.values()])
    stakes = {"Validator": 50 * UNIT, "Contributor": 10 * UNIT}
    r = dev.ok([dml(keys[n], "register", role=role, stake=stakes[role], x25519_key=hx(bytes(32)))
                for n, rs in roles.items() for role in rs]
               + [dml(keys["creator"], "create_task", spec=task_spec)])
    return keys, events(r, "TaskCreated")[0]["task_id"]


def paid_to(records: list[Any]) -> dict[str, int]:
    paid: dict[str, int] = {}
    for e in named(records, "RewardPaid"):
        paid[e["who"]] = paid.get(e["who"], 0) + e["amount"]
    return paid


def honest_round(dev: Dev) -> None:
    """Two contributors, two validators, everybody honest: the round finalises and pays."""
    k, t = setup(dev, {"creator": [], "c1": ["Contributor"], "c2": ["Contributor"],
                       "v1": ["Validator"], "v2": ["Validator"]},
                 spec(2, 2, min_contributors=2, min_validators=2, quorum=666_667))
    r = dev.ok([dml(k["c1"], "join_task", task_id=t, role="Contributor", bond=UNIT),
                dml(k["c2"], "join_task", task_id=t, role="Contributor", bond=2 * UNIT),
                dml(k["v1"], "join_task", task_id=t, role="Validator", bond=2 * UNIT),
                dml(k["v2"], "join_task", task_id=t, role="Validator", bond=4 * UNIT)])
    task = dev.task(t)
    check(task["phase"] == "Commit" and task["electorate_stake"] == 6 * UNIT
          and len(events(r, "TaskJoined")) == 4,
          "honest: bonds held, seats full, electorate of 6 UNIT fixed, commit opens", task["phase"])
    secrets = {}
    for n, examples in (("c1", 100), ("c2", 300)):
        secrets[n] = (blake2_256(os.urandom(32)), os.urandom(32), examples)
    dev.ok([dml(k[n], "commit_update", task_id=t, round=0, commitment=update_commitment(
        t, 0, 0, k[n].public_key, h, ex, salt)) for n, (h, salt, ex) in secrets.items()])
    r = dev.ok([dml(k[n], "reveal_update", task_id=t, round=0, cid=hx(b"bafy-" + n.encode()),
                    update_hash=hx(h), num_examples=ex, salt=hx(salt))
                for n, (h, salt, ex) in secrets.items()])
    check(dev.task(t)["phase"] == "VoteCommit" and len(events(r, "UpdateRevealed")) == 2,
          "honest: updates committed and revealed, vote commit opens")
    subs = {n: dev.query("CommitmentOf", [(t, 0), k[n].ss58_address]) for n in secrets}
    verdicts = sorted([(subs["c1"], True, 9100, 1_000_000), (subs["c2"], True, 9200, 2_000_000)])
    salts = {n: os.urandom(32) for n in ("v1", "v2")}
    dev.ok([dml(k[n], "commit_vote", task_id=t, round=0, commitment=vote_commitment(
        t, 0, 0, k[n].public_key, verdicts, salts[n])) for n in salts])
    check(dev.task(t)["phase"] == "VoteReveal", "honest: sealed votes committed, reveal opens")
    dev.ok([dml(k[n], "reveal_vote", task_id=t, round=0, verdicts=verdict_params(verdicts),
                salt=hx(salts[n])) for n in salts])
    check(dev.task(t)["phase"] == "Aggregate", "honest: votes revealed, aggregation opens")
    agg, cid = blake2_256(b"aggregate-" + os.urandom(8)), hx(b"bafy-aggregate")
    r = dev.ok([dml(k[n], "attest_aggregate", task_id=t, round=0, cid=cid, hash=hx(agg),
                    score=9300) for n in ("v1", "v2")])
    check(len(events(r, "AggregateProposed")) == 1 and len(events(r, "ModelAdopted")) == 1,
          "honest: aggregate attested (cid + hash; the first attestation proposes it), adopted")
    fin = finalisation(dev, r)  # the last attestation finalised the round in its block
    task = dev.task(t)
    paid = paid_to(fin)
    check(task["status"] == "Finished" and task["model_hash"] == hx(agg)
          and all(paid.get(k[n].ss58_address, 0) > 0 for n in ("c1", "c2", "v1", "v2"))
          and not named(fin, "Slashed"),
          "honest: round finalised, model adopted, all four paid, nobody slashed",
          (task["status"], paid))


def attack_round(dev: Dev) -> None:
    """One task, one round, every attack tried; the honest side still finalises."""
    k, t = setup(dev, {"creator": ["Contributor"], "h1": ["Validator"], "h2": ["Validator"],
                       "s1": ["Validator", "Contributor"], "s2": ["Validator"],
                       "s3": ["Validator"], "honest": ["Contributor"], "junk": ["Contributor"],
                       "copycat": ["Contributor"], "dup": ["Contributor"]},
                 spec(4, 5, reveal_blocks=3))
    a = {n: key.ss58_address for n, key in k.items()}
    validators = (("h1", 6), ("h2", 6), ("s1", 2), ("s2", 2), ("s3", 2))  # Sybils: 3 x 2 = 6
    contributors = ("honest", "junk", "copycat", "dup")
    r = dev.batch([dml(k["creator"], "join_task", task_id=t, role="Contributor", bond=UNIT)]
                  + [dml(k[n], "join_task", task_id=t, role="Validator", bond=b * UNIT)
                     for n, b in validators]
                  + [dml(k[n], "join_task", task_id=t, role="Contributor", bond=UNIT)
                     for n in contributors])
    refused(r[0], "CreatorCannotJoin", "creator joins its own task")
    if not all(x.is_success for x in r[1:]):
        raise RuntimeError([x.error_message for x in r[1:] if not x.is_success])
    task = dev.task(t)
    check(task["phase"] == "Commit" and task["electorate_stake"] == 18 * UNIT,
          "attack: 9 members bonded, electorate stake 18 UNIT (two honest 6 + Sybils 3 x 2)")

    # Updates: honest and junk are real; copycat replays honest's commitment bytes; dup commits
    # (correctly, under its own account) to the junk update's hash.
    h_hash, h_salt = blake2_256(b"honest-update" + os.urandom(8)), os.urandom(32)
    j_hash, j_salt = blake2_256(b"junk-update" + os.urandom(8)), os.urandom(32)
    d_salt = os.urandom(32)
    honest_c = update_commitment(t, 0, 0, k["honest"].public_key, h_hash, 100, h_salt)
    r = dev.batch([
        dml(k["s1"], "join_task", task_id=t, role="Contributor", bond=UNIT),
        dml(k["honest"], "commit_update", task_id=t, round=0, commitment=honest_c),
        dml(k["junk"], "commit_update", task_id=t, round=0, commitment=update_commitment(
            t, 0, 0, k["junk"].public_key, j_hash, 100, j_salt)),
        dml(k["copycat"], "commit_update", task_id=t, round=0, commitment=honest_c),
        dml(k["dup"], "commit_update", task_id=t, round=0, commitment=update_commitment(
            t, 0, 0, k["dup"].public_key, j_hash, 100, d_salt)),
    ])
    refused(r[0], "AlreadyJoined", "a validator takes a second role in the task")
    check(all(x.is_success for x in r[1:]) and dev.task(t)["phase"] == "Reveal",
          "attack: four commitments (one a replay of another's bytes), reveal opens")

    def reveal(n: str, h: bytes, ex: int, salt: bytes) -> Item:
        return dml(k[n], "reveal_update", task_id=t, round=0, cid=hx(b"bafy-" + n.encode()),
                   update_hash=hx(h), num_examples=ex, salt=hx(salt))

    # One block each; within a block, one account's calls keep their nonce order.
    r = dev.batch([reveal("honest", h_hash, 10_000, h_salt),
                   reveal("honest", h_hash, 100, h_salt),
                   reveal("copycat", h_hash, 100, h_salt),
                   reveal("junk", j_hash, 100, j_salt)])
    refused(r[0], "CommitmentMismatch", "reveal with an inflated num_examples")
    refused(r[2], "CommitmentMismatch", "commitment replayed under another account")
    check(r[1].is_success and r[3].is_success, "attack: honest and junk updates revealed")
    refused(dev.batch([reveal("dup", j_hash, 100, d_salt)])[0], "DuplicateUpdate",
            "an update hash already revealed in the round")
    dev.past_deadline(t)  # copycat and dup cannot reveal: the reveal window runs out

    sub = {n: dev.query("CommitmentOf", [(t, 0), a[n]]) for n in ("honest", "junk")}
    honest_v = sorted([(sub["honest"], True, 8000, 1_000_000), (sub["junk"], False, 0, 0)])
    sybil_v = sorted([(sub["honest"], False, 0, 1_000_000), (sub["junk"], True, 9000, 0)])
    vote = {n: (honest_v if n.startswith("h") else sybil_v) for n, _ in validators}
    salts = {n: os.urandom(32) for n, _ in validators}

    def commit_vote(n: str) -> Item:
        return dml(k[n], "commit_vote", task_id=t, round=0, commitment=vote_commitment(
            t, 0, 0, k[n].public_key, vote[n], salts[n]))

    def reveal_vote(n: str, verdicts: list) -> Item:
        return dml(k[n], "reveal_vote", task_id=t, round=0, verdicts=verdict_params(verdicts),
                   salt=hx(salts[n]))

    r = dev.batch([commit_vote(n) for n in ("h1", "h2", "s1", "s2")]
                  + [reveal_vote("h1", honest_v)])
    if not all(x.is_success for x in r[:4]):
        raise RuntimeError([x.error_message for x in r[:4]])
    refused(r[4], "VotesSealed", "a vote revealed before the reveal window")
    task = dev.task(t)
    stored = list(dev.chain.query_map("DecentralMl", "Votes", [(t, 0)]))
    commits = list(dev.chain.query_map("DecentralMl", "VoteCommits", [(t, 0)]))
    check(task["phase"] == "VoteCommit" and stored == [] and len(commits) == 4,
          "votes are sealed: Votes storage empty during VoteCommit (4 commitments stored)",
          (task["phase"], len(stored), len(commits)))
    dev.ok([commit_vote("s3")])
    check(dev.task(t)["phase"] == "VoteReveal", "attack: all five committed, vote reveal opens")
    # s1's changed reveal comes before its own real one: the phase is still VoteReveal.
    r = dev.batch([reveal_vote("s1", honest_v)] + [reveal_vote(n, vote[n]) for n, _ in validators])
    refused(r[0], "VoteMismatch", "a reveal different from the commitment")
    if not all(x.is_success for x in r[1:]):
        raise RuntimeError([x.error_message for x in r[1:]])
    subs = {n: dev.query("Submissions", [(t, 0), sub[n]]) for n in sub}
    check(subs["honest"]["accept_stake"] == 12 * UNIT and subs["junk"]["accept_stake"] == 6 * UNIT
          and dev.task(t)["phase"] == "Aggregate",
          "Sybil trio: junk update gets 6 of 18 UNIT (below the 9 UNIT quorum), honest 12",
          {n: s["accept_stake"] for n, s in subs.items()})

    good, junk_agg = blake2_256(b"good" + os.urandom(8)), blake2_256(b"junk" + os.urandom(8))
    good_cid, junk_cid = hx(b"bafy-good-aggregate"), hx(b"bafy-junk-aggregate")
    r = dev.batch([
        dml(k["honest"], "propose_aggregate", task_id=t, round=0, cid=good_cid, hash=hx(good)),
        dml(k["s1"], "propose_aggregate", task_id=t, round=0, cid=junk_cid, hash=hx(junk_agg)),
        dml(k["h1"], "propose_aggregate", task_id=t, round=0, cid=good_cid, hash=hx(good)),
    ])
    refused(r[0], "NotInElectorate", "a proposal from outside the electorate")
    check(r[1].is_success and r[2].is_success, "attack: honest and Sybil aggregates proposed")
    r = dev.batch([dml(k["h2"], "attest_aggregate", task_id=t, round=0, cid=junk_cid,
                       hash=hx(good), score=9000)]
                  + [dml(k[n], "attest_aggregate", task_id=t, round=0, cid=junk_cid,
                         hash=hx(junk_agg), score=9000) for n in ("s1", "s2", "s3")]
                  + [dml(k[n], "attest_aggregate", task_id=t, round=0, cid=good_cid,
                         hash=hx(good), score=9000) for n in ("h1", "h2")])
    refused(r[0], "ProposalMismatch", "an attestation of a hash with a swapped CID")
    adopted = events(r, "ModelAdopted")
    check(all(x.is_success for x in r[1:]) and len(adopted) == 1
          and adopted[0]["hash"] == hx(good) and adopted[0]["attest_stake"] == 12 * UNIT,
          "Sybil trio's junk aggregate not adopted (6 of 18 UNIT); honest one adopted (12)",
          adopted)
    fin = finalisation(dev, r)  # every electorate member attested: finalised in that block
    task, paid = dev.task(t), paid_to(fin)
    slashed = {(e["who"], e["reason"]) for e in named(fin, "Slashed")}
    check(task["status"] == "Finished" and task["model_hash"] == hx(good),
          "attack: round finalised with the honest aggregate", task["status"])
    check(dev.query("Submissions", [(t, 0), sub["junk"]])["status"] == "Rejected"
          and paid.get(a["junk"], 0) == 0 and paid.get(a["honest"], 0) > 0,
          "junk (zero-score) update rejected and unpaid; honest update paid", paid)
    check(all(paid.get(a[n], 0) == 0 and (a[n], "LosingVerdicts") in slashed
              and (a[n], "LosingAggregate") in slashed for n in ("s1", "s2", "s3"))
          and paid.get(a["h1"], 0) > 0 and paid.get(a["h2"], 0) > 0
          and not any(w in (a["h1"], a["h2"]) for w, _ in slashed),
          "Sybils unpaid and slashed (verdicts, losing aggregate); honest validators paid",
          slashed)
    check({(a[n], "Unrevealed") for n in ("copycat", "dup")} <= slashed
          and paid.get(a["copycat"], 0) == 0 and paid.get(a["dup"], 0) == 0,
          "copycat and duplicate committers unpaid and slashed for not revealing")


def ledger(dev: Dev) -> tuple[int, int]:
    issuance = dev.chain.query("Balances", "TotalIssuance").value
    held = sum(v.value["data"]["free"] + v.value["data"]["reserved"]
               for _, v in dev.chain.query_map("System", "Account", page_size=500))
    return issuance, held


def fees_between(dev: Dev, first: int, last: int) -> int:
    total = 0
    for n in range(first, last + 1):
        for e in dev.chain.get_events(dev.chain.get_block_hash(n)):
            if e.value["module_id"] == "TransactionPayment" and \
                    e.value["event_id"] == "TransactionFeePaid":
                total += e.value["attributes"]["actual_fee"]
    return total


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default="ws://127.0.0.1:9944")
    parser.add_argument("--quick", action="store_true",
                        help="skip the separate all-honest task (the attack task still runs "
                             "a whole round)")
    args = parser.parse_args()
    started = time.monotonic()
    dev = Dev(args.url)
    try:
        dev.chain.init_runtime()
        print("chain", dev.chain.chain, "runtime spec", dev.chain.runtime_version, flush=True)
        start = dev.head()
        issuance0, held0 = ledger(dev)
        if not args.quick:
            honest_round(dev)
        attack_round(dev)
        end = dev.head()
        issuance1, held1 = ledger(dev)
        fees = fees_between(dev, start + 1, end)
        check(issuance0 == held0 and issuance1 == held1,
              "sum of free + reserved over all accounts == total issuance (before and after)",
              (issuance0 - held0, issuance1 - held1))
        check(issuance0 - issuance1 == fees,
              f"total issuance fell by exactly the fees paid ({fees} planck in blocks "
              f"{start + 1}..{end})", (issuance0 - issuance1, fees))
    except Exception:  # a setup error is reported as a failed check
        traceback.print_exc()
        check(False, "script ran to the end")
    finally:
        dev.close()
    print(f"{dev.blocks} blocks in {time.monotonic() - started:.1f}s")
    if FAILURES:
        print(f"FAILED: {len(FAILURES)} check(s): {', '.join(FAILURES)}")
        return 1
    print("OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
