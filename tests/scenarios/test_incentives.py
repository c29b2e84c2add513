"""Incentives on the real dev chain, driven call by call with the client API.

* Sybil capture: three accounts holding together the stake of one honest validator accept
  their friend's junk update and back a junk aggregate; stake, not heads, decides, so the
  junk is rejected, the honest aggregate is adopted, and the Sybils are slashed and unpaid.
* Sealed votes: nothing of a vote is readable on chain (storage or events) before the reveal
  phase; an early reveal is refused (``VotesSealed``), a changed one too (``VoteMismatch``).
* A validator that joins mid-round is not in that round's electorate and cannot stall it;
  staying silent in the next round costs it bond, and the round still finalises.
"""

from __future__ import annotations

import os

import pytest

from decentralml_client.chain import UNIT, Chain, DecentralMl, PalletError, Role, TaskSpec, permill
from decentralml_client.chain.api import account_id
from decentralml_client.keys import Account, dev_account
from decentralml_client.protocol import update_commitment, vote_commitment
from tests.scenarios.ledger import fees_between, ledger

pytestmark = pytest.mark.integration


def _accounts(chain: Chain, dml: DecentralMl, names: dict[str, Role]) -> dict[str, Account]:
    accts = {n: Account.from_seed(os.urandom(32), name=n) for n in names}
    chain.submit_many(dev_account("alice").keypair, [
        ("Balances", "transfer_keep_alive", {"dest": a.ss58_address, "value": 100 * UNIT})
        for a in accts.values()])
    for n, role in names.items():
        stake = int(chain.constant("MinValidatorStake" if role == Role.VALIDATOR
                                   else "MinContributorStake"))
        dml.register(accts[n].keypair, role, stake, accts[n].x25519_public)
    return accts


def _task(dml: DecentralMl, creator: Account, **kw: object) -> int:
    spec = TaskSpec(model_cid="bafy-model", model_hash="0x" + "11" * 32, rounds=2,
                    reward_per_round=10 * UNIT, validator_share=permill(0.3),
                    **kw)  # type: ignore[arg-type]
    return dml.create_task(creator.keypair, spec)


def _commit_reveal(dml: DecentralMl, t: int, r: int, attempt: int, who: list[Account]
                   ) -> None:
    secrets = []
    for a in who:
        h, salt = os.urandom(32), os.urandom(32)
        dml.commit_update(a.keypair, t, r, update_commitment(t, r, attempt,
                                                             account_id(a.ss58_address), h, 100,
                                                             salt))
        secrets.append((a, h, salt))
    for a, h, salt in secrets:
        dml.reveal_update(a.keypair, t, r, f"bafy-{a.name}-{r}", h, 100, salt)


def _refused(fn, name: str) -> None:  # noqa: ANN001
    with pytest.raises(PalletError) as err:
        fn()
    assert err.value.name == name, err.value
    assert "What to do:" in str(err.value)


