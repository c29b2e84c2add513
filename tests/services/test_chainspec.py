"""The slot duration a raw chain spec sets in its genesis storage."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from decentralml_client.chain.client import _twox128
from decentralml_client.services.chainspec import (
    DEFAULT_SLOT_MS,
    SLOT_DURATION_KEY,
    main,
    slot_ms,
    with_slot_ms,
    write_with_slot_ms,
)
from decentralml_client.services.node import DEV_CHAIN_SPEC, LOCAL_CHAIN_SPEC


def test_the_key_is_the_runtimes_storage_parameter() -> None:
    assert SLOT_DURATION_KEY == "0x" + _twox128(b":SlotDurationMs:")


def test_the_committed_local_network_runs_two_second_slots_and_the_dev_spec_sets_none() -> None:
    assert slot_ms(json.loads(LOCAL_CHAIN_SPEC.read_text())) == 2_000
    assert slot_ms(json.loads(DEV_CHAIN_SPEC.read_text())) == DEFAULT_SLOT_MS


def test_a_copy_with_another_slot_changes_that_key_only(tmp_path: Path) -> None:
    target = write_with_slot_ms(LOCAL_CHAIN_SPEC, tmp_path / "spec.json", 1_000)
    before, after = json.loads(LOCAL_CHAIN_SPEC.read_text()), json.loads(target.read_text())
    assert slot_ms(after) == 1_000
    assert after["genesis"]["raw"]["top"][SLOT_DURATION_KEY] == "0xe803000000000000"
    del before["genesis"]["raw"]["top"][SLOT_DURATION_KEY]
    del after["genesis"]["raw"]["top"][SLOT_DURATION_KEY]
    assert before == after
    assert main(["set-slot", str(target), "1500"]) == 0
    assert slot_ms(json.loads(target.read_text())) == 1_500


def test_too_short_a_slot_and_a_plain_spec_are_refused() -> None:
    spec = json.loads(LOCAL_CHAIN_SPEC.read_text())
    with pytest.raises(ValueError, match="too short"):
        with_slot_ms(spec, 100)
    with pytest.raises(ValueError, match="not a raw chain spec"):
        with_slot_ms({"genesis": {"runtimeGenesis": {}}}, 2_000)
    assert main(["set-slot"]) == 2
