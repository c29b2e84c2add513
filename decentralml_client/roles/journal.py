"""A role's journal on disk: what it did in each round, written before and after each step.

A restarted contributor, validator or aggregator reads its journal and carries on: it never
trains twice for a round it already committed, never loses the salt of a commitment, never
votes or proposes twice. Writes are atomic (temporary file, fsync, rename).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from decentralml_client.files import write_atomic


class Journal:
    """A JSON document per (role, account, task), with one entry per round attempt."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._data: dict[str, Any] = {"rounds": {}}
        if self.path.is_file():
            self._data = json.loads(self.path.read_text())

    @classmethod
    def for_role(cls, data_dir: Path, role: str, address: str, task_id: int) -> Journal:
        return cls(Path(data_dir) / "journal" / f"{role}-{address}-task{task_id}.json")

    def entry(self, key: str) -> dict[str, Any]:
        """The (mutable copy of the) entry for a round attempt, e.g. ``"3.0"``."""
        return dict(self._data["rounds"].get(key, {}))

    def update(self, key: str, **fields: Any) -> dict[str, Any]:
        """Merge ``fields`` into the entry and persist atomically before returning."""
        entry = self.entry(key)
        entry.update(fields)
        self._data["rounds"][key] = entry
        self._flush()
        return entry

    def _flush(self) -> None:
        write_atomic(self.path, json.dumps(self._data, indent=1, sort_keys=True).encode())


def attempt_key(round_: int, retries: int) -> str:
    """Journal key of one attempt of a round (a failed round is retried with the same index)."""
    return f"{round_}.{retries}"