def test_sybils_splitting_one_stake_cannot_capture_a_round_and_votes_stay_sealed(devnet) -> None:
    with Chain(devnet.url) as chain:
        dml = DecentralMl(chain)
        start = chain.head()[0]
        issuance0, held0 = ledger(chain)
        roles = {"h1": Role.VALIDATOR, "h2": Role.VALIDATOR, "s1": Role.VALIDATOR,
                 "s2": Role.VALIDATOR, "s3": Role.VALIDATOR, "honest": Role.CONTRIBUTOR,
                 "junk": Role.CONTRIBUTOR, "creator": Role.CONTRIBUTOR}
        a = _accounts(chain, dml, roles)
        t = _task(dml, a["creator"], min_contributors=1, max_contributors=2, max_validators=5,
                  quorum=permill(0.5), validator_bond=2 * UNIT, contributor_bond=1 * UNIT,
                  enrol_blocks=1000, commit_blocks=1000, reveal_blocks=1000, vote_blocks=1000,
                  vote_reveal_blocks=1000, attest_blocks=1000)
        _refused(lambda: dml.join_task(a["creator"].keypair, t, Role.CONTRIBUTOR, UNIT),
                 "CreatorCannotJoin")
        # One honest validator's stake (6) split over three Sybil accounts (2 each).
        for n, bond in (("h1", 6), ("h2", 6), ("s1", 2), ("s2", 2), ("s3", 2)):
            dml.join_task(a[n].keypair, t, Role.VALIDATOR, bond * UNIT)
        dml.register(a["s1"].keypair, Role.CONTRIBUTOR, int(chain.constant("MinContributorStake")),
                     a["s1"].x25519_public)  # registered for both roles: still one per task
        _refused(lambda: dml.join_task(a["s1"].keypair, t, Role.CONTRIBUTOR, UNIT),
                 "AlreadyJoined")
        for n in ("honest", "junk"):
            dml.join_task(a[n].keypair, t, Role.CONTRIBUTOR, UNIT)
        task = dml.task(t)
        assert task.phase == "Commit"  # every seat taken: enrolment closed early
        assert task.electorate_stake == 18 * UNIT
        _commit_reveal(dml, t, 0, 0, [a["honest"], a["junk"]])
        assert dml.task(t).phase == "VoteCommit"

        # Everyone ran both updates (the same probes); the Sybils lie about the verdicts.
        honest = [(0, True, 3000, 7_000_000), (1, False, 0, 9_000_000)]
        sybil = [(0, False, 0, 7_000_000), (1, True, 9000, 9_000_000)]
        salts = {n: os.urandom(32) for n in ("h1", "h2", "s1", "s2", "s3")}

        def verdicts(n: str) -> list[tuple[int, bool, int, int]]:
            return honest if n.startswith("h") else sybil

        first_vote_block = chain.head()[0] + 1
        for n in ("h1", "h2", "s1", "s2"):
            c = vote_commitment(t, 0, 0, account_id(a[n].ss58_address), verdicts(n), salts[n])
            dml.commit_vote(a[n].keypair, t, 0, c)
        # Sealed: nothing of the votes is on chain, and an early reveal is refused.
        assert dml.votes(t, 0) == {}
        assert len(dml.vote_commits(t, 0)) == 4
        _refused(lambda: dml.reveal_vote(a["h1"].keypair, t, 0, honest, salts["h1"]),
                 "VotesSealed")
        c = vote_commitment(t, 0, 0, account_id(a["s3"].ss58_address), sybil, salts["s3"])
        dml.commit_vote(a["s3"].keypair, t, 0, c)
        for _, events in chain.events_between(first_vote_block):
            for e in events:
                if e.pallet == "DecentralMl" and e.name == "VoteCommitted":
                    assert set(e.attributes) == {"task_id", "round", "validator"}
        assert dml.task(t).phase == "VoteReveal"
        _refused(lambda: dml.reveal_vote(a["s1"].keypair, t, 0, honest, salts["s1"]),
                 "VoteMismatch")  # a Sybil cannot switch sides once the votes are open
        for n in salts:
            dml.reveal_vote(a[n].keypair, t, 0, verdicts(n), salts[n])
        subs = dml.submissions(t, 0)
        assert subs[0].accept_stake == 12 * UNIT and subs[1].accept_stake == 6 * UNIT
        assert dml.task(t).phase == "Aggregate"

        good, junk = os.urandom(32), os.urandom(32)
        _refused(lambda: dml.propose_aggregate(a["honest"].keypair, t, 0, "bafy-x", good),
                 "NotInElectorate")
        dml.propose_aggregate(a["s1"].keypair, t, 0, "bafy-junk", junk)
        dml.propose_aggregate(a["h1"].keypair, t, 0, "bafy-good", good)
        _refused(lambda: dml.attest_aggregate(a["h2"].keypair, t, 0, "bafy-swapped", good, 9000),
                 "ProposalMismatch")
        for n in ("s1", "s2", "s3"):
            dml.attest_aggregate(a[n].keypair, t, 0, "bafy-junk", junk, 9000)
        dml.attest_aggregate(a["h1"].keypair, t, 0, "bafy-good", good, 9000)
        _refused(lambda: dml.finalize_round(a["junk"].keypair, t, 0), "RoundNotFinished")
        dml.attest_aggregate(a["h2"].keypair, t, 0, "bafy-good", good, 9000)  # finalises

        task = dml.task(t)
        assert task.round == 1 and task.model_hash == "0x" + good.hex()
        money = dml.payments(t, start)
        paid, slashed = money.paid, money.slashed
        addr = {n: acct.ss58_address for n, acct in a.items()}
        assert paid.get(addr["junk"], 0) == 0 and paid[addr["honest"]] > 0
        for n in ("s1", "s2", "s3"):
            assert paid.get(addr[n], 0) == 0 and slashed[addr[n]] > 0
        assert paid[addr["h1"]] > 0 and paid[addr["h2"]] > 0
        assert addr["h1"] not in slashed and addr["h2"] not in slashed
        # The bonds that remain are what the members now hold in the task.
        members = dml.members(t)
        for n, bond in (("s1", 2), ("s2", 2), ("s3", 2)):
            assert members[addr[n]].bond == bond * UNIT - slashed[addr[n]]
        escrow0 = 20 * UNIT
        assert task.escrow == escrow0 - sum(paid.values()) + sum(slashed.values())

        end = chain.head()[0]
        issuance1, held1 = ledger(chain)
        assert issuance0 == held0 and issuance1 == held1
        assert issuance0 - issuance1 == fees_between(chain, start + 1, end)


