"""The roles' journal: one entry per round attempt, persisted before the next step starts."""

from __future__ import annotations

import json
from pathlib import Path

from decentralml_client.roles.journal import Journal, attempt_key


def test_attempt_keys_name_round_and_retry() -> None:
    assert attempt_key(3, 0) == "3.0" and attempt_key(3, 1) == "3.1"


def test_one_file_per_role_account_and_task(tmp_path: Path) -> None:
    a = Journal.for_role(tmp_path, "contributor", "5Alice", 1)
    b = Journal.for_role(tmp_path, "validator", "5Alice", 1)
    c = Journal.for_role(tmp_path, "contributor", "5Alice", 2)
    assert a.path == tmp_path / "journal" / "contributor-5Alice-task1.json"
    assert len({a.path, b.path, c.path}) == 3


def test_an_update_is_on_disk_before_it_returns(tmp_path: Path) -> None:
    journal = Journal.for_role(tmp_path, "contributor", "5Alice", 1)
    assert not journal.path.exists() and journal.entry("0.0") == {}

    returned = journal.update("0.0", prepared=True, salt="0x01")
    journal.update("0.0", committed=True)

    assert returned == {"prepared": True, "salt": "0x01"}
    on_disk = json.loads(journal.path.read_text())
    assert on_disk == {"rounds": {"0.0": {"committed": True, "prepared": True, "salt": "0x01"}}}


def test_a_restarted_role_reads_what_it_journalled(tmp_path: Path) -> None:
    Journal.for_role(tmp_path, "validator", "5Bob", 4).update("1.0", verdicts=[[0, True, 10]])
    again = Journal.for_role(tmp_path, "validator", "5Bob", 4)
    assert again.entry("1.0") == {"verdicts": [[0, True, 10]]}
    assert again.entry("1.1") == {}  # a retried attempt starts afresh


def test_entries_are_copies(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j.json")
    journal.update("0.0", prepared=True)
    entry = journal.entry("0.0")
    entry["committed"] = True
    assert journal.entry("0.0") == {"prepared": True}
