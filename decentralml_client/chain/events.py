"""Runtime events as the chain API returns them, and the receipt of an included transaction.

Each DecentralMl event of the pallet interface (``pallet_abi/decentralml.json``) also has a
frozen record class, made from the interface when this module is imported, with its fields
decoded by their Rust types (balances and indices as ``int``, accounts as ``str``, hashes as
:class:`~.records.Hash`, CIDs as text): ``receipt.find("TaskCreated")[0].record.task_id``.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from decentralml_client.chain.errors import ABI_FILE
from decentralml_client.chain.records import Hash, cid_text

PALLET = "DecentralMl"

_INTEGERS = frozenset({"TaskId", "RoundIndex", "SubmissionIndex", "u8", "u16", "u32", "u64",
                       "u128", "BalanceOf<T>"})


def _decoder(rust_type: str) -> Callable[[Any], Any]:
    """How a field of this Rust type is decoded from what substrate-interface returns."""
    if rust_type in _INTEGERS:
        return int
    if rust_type in ("T::AccountId", "AccountId"):
        return str
    if rust_type == "H256":
        return lambda v: Hash(str(v))
    if rust_type == "Cid":
        return cid_text
    if rust_type == "bool":
        return bool
    return lambda v: v  # enums (Role, Phase, SlashReason, ...) as the chain names them


EventClass = tuple[type, dict[str, Callable[[Any], Any]]]


def _event_classes(path: Path = ABI_FILE) -> dict[str, EventClass]:
    """Per DecentralMl event: its frozen record class and each field's decoder."""
    out: dict[str, EventClass] = {}
    for e in json.loads(path.read_text()).get("events", []):
        fields = [(f["name"], Any) for f in e["fields"]]
        cls = dataclasses.make_dataclass(e["name"], fields, frozen=True,
                                         namespace={"__doc__": e.get("docs") or e["name"]})
        cls.__module__ = __name__
        out[e["name"]] = (cls, {f["name"]: _decoder(f["type"]) for f in e["fields"]})
    return out


EVENT_RECORDS = _event_classes()
"""The DecentralMl events by name: (record class, field decoders), from the pallet interface."""


@dataclass(frozen=True)
class Event:
    """One runtime event, decoded: ``Pallet.Name`` with its named fields."""

    pallet: str
    name: str
    attributes: Any
    extrinsic_idx: int | None = None

    @property
    def qualname(self) -> str:
        return f"{self.pallet}.{self.name}"

    @property
    def record(self) -> Any:
        """The event as its frozen record (``TaskCreated(task_id=4, creator=..., ...)``)."""
        if self.pallet != PALLET or self.name not in EVENT_RECORDS:
            raise KeyError(f"{self.qualname} is not an event of the {PALLET} interface")
        cls, decoders = EVENT_RECORDS[self.name]
        attrs = self.attributes if isinstance(self.attributes, dict) else {}
        return cls(**{k: (None if attrs.get(k) is None else decode(attrs[k]))
                      for k, decode in decoders.items()})

    def field(self, name: str) -> Any:
        """The event's field ``name`` (e.g. ``TaskCreated``'s ``task_id``)."""
        if isinstance(self.attributes, dict) and name in self.attributes:
            return self.attributes[name]
        raise KeyError(f"event {self.qualname} has no field {name!r} ({self.attributes!r})")


@dataclass
class Receipt:
    """A transaction included in a block, with the events it emitted."""

    extrinsic_hash: str
    block_hash: str
    block_number: int
    events: list[Event] = field(default_factory=list)

    def find(self, name: str, pallet: str = PALLET) -> list[Event]:
        return [e for e in self.events if e.pallet == pallet and e.name == name]


def event_from_record(record: Any) -> Event:
    value = record.value if hasattr(record, "value") else record
    ev = value["event"]
    return Event(
        pallet=ev["module_id"],
        name=ev["event_id"],
        attributes=ev.get("attributes"),
        extrinsic_idx=value.get("extrinsic_idx"),
    )