def test_a_late_silent_validator_cannot_stall_and_pays_for_silence(devnet) -> None:
    with Chain(devnet.url) as chain:
        dml = DecentralMl(chain)
        a = _accounts(chain, dml, {"v1": Role.VALIDATOR, "late": Role.VALIDATOR,
                                   "c": Role.CONTRIBUTOR, "creator": Role.CONTRIBUTOR})
        t = _task(dml, a["creator"], min_contributors=1, max_contributors=1, max_validators=2,
                  quorum=permill(0.5), validator_bond=2 * UNIT, contributor_bond=1 * UNIT,
                  enrol_blocks=2, commit_blocks=50, reveal_blocks=50, vote_blocks=6,
                  vote_reveal_blocks=50, attest_blocks=6)
        dml.join_task(a["v1"].keypair, t, Role.VALIDATOR, 4 * UNIT)
        dml.join_task(a["c"].keypair, t, Role.CONTRIBUTOR, UNIT)
        chain.new_blocks(2)  # enrolment deadline: the minimums are met, round 0 opens
        _commit_reveal(dml, t, 0, 0, [a["c"]])
        assert dml.task(t).phase == "VoteCommit"
        joined = dml.join_task(a["late"].keypair, t, Role.VALIDATOR, 2 * UNIT)
        assert joined.find("TaskJoined")[0].attributes["from_round"] == 1
        assert list(dml.electorate(t, 0)) == [a["v1"].ss58_address]

        def vote_round(r: int) -> None:
            salt, v = os.urandom(32), [(0, True, 2500, 5_000_000)]
            if r == 0:
                _refused(lambda: dml.commit_vote(a["late"].keypair, t, r, os.urandom(32)),
                         "NotInElectorate")
            dml.commit_vote(a["v1"].keypair, t, r, vote_commitment(
                t, r, 0, account_id(a["v1"].ss58_address), v, salt))
            if dml.task(t).phase == "VoteCommit":  # waiting for the silent member
                chain.new_blocks(6)
            dml.reveal_vote(a["v1"].keypair, t, r, v, salt)
            h = os.urandom(32)
            dml.attest_aggregate(a["v1"].keypair, t, r, f"bafy-m{r}", h, 8000)  # proposes it
            if dml.task(t).round == r and dml.task(t).status == "Active":
                try:
                    dml.finalize_round(a["v1"].keypair, t, r)
                except PalletError as exc:  # waiting for the silent member's attestation
                    assert exc.name == "RoundNotFinished"
                    chain.new_blocks(6)
                    dml.finalize_round(a["v1"].keypair, t, r)

        start = chain.head()[0]
        vote_round(0)  # the late validator is not in round 0's electorate: no wait at all
        assert dml.task(t).round == 1
        assert set(dml.electorate(t, 1)) == {a["v1"].ss58_address, a["late"].ss58_address}
        _commit_reveal(dml, t, 1, 0, [a["c"]])
        vote_round(1)  # silent in round 1: the round closes on its deadlines all the same
        task = dml.task(t)
        assert task.status == "Finished"
        slashed = dml.payments(t, start).slashed
        assert slashed[a["late"].ss58_address] == 2 * UNIT // 10  # SilenceSlash 10% of bond
        assert a["v1"].ss58_address not in slashed
