"""The DecentralMl interface as the client sees it, generated from the runtime's metadata.

The package carries it as data, ``decentralml_client/chain/pallet_abi/decentralml.json``
(:data:`ABI_FILE`), so the check runs in every install, a wheel included; ``pallet-abi/`` at
the repository root holds the same file for readers of the checkout. :func:`check_compatible`
is what the client runs at connect time, refusing a chain whose calls, storage, events or
errors differ. ``python -m decentralml_client.services.abi_tool generate`` (``make abi``) rewrites
both files from a chain; ``check`` compares (see :mod:`decentralml_client.services.abi_tool`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Protocol

from decentralml_client.chain.errors import ABI_FILE, IncompatibleChain
from decentralml_client.config import REPO_ROOT

__all__ = ["ABI_FILE", "REPO_ABI_FILE", "check_compatible", "describe", "differences", "load"]
#: The same file at the repository root (written together with ABI_FILE by ``make abi``).
REPO_ABI_FILE = REPO_ROOT / "pallet-abi" / "decentralml.json"


class MetadataSource(Protocol):
    """What :func:`describe` needs of a chain (a :class:`~decentralml_client.chain.Chain`)."""

    url: str

    def metadata(self) -> Any: ...

    def constant(self, name: str, pallet: str = ...) -> Any: ...


PALLET = "DecentralMl"


def _fields(fields: list[dict[str, Any]]) -> list[dict[str, str]]:
    return [{"name": f.get("name") or "", "type": f.get("typeName") or ""} for f in fields]


def _docs(value: dict[str, Any]) -> str:
    return " ".join(d.strip() for d in value.get("docs", [])).strip()


def describe(chain: MetadataSource) -> dict[str, Any]:
    """The pallet's interface from the chain's metadata, as a JSON-ready dict."""
    metadata = chain.metadata()
    pallet = metadata.get_metadata_pallet(PALLET)
    if pallet is None:
        raise IncompatibleChain(
            f"the chain at {chain.url} has no {PALLET} pallet: it is not a DecentralML chain"
        )
    calls = [
        {"name": c.value["name"], "args": _fields(c.value.get("fields", [])),
         "docs": _docs(c.value)}
        for c in (pallet.calls or [])
    ]
    events = [
        {"name": e.value["name"], "fields": _fields(e.value.get("fields", [])),
         "docs": _docs(e.value)}
        for e in (pallet.events or [])
    ]
    errors = [{"name": e.value["name"], "docs": _docs(e.value)} for e in (pallet.errors or [])]
    storage = []
    for entry in (pallet.storage or []):
        v = entry.value
        storage.append({"name": v["name"], "modifier": v.get("modifier"),
                        "type": _storage_type(v.get("type")), "docs": _docs(v)})
    constants = [
        {"name": c.value["name"], "value": chain.constant(c.value["name"]),
         "docs": _docs(c.value)}
        for c in (pallet.constants or [])
    ]
    return {
        "pallet": PALLET,
        "index": pallet.value.get("index"),
        "calls": calls,
        "storage": storage,
        "events": events,
        "errors": errors,
        "constants": constants,
    }


def _storage_type(t: Any) -> Any:
    """Storage types without registry ids, which shift whenever any runtime type changes."""
    if isinstance(t, dict):
        if "Plain" in t:
            return {"kind": "plain"}
        if "Map" in t:
            m = t["Map"]
            return {"kind": "map", "hashers": list(m.get("hashers", []))}
    return {"kind": str(t)}


def signature(abi: dict[str, Any]) -> dict[str, Any]:
    """What must match for the client to work: names, argument names and Rust type names."""
    return {
        "calls": {c["name"]: [(a["name"], a["type"]) for a in c["args"]] for c in abi["calls"]},
        "storage": {s["name"]: s["type"] for s in abi["storage"]},
        "events": {e["name"]: [f["name"] for f in e["fields"]] for e in abi["events"]},
        "errors": sorted(e["name"] for e in abi["errors"]),
    }


def differences(expected: dict[str, Any], actual: dict[str, Any]) -> list[str]:
    out: list[str] = []
    a, b = signature(expected), signature(actual)
    for section in ("calls", "storage", "events"):
        for name in sorted(set(a[section]) | set(b[section])):
            if name not in b[section]:
                out.append(f"{section[:-1]} {name} is missing on the chain")
            elif name not in a[section]:
                out.append(f"{section[:-1]} {name} is unknown to this client")
            elif json.dumps(a[section][name]) != json.dumps(b[section][name]):
                out.append(f"{section[:-1]} {name} differs: client {a[section][name]} "
                           f"vs chain {b[section][name]}")
    missing_err = sorted(set(a["errors"]) - set(b["errors"]))
    if missing_err:
        out.append(f"errors missing on the chain: {missing_err}")
    return out


def load(path: Path = ABI_FILE) -> dict[str, Any]:
    """The interface recorded in ``path`` (by default the one this client was built for)."""
    abi: dict[str, Any] = json.loads(Path(path).read_text())
    return abi


def check_compatible(chain: MetadataSource, path: Path = ABI_FILE) -> None:
    """Refuse a chain whose DecentralMl interface differs from the recorded one."""
    diffs = differences(load(path), describe(chain))
    if diffs:
        raise IncompatibleChain(
            f"the chain at {chain.url} runs an incompatible DecentralMl pallet:\n  - "
            + "\n  - ".join(diffs[:10])
            + "\nUpgrade the client (or the runtime) so both come from the same release."
        )


def dumps(abi: dict[str, Any]) -> str:
    return json.dumps(abi, indent=2, sort_keys=False) + "\n"
