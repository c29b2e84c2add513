"""Runtime events as the chain API returns them, and the receipt of an included transaction."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

PALLET = "DecentralMl"


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
