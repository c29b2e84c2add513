"""The creator's allow-list on the real dev chain, driven call by call with the client API
(``decentralml task allow`` is :meth:`DecentralMl.set_allowed`).

An ``AllowList`` task refuses an outsider by name (``NotAllowed``); the creator allows an
account (the call's account list must reach the runtime as a list of account ids) and it
joins; revoking it refuses it again, and allowing two at once lets both join.
"""

from __future__ import annotations

import os

import pytest

from decentralml_client.chain import UNIT, Chain, DecentralMl, Role, TaskSpec
from decentralml_client.keys import Account, dev_account
from tests.scenarios.test_incentives import _refused

pytestmark = pytest.mark.integration


def _accounts(chain: Chain, dml: DecentralMl, names: list[str]) -> dict[str, Account]:
    accts = {n: Account.from_seed(os.urandom(32), name=n) for n in names}
    chain.submit_many(dev_account("alice").keypair, [
        ("Balances", "transfer_keep_alive", {"dest": a.ss58_address, "value": 100 * UNIT})
        for a in accts.values()])
    stake = int(chain.constant("MinContributorStake"))
    for n in names:
        if n != "creator":
            dml.register(accts[n].keypair, Role.CONTRIBUTOR, stake, accts[n].x25519_public)
    return accts


def test_an_allow_list_task_refuses_outsiders_and_admits_whom_the_creator_allows(devnet) -> None:
    with Chain(devnet.url) as chain:
        dml = DecentralMl(chain)
        a = _accounts(chain, dml, ["creator", "insider", "outsider", "late1", "late2"])
        spec = TaskSpec(model_cid="bafy-model", model_hash="0x" + "22" * 32, rounds=1,
                        reward_per_round=10 * UNIT, admission="AllowList", max_contributors=4,
                        enrol_blocks=1000)
        t = dml.create_task(a["creator"].keypair, spec)

        # Nobody is on the list yet.
        _refused(lambda: dml.join_task(a["insider"].keypair, t, Role.CONTRIBUTOR, UNIT),
                 "NotAllowed")
        # Only the creator edits the list.
        _refused(lambda: dml.set_allowed(a["outsider"].keypair, t,
                                         [a["outsider"].ss58_address], True), "NotTaskCreator")

        receipt = dml.set_allowed(a["creator"].keypair, t, [a["insider"].ss58_address], True)
        assert receipt.block_number > 0
        dml.join_task(a["insider"].keypair, t, Role.CONTRIBUTOR, UNIT)
        assert a["insider"].ss58_address in dml.members(t)

        _refused(lambda: dml.join_task(a["outsider"].keypair, t, Role.CONTRIBUTOR, UNIT),
                 "NotAllowed")
        assert a["outsider"].ss58_address not in dml.members(t)

        # Several at once (a tuple works too), and revoking refuses again.
        dml.set_allowed(a["creator"].keypair, t,
                        (a["late1"].ss58_address, a["late2"].ss58_address), True)  # type: ignore[arg-type]
        dml.set_allowed(a["creator"].keypair, t, [a["late2"].ss58_address], False)
        _refused(lambda: dml.join_task(a["late2"].keypair, t, Role.CONTRIBUTOR, UNIT),
                 "NotAllowed")
        dml.join_task(a["late1"].keypair, t, Role.CONTRIBUTOR, UNIT)
        assert set(dml.members(t)) == {a["insider"].ss58_address, a["late1"].ss58_address}
