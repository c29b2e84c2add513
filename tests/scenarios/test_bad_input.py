"""Bad submissions are refused with named errors, and nothing in the ledger moves.

Chain-side refusals (late, duplicate, copied, by a non-validator, double votes) come back as
:class:`PalletError` with the pallet's error name and a hint; validator-side checks refuse
unsigned, forged, swapped, malformed and non-finite updates before anything is evaluated.
"""

from __future__ import annotations

import json
import os
from dataclasses import replace

import numpy as np
import pytest

from decentralml_client.chain import UNIT, Chain, DecentralMl, PalletError, Role, TaskSpec
from decentralml_client.chain.api import account_id
from decentralml_client.chain.records import Hash, Submission
from decentralml_client.keys import Account, BadSignature, dev_account
from decentralml_client.ml.codec import encode_tensors, encode_update, file_hash
from decentralml_client.ml.errors import CodecError, NonFiniteError
from decentralml_client.ml.model_spec import default_digits_spec
from decentralml_client.protocol import update_commitment, vote_commitment
from decentralml_client.roles.common import RoleContext, RoleError, build_update_manifest
from decentralml_client.roles.creator import create_task
from decentralml_client.roles.updates import load_update
from decentralml_client.storage import IntegrityError, IpfsStore

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def world(devnet, kubo, tmp_path_factory):  # noqa: ANN001, ANN201
    """A task with two contributors and one validator, in its commit phase."""
    tmp = tmp_path_factory.mktemp("bad-input")
    c1, c2, val, outsider = (Account.from_seed(os.urandom(32), name=n)
                             for n in ("c1", "c2", "val", "outsider"))
    alice = dev_account("alice")
    chain = Chain(devnet.url)
    dml = DecentralMl(chain)
    chain.submit_many(alice.keypair, [("Balances", "transfer_keep_alive",
                                       {"dest": a.ss58_address, "value": 1000 * UNIT})
                                      for a in (c1, c2, val, outsider)])
    dml.register(c1.keypair, Role.CONTRIBUTOR, 10 * UNIT, c1.x25519_public)
    dml.register(c2.keypair, Role.CONTRIBUTOR, 10 * UNIT, c2.x25519_public)
    dml.register(val.keypair, Role.VALIDATOR, 50 * UNIT, val.x25519_public)
    store = IpfsStore(kubo.api_multiaddr)
    ctx = RoleContext(chain=chain, store=store, account=alice, data_dir=tmp)
    spec = TaskSpec(model_cid="", model_hash="", rounds=1, min_contributors=2, max_contributors=2,
                    max_validators=1, min_validators=1, enrol_blocks=1000, commit_blocks=1000,
                    reveal_blocks=1000, vote_blocks=1000, vote_reveal_blocks=1000,
                    attest_blocks=1000)
    task_id = create_task(ctx, default_digits_spec(), spec)
    for a, role in ((c1, Role.CONTRIBUTOR), (c2, Role.CONTRIBUTOR), (val, Role.VALIDATOR)):
        dml.join_task(a.keypair, task_id, role, spec.validator_bond if role == Role.VALIDATOR
                      else spec.contributor_bond)
    yield {"chain": chain, "dml": dml, "store": store, "task": task_id, "c1": c1, "c2": c2,
           "val": val, "outsider": outsider, "tmp": tmp}
    chain.close()


def _refused(fn, name: str, chain: Chain, who: Account, dml: DecentralMl, task: int) -> PalletError:  # noqa: ANN001
    before_task = dml.task(task)
    before_reserved = chain.account(who.ss58_address)["reserved"]
    with pytest.raises(PalletError) as err:
        fn()
    assert err.value.name == name and "What to do:" in str(err.value)
    assert dml.task(task) == before_task
    assert chain.account(who.ss58_address)["reserved"] == before_reserved
    return err.value


