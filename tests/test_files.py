"""Atomic writes (the roles' journals, the content cache): old file or new file, never a mix."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from decentralml_client.files import write_atomic


def test_the_new_content_replaces_the_old(tmp_path: Path) -> None:
    path = tmp_path / "journal" / "j.json"
    write_atomic(path, b"old")
    write_atomic(path, b"new", durable=False)
    assert path.read_bytes() == b"new"
    assert sorted(p.name for p in path.parent.iterdir()) == ["j.json"]


def test_ctrl_c_during_a_write_leaves_the_old_file_and_no_leftovers(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "j.json"
    write_atomic(path, b"old")

    def interrupted(src: str, dst: str) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", interrupted)
    with pytest.raises(KeyboardInterrupt):
        write_atomic(path, b"new")
    assert path.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["j.json"]
