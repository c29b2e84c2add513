"""What every role shares: the model spec's initial weights, checked before use."""

from __future__ import annotations

import pytest

from decentralml_client.ml.model_spec import default_digits_spec
from decentralml_client.roles.common import RoleError, initial_weights


def test_the_initial_weights_the_spec_names() -> None:
    spec = default_digits_spec().with_initial_weights(cid="bafyweights", hash_hex="0x" + "aa" * 32)
    assert initial_weights(spec) == ("bafyweights", "0x" + "aa" * 32)


def test_a_spec_without_initial_weights_is_a_role_error_with_a_hint() -> None:
    with pytest.raises(RoleError, match="names no initial weights") as caught:
        initial_weights(default_digits_spec())
    assert "decentralml task create" in caught.value.hint


def test_a_role_sees_the_phase_its_next_call_will_meet_once_a_deadline_passed(tmp_path) -> None:
    """A silent member must not stall the others: once the vote-commit deadline has passed,
    the task a role reads is the one the pallet's next call will find (here: nobody
    committed a vote, so the attempt ends in Aggregate)."""
    from tests.roles.fakes import TASK_ID, FakeChain, role_context

    chain = FakeChain([(0, 0, "VoteCommit")], reads_per_phase=10)
    chain.phase_ends_at = 20
    fresh = role_context(chain, tmp_path, head_max_age=0.0)  # judges by the head every read
    chain.block = 18
    assert fresh.task(TASK_ID).phase == "VoteCommit"  # a call lands in block 19 at the earliest
    chain.block = 19
    task, head = fresh.task_and_head(TASK_ID)
    assert (task.phase, task.phase_ends_at, head) == ("Aggregate", 20, 19)
    assert chain.record().phase == "VoteCommit"  # what is stored is unchanged