def test_chain_refusals_are_named_and_change_nothing(world) -> None:  # noqa: ANN001
    chain, dml, t = world["chain"], world["dml"], world["task"]
    c1, c2, val, outsider = world["c1"], world["c2"], world["val"], world["outsider"]
    h1, s1 = os.urandom(32), os.urandom(32)

    def commit(who: Account, h: bytes, salt: bytes, n: int = 100) -> bytes:
        return update_commitment(t, 0, 0, account_id(who.ss58_address), h, n, salt)

    dml.commit_update(c1.keypair, t, 0, commit(c1, h1, s1))
    _refused(lambda: dml.commit_update(c1.keypair, t, 0, os.urandom(32)), "AlreadyCommitted",
             chain, c1, dml, t)
    _refused(lambda: dml.commit_update(outsider.keypair, t, 0, os.urandom(32)), "NotMember",
             chain, outsider, dml, t)
    _refused(lambda: dml.reveal_update(c1.keypair, t, 0, "bafyx", h1, 10, s1), "WrongPhase",
             chain, c1, dml, t)
    h2, s2 = os.urandom(32), os.urandom(32)
    dml.commit_update(c2.keypair, t, 0, commit(c2, h2, s2))
    assert dml.task(t).phase == "Reveal"
    _refused(lambda: dml.commit_update(c2.keypair, t, 0, os.urandom(32)), "CommitDeadlinePassed",
             chain, c2, dml, t)
    # The claimed number of examples is bound by the commitment: no inflating it at reveal.
    _refused(lambda: dml.reveal_update(c1.keypair, t, 0, "bafy-c1", h1, 10_000, s1),
             "CommitmentMismatch", chain, c1, dml, t)
    dml.reveal_update(c1.keypair, t, 0, "bafy-c1", h1, 100, s1)
    # c2 copies c1's revealed update: its commitment cannot match.
    _refused(lambda: dml.reveal_update(c2.keypair, t, 0, "bafy-c1", h1, 100, s2),
             "CommitmentMismatch", chain, c2, dml, t)
    _refused(lambda: dml.reveal_update(c1.keypair, t, 0, "bafy-c1", h1, 100, s1),
             "AlreadyRevealed", chain, c1, dml, t)
    dml.reveal_update(c2.keypair, t, 0, "bafy-c2", h2, 100, s2)
    assert dml.task(t).phase == "VoteCommit"
    _refused(lambda: dml.commit_vote(c1.keypair, t, 0, os.urandom(32)), "NotInElectorate",
             chain, c1, dml, t)
    me = account_id(val.ss58_address)
    salt = os.urandom(32)

    def sealed(verdicts: list[tuple[int, bool, int, int]]) -> bytes:
        return vote_commitment(t, 0, 0, me, verdicts, salt)

    vote = [(0, True, 5000, 7_000_000), (1, False, 100, 9_000_000)]
    dml.commit_vote(val.keypair, t, 0, sealed(vote))
    assert dml.task(t).phase == "VoteReveal"  # the whole electorate has committed
    _refused(lambda: dml.commit_vote(val.keypair, t, 0, sealed(vote)), "WrongPhase",
             chain, val, dml, t)
    _refused(lambda: dml.reveal_vote(val.keypair, t, 0, [(0, True, 5000, 7_000_000)], salt),
             "VoteMismatch", chain, val, dml, t)
    _refused(lambda: dml.reveal_vote(val.keypair, t, 0, [(0, True, 5000, 7_000_000),
                                                              (1, False, 101, 9_000_000)],
                                     salt), "VoteMismatch", chain, val, dml, t)
    _refused(lambda: dml.reveal_vote(c1.keypair, t, 0, vote, salt), "NotInElectorate",
             chain, c1, dml, t)
    _refused(lambda: dml.finalize_round(outsider.keypair, t, 0), "RoundNotFinished",
             chain, outsider, dml, t)
    assert set(dml.submissions(t, 0)) == {0, 1}


def test_claimed_example_weighting_needs_a_closed_admission(devnet) -> None:  # noqa: ANN001
    """``Claimed`` weighting trusts every claim up to ``max_examples``: refused with open
    admission (named error, the client's hint, no task, no escrow), stored otherwise."""
    creator = Account.from_seed(os.urandom(32), name="weighting")
    with Chain(devnet.url) as chain:
        dml = DecentralMl(chain)
        chain.submit(dev_account("alice").keypair, "transfer_keep_alive",
                     {"dest": creator.ss58_address, "value": 1000 * UNIT}, pallet="Balances")
        spec = TaskSpec(model_cid="bafy-weighting", model_hash="0x" + "22" * 32, rounds=1,
                        example_weighting="Claimed")
        next_id, before = chain.query("NextTaskId"), chain.account(creator.ss58_address)
        with pytest.raises(PalletError) as err:
            dml.create_task(creator.keypair, spec)
        assert err.value.name == "ClaimedWeightingNeedsClosedAdmission"
        assert "What to do:" in str(err.value)
        assert "--example-weighting median-capped" in str(err.value)
        after = chain.account(creator.ss58_address)
        assert chain.query("NextTaskId") == next_id and dml.task(next_id) is None
        assert after["reserved"] == before["reserved"]
        assert before["free"] - after["free"] < UNIT  # the fee only: nothing went to escrow
        for admission in ("AllowList", {"MinReputation": 400}):
            task_id = dml.create_task(creator.keypair, replace(spec, admission=admission))
            stored = dml.task(task_id)
            assert stored is not None
            assert stored.spec.example_weighting == "Claimed"
            assert stored.spec.admission == admission
        default = dml.task(dml.create_task(creator.keypair, TaskSpec(
            model_cid=spec.model_cid, model_hash=spec.model_hash, rounds=1)))
        assert default is not None and default.spec.example_weighting == "MedianCapped"


