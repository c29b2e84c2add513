"""An in-memory stand-in for the chain as the role loops see it (no node, no IPFS, no ML).

:class:`FakeChain` answers the storage reads and takes the pallet calls that
:class:`~decentralml_client.chain.DecentralMl` makes over a
:class:`~decentralml_client.chain.Chain`. The task walks through a script of ``(round,
retries, phase)`` states, one step every ``reads_per_phase`` reads of it (as blocks pass
between a role's polls), and ends ``Finished`` after the script. Calls are recorded; a call
named in ``refuse`` fails with that pallet error, as the runtime would refuse it.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from decentralml_client.chain import PalletError, Receipt
from decentralml_client.chain.api import UNIT, permill
from decentralml_client.chain.records import Task
from decentralml_client.keys import dev_account
from decentralml_client.roles.common import RoleContext

TASK_ID = 7
CREATOR = dev_account("ferdie").ss58_address
MODEL_HASH = "0x" + "00" * 32

Phase = tuple[int, int, str]
ELECTORATE = ("alice", "bob", "charlie", "dave", "eve", "ferdie")


def phases(round_: int, *names: str, retries: int = 0) -> list[Phase]:
    """``(round_, retries, name)`` for each phase name, in order."""
    return [(round_, retries, name) for name in names]


ROUND_PHASES = ("Commit", "Reveal", "VoteCommit", "VoteReveal", "Aggregate")


class FakeChain:
    def __init__(self, script: list[Phase], *, reads_per_phase: int = 2,
                 refuse: dict[str, str] | None = None,
                 maps: dict[str, list[tuple[Any, Any]]] | None = None,
                 spec: dict[str, Any] | None = None) -> None:
        self.script = script
        self.spec = dict(spec or {})  # task spec fields over the defaults below
        self.maps = dict(maps or {})  # storage maps the chain holds (e.g. Submissions)
        self.reads_per_phase = reads_per_phase
        self.refuse = dict(refuse or {})
        self.reads = 0
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.block = 0  # the head; each look at it makes ``blocks_per_head`` more
        self.blocks_per_head = 0
        self.phase_ends_at = 1_000  # of every phase
        self.fields: dict[str, Any] = {}  # task record fields over the defaults (draw_seed, ...)
        # every round's electorate, in order: (address, bond); by default every dev account
        # (without a committee in the spec, each judges every revealed update)
        self.electorate = [(dev_account(n).ss58_address, 2 * UNIT) for n in ELECTORATE]

    # -- what DecentralMl reads -------------------------------------------------------------

    def task(self) -> dict[str, Any]:
        step = self.reads // self.reads_per_phase
        finished = step >= len(self.script)
        r, retries, phase = self.script[min(step, len(self.script) - 1)]
        return {"creator": CREATOR, "status": "Finished" if finished else "Active", "round": r,
                "retries": retries, "phase": phase, "phase_ends_at": self.phase_ends_at,
                "model_cid": "bafy-model", "model_hash": MODEL_HASH, "electorate_stake": 0,
                "spec": {"quorum": permill(2 / 3), "max_examples": 10_000, "private": False,
                         "model_cid": "bafy-model", "model_hash": MODEL_HASH, **self.spec},
                **self.fields}

    def record(self, **changes: Any) -> Task:
        """The task as the role code sees it (with ``changes``), without counting a read."""
        return Task.from_chain(TASK_ID, {**self.task(), **changes})

    def query(self, storage: str, params: list[Any] | None = None, **_: Any) -> Any:
        if storage == "Tasks" and params == [TASK_ID]:
            self.reads += 1
            return self.task()
        if storage == "Electorate":
            return self.electorate
        return None

    def query_map(self, storage: str, params: list[Any] | None = None,
                  **_: Any) -> list[tuple[Any, Any]]:
        return list(self.maps.get(storage, []))

    def head(self) -> tuple[int, str]:
        self.block += self.blocks_per_head
        return self.block, f"0x{self.block:064x}"

    # -- what DecentralMl sends -------------------------------------------------------------

    def submit(self, signer: Any, call: str, params: dict[str, Any], **_: Any) -> Receipt:
        self.calls.append((call, params))
        if call in self.refuse:
            raise PalletError("DecentralMl", self.refuse.pop(call), call=call)
        return Receipt("0x01", "0x02", self.reads)

    def names(self) -> list[str]:
        return [name for name, _ in self.calls]


def role_context(chain: FakeChain, data_dir: Path, *, name: str = "alice",
                 stop: Callable[[], bool] = lambda: False,
                 head_max_age: float = float("inf")) -> RoleContext:
    """A role's context over the fake chain: no store (the loops under test do not reach
    IPFS), no waiting between polls."""
    return RoleContext(chain=chain, store=None, account=dev_account(name),  # type: ignore[arg-type]
                       data_dir=data_dir, poll=0.0, stop=stop, head_max_age=head_max_age)
