"""Chain-spec settings that live in genesis storage: the Aura slot duration.

The runtime reads its slot length from the well-known key ``twox_128(b":SlotDurationMs:")``
(``SlotDurationMs`` in ``chain/runtime``; 6 s when the key is absent). A raw chain spec sets
it by carrying that key in ``genesis.raw.top``; the node reads it once, when it starts, so a
chain keeps the slot it was born with. ``chain/scripts/build-runtime.sh`` writes 2 s into the
committed ``local`` spec; ``decentralml devnet up --slot-ms`` starts a network from a copy
with another value.

Standard library only, so the build script can run it before the project's environment exists::

    python3 -m decentralml_client.services.chainspec set-slot SPEC.json 2000
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

#: ``twox_128(b":SlotDurationMs:")`` (checked against the runtime by its tests).
SLOT_DURATION_KEY = "0x536b541048e46c58935e6da54d1766a9"
#: The runtime's slot when a spec sets none.
DEFAULT_SLOT_MS = 6_000
#: Shortest slot we let a spec set: Aura gives the author 2/3 of a slot to build a block.
MIN_SLOT_MS = 500


def slot_ms(spec: dict[str, Any]) -> int:
    """The slot duration a raw chain spec sets (the runtime's default when it sets none)."""
    raw = spec.get("genesis", {}).get("raw", {}).get("top", {}).get(SLOT_DURATION_KEY)
    return int.from_bytes(bytes.fromhex(raw[2:]), "little") if raw else DEFAULT_SLOT_MS


def with_slot_ms(spec: dict[str, Any], ms: int) -> dict[str, Any]:
    """A copy of a raw chain spec whose genesis sets the Aura slot to ``ms`` milliseconds."""
    if ms < MIN_SLOT_MS:
        raise ValueError(f"a slot of {ms} ms is too short (at least {MIN_SLOT_MS} ms)")
    top = spec.get("genesis", {}).get("raw", {}).get("top")
    if not isinstance(top, dict):
        raise ValueError("not a raw chain spec (no genesis.raw.top)")
    out: dict[str, Any] = json.loads(json.dumps(spec))
    out["genesis"]["raw"]["top"][SLOT_DURATION_KEY] = "0x" + ms.to_bytes(8, "little").hex()
    return out


def write_with_slot_ms(source: Path, target: Path, ms: int) -> Path:
    """Write ``source`` (a raw chain spec) to ``target`` with its slot set to ``ms``."""
    spec = with_slot_ms(json.loads(Path(source).read_text()), ms)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + ".tmp")
    tmp.write_text(json.dumps(spec, indent=2) + "\n")
    tmp.replace(target)
    return target


def main(argv: list[str]) -> int:
    if len(argv) != 3 or argv[0] != "set-slot":
        print("usage: python3 -m decentralml_client.services.chainspec set-slot SPEC.json MS",
              file=sys.stderr)
        return 2
    path = Path(argv[1])
    write_with_slot_ms(path, path, int(argv[2]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