def _submission(world, data: bytes, manifest_bytes: bytes, who: Account) -> Submission:  # noqa: ANN001
    store = world["store"]
    return Submission(0, who.ss58_address, Hash(b"\x00" * 32), "Revealed",
                      cid=store.add(manifest_bytes), update_hash=Hash(file_hash(manifest_bytes)),
                      num_examples=100)


def _signed(world, who: Account, update: bytes, *, base: str, signer: Account | None = None,  # noqa: ANN001
            tamper: dict | None = None) -> bytes:
    cid = world["store"].add(update)
    raw = build_update_manifest(signer or who, task_id=world["task"], round_=0,
                                base_model_hash=base, update_cid=cid, update_bytes=update,
                                num_examples=100, metrics={}, sealed=False)
    if tamper:
        doc = json.loads(raw)
        doc.update(tamper)
        raw = json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()
    return raw


def test_validators_refuse_unsigned_forged_swapped_malformed_and_nan_updates(world) -> None:  # noqa: ANN001
    ctx = RoleContext(chain=world["chain"], store=world["store"], account=world["val"],
                      data_dir=world["tmp"] / "val")
    t = world["task"]
    task = world["dml"].task(t)
    model_spec = ctx.model_spec(task)
    base, base_hash = ctx.global_model(task)
    c1 = world["c1"]
    good = encode_update([np.zeros_like(w) for w in base], model_spec, task=str(t), round=0,
                         base_model_hash=base_hash, num_examples=100)

    def check(raw: bytes, exc: type[Exception], update_hash: str | None = None) -> None:
        sub = _submission(world, good, raw, c1)
        if update_hash:
            sub = replace(sub, update_hash=Hash(update_hash))
        with pytest.raises(exc):
            load_update(ctx, t, task, 0, sub)

    signed = _signed(world, c1, good, base=base_hash)
    delta, n = load_update(ctx, t, task, 0, _submission(world, good, signed, c1))
    assert n == 100 and all(not d.any() for d in delta)

    unsigned = json.dumps({"task": t}).encode()
    check(unsigned, BadSignature)
    check(_signed(world, c1, good, base=base_hash, signer=world["c2"]), BadSignature)
    check(_signed(world, c1, good, base=base_hash, tamper={"num_examples": 10_000}), BadSignature)
    check(_signed(world, c1, good, base=base_hash), IntegrityError, update_hash="0x" + "00" * 32)
    check(_signed(world, c1, good, base="0x" + "11" * 32), RoleError)
    nan = encode_update([np.full_like(w, np.nan) for w in base], model_spec, task=str(t), round=0,
                        base_model_hash=base_hash, num_examples=100, allow_nonfinite=True)
    check(_signed(world, c1, nan, base=base_hash), NonFiniteError)
    check(_signed(world, c1, b"not a safetensors file at all", base=base_hash), CodecError)
    wrong_shape = encode_tensors(
        [np.zeros((3, 3), np.float32) for _ in base], names=list(model_spec.weight_names),
        kind="delta", meta={"task": str(t), "round": 0, "base_model_hash": base_hash,
                            "num_examples": 100})
    check(_signed(world, c1, wrong_shape, base=base_hash), CodecError)


def test_private_updates_open_for_the_tasks_validators_only(world) -> None:  # noqa: ANN001
    from decentralml_client.keys import NotARecipient, seal_for_validators

    t = world["task"]
    val, c1 = world["val"], world["c1"]
    ctx = RoleContext(chain=world["chain"], store=world["store"], account=val,
                      data_dir=world["tmp"] / "val-private")
    task = world["dml"].task(t)
    model_spec = ctx.model_spec(task)
    base, base_hash = ctx.global_model(task)
    delta = [np.full_like(w, 0.01) for w in base]
    update = encode_update(delta, model_spec, task=str(t), round=0, base_model_hash=base_hash,
                           num_examples=100)
    sealed = seal_for_validators(update, [val.x25519_public])
    assert update not in sealed
    cid = world["store"].add(sealed)
    raw = build_update_manifest(c1, task_id=t, round_=0, base_model_hash=base_hash,
                                update_cid=cid, update_bytes=sealed, num_examples=100,
                                metrics={}, sealed=True)
    sub = _submission(world, sealed, raw, c1)
    opened, n = load_update(ctx, t, task, 0, sub)
    assert n == 100 and np.allclose(opened[0], 0.01)
    outsider_ctx = RoleContext(chain=world["chain"], store=world["store"], account=c1,
                               data_dir=world["tmp"] / "c1-private")
    with pytest.raises(NotARecipient):
        load_update(outsider_ctx, t, task, 0, sub)
