"""The task page names accounts, shows each one's bond, earnings, slashes and (validators)
agreement per round, the loss decrease beside the accuracy, a download link for every adopted
model, the membership of an ended task, and why an Enrol phase waits."""

from __future__ import annotations

from typing import Any

import pytest

from decentralml_client.chain.records import Task
from decentralml_client.dashboard import _views as views
from tests.dashboard.fakes import (
    ALICE,
    BOB,
    CHARLIE,
    DAVE,
    FakeChain,
    app_for,
    finished_round,
    make_task,
    member_v2,
)

DML = 10**12


def _paid(fake: FakeChain, block: int, kind: str, who: str, amount: int) -> None:
    fake.events.setdefault(block, []).append(
        ("DecentralMl", kind, {"task_id": 0, "who": who, "amount": amount}))


def _finished_task() -> FakeChain:
    """Task 0 finished after two rounds: BOB's updates accepted, ALICE's rejected; CHARLIE
    and DAVE vote; DAVE is slashed in round 1. Its seats are released (no members left)."""
    fake = FakeChain(1)
    fake.tasks[0] = make_task(0, rounds=2, round_=1, status="Finished")
    fake.tasks[0].update(num_contributors=0, num_validators=0)
    for r in (0, 1):
        finished_round(fake, 0, r, 8000 + 100 * r)
        fake.electorate[(0, r)] = [(CHARLIE, 10 * DML), (DAVE, 10 * DML)]
        block = 10 * (r + 1)
        _paid(fake, block, "RewardPaid", BOB, 80 * DML)
        _paid(fake, block, "RewardPaid", CHARLIE, 12 * DML)
        _paid(fake, block, "RewardPaid", DAVE, 8 * DML)
    _paid(fake, 20, "Slashed", DAVE, DML)
    fake.votes[(0, 1)][DAVE] = [{"submission": 0, "accept": True, "score": 8110},
                                {"submission": 1, "accept": True, "score": 500}]
    return fake


def test_accounts_carry_bond_earnings_slashes_and_agreement_per_round() -> None:
    with app_for(_finished_task()) as client:
        d = client.get("/api/tasks/0").json()
    by = {a["address"]: a for a in d["accounts"]}
    assert set(by) == {BOB, ALICE, CHARLIE, DAVE}
    assert by[BOB]["role"] == "Contributor" and by[BOB]["earned"] == 160 * DML
    assert [r["earned"] for r in by[BOB]["rounds"]] == [80 * DML, 80 * DML]
    assert by[ALICE]["earned"] == 0 and len(by[ALICE]["rounds"]) == 2
    dave = by[DAVE]
    assert dave["role"] == "Validator" and dave["bond"] == 10 * DML and not dave["member"]
    assert dave["slashed"] == DML and [r["slashed"] for r in dave["rounds"]] == [0, DML]
    assert [(r["agreed"], r["cast"]) for r in dave["rounds"]] == [(2, 2), (1, 2)]
    assert [(r["agreed"], r["cast"]) for r in by[CHARLIE]["rounds"]] == [(2, 2), (2, 2)]
    # The membership of an ended task: who took part, not the released seats (0 and 0).
    assert (d["task"]["num_contributors"], d["task"]["num_validators"]) == (2, 2)
    # Loss decrease: the accepted update's consensus score (the validators' lower median).
    assert [r["loss_decrease"] for r in d["rounds"]] == [8000, 8100]
    assert d["rounds"][1]["model_url"] == "/tasks/0/rounds/1/model"


def test_the_task_page_names_accounts_from_the_keystore_and_links_the_models() -> None:
    with app_for(_finished_task(), names=lambda: {BOB: "bob-data"}) as client:
        page = client.get("/tasks/0").text
    assert 'id="accounts"' in page
    assert f"bob-data ({BOB[:6]}…{BOB[-4:]})" in page  # named: name and short address
    assert f"{DAVE[:6]}…{DAVE[-4:]}" in page and "agreed 1/2" in page
    assert "2 contributor(s), 2 validator(s) took part" in page
    assert 'href="/tasks/0/rounds/1/model"' in page and "Loss decrease" in page
    assert "80.00%" in page  # round 0's loss decrease (8000 bp) beside its accuracy


def test_the_model_link_serves_the_attested_weights_file_read_only(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from decentralml_client.storage import IpfsStore
    from decentralml_client.storage.errors import StorageUnavailable

    fetched: list[tuple[str, str]] = []

    def fetch(self: Any, cid: str, expected_hash: str, **_: Any) -> bytes:
        fetched.append((cid, str(expected_hash)))
        return b"weights"

    monkeypatch.setattr(IpfsStore, "fetch", fetch)
    with app_for(_finished_task()) as client:
        r = client.get("/tasks/0/rounds/1/model")
        assert r.status_code == 200 and r.content == b"weights"
        assert 'filename="task-0-round-1.safetensors"' in r.headers["content-disposition"]
        assert fetched == [("bafy-m2", "0x" + "02" * 32)]  # checked against the attested hash
        assert client.get("/tasks/0/rounds/5/model").status_code == 404

        def down(self: Any, cid: str, expected_hash: str, **_: Any) -> bytes:
            raise StorageUnavailable("no IPFS API answers")

        monkeypatch.setattr(IpfsStore, "fetch", down)
        r = client.get("/tasks/0/rounds/1/model")
        assert r.status_code == 503 and "model pull 0 --round 1" in r.text


def _enrolling(head_vs_deadline: int, contributors: int, validators: int) -> Task:
    raw = make_task(0, phase="Enrol", phase_ends_at=50)
    raw.update(num_contributors=contributors, num_validators=validators)
    raw["spec"].update(min_contributors=2, max_contributors=3, min_validators=1,
                       max_validators=2)
    return Task.from_chain(0, raw)


@pytest.mark.parametrize(("head", "c", "v", "says"), [
    (40, 1, 0, "as soon as every seat is taken (1/3 contributor and 0/2 validator seats"),
    (60, 1, 1, "Past its deadline (block #50), enrolment waits for at least 2 contributor"),
    (60, 2, 1, "round 0 opens with the next transaction to this task"),
])
def test_an_enrol_phase_says_why_it_waits(head: int, c: int, v: int, says: str) -> None:
    assert says in (views.enrol_wait(_enrolling(head, c, v), head) or "")
    assert views.enrol_wait(Task.from_chain(0, make_task(0)), head) is None


def test_the_task_page_shows_the_enrol_reason() -> None:
    fake = FakeChain(1)
    fake.tasks[0] = make_task(0, phase="Enrol", phase_ends_at=30)
    fake.members[0] = {BOB: member_v2("Contributor", DML)}
    with app_for(fake) as client:
        page = client.get("/tasks/0").text
    assert 'id="enrol-wait"' in page and "Past its deadline (block #30)" in page
