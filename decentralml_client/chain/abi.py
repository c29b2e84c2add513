"""``pallet-abi/``: the DecentralMl interface as the client sees it, from runtime metadata.

``python -m decentralml_client.chain.abi generate [--url WS]`` writes
``pallet-abi/decentralml.json`` from a running chain (or a throwaway dev chain it starts).
``check`` compares a chain with the committed file; :func:`check_compatible` is what the
client runs at connect time, refusing a chain whose calls, storage, events or errors differ.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from decentralml_client.chain.errors import IncompatibleChain
from decentralml_client.config import PALLET_ABI

if TYPE_CHECKING:
    from decentralml_client.chain.client import Chain

PALLET = "DecentralMl"


def _fields(fields: list[dict[str, Any]]) -> list[dict[str, str]]:
    return [{"name": f.get("name") or "", "type": f.get("typeName") or ""} for f in fields]


def _docs(value: dict[str, Any]) -> str:
    return " ".join(d.strip() for d in value.get("docs", [])).strip()


def describe(chain: Chain) -> dict[str, Any]:
    """The pallet's interface from the chain's metadata, as a JSON-ready dict."""
    metadata = chain.metadata()
    pallet = metadata.get_metadata_pallet(PALLET)
    if pallet is None:
        raise IncompatibleChain(
            f"the chain at {chain.url} has no {PALLET} pallet: it is not a DecentralML chain"
        )
    calls = [
        {"name": c.value["name"], "args": _fields(c.value.get("fields", [])), "docs": _docs(c.value)}
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


def load(path: Path = PALLET_ABI) -> dict[str, Any]:
    return json.loads(Path(path).read_text())  # type: ignore[no-any-return]


def check_compatible(chain: Chain, path: Path = PALLET_ABI) -> None:
    """Refuse a chain whose DecentralMl interface differs from ``pallet-abi/``."""
    actual = describe(chain)
    if not Path(path).is_file():
        return
    diffs = differences(load(path), actual)
    if diffs:
        raise IncompatibleChain(
            f"the chain at {chain.url} runs an incompatible DecentralMl pallet:\n  - "
            + "\n  - ".join(diffs[:10])
            + "\nUpgrade the client (or the runtime) so both come from the same release."
        )


def dumps(abi: dict[str, Any]) -> str:
    return json.dumps(abi, indent=2, sort_keys=False) + "\n"


def _with_chain(url: str | None, fn: Any) -> Any:
    from decentralml_client.chain.client import Chain

    if url:
        with Chain(url, check_abi=False) as chain:
            return fn(chain)
    import tempfile

    from decentralml_client.services.devnet import Devnet, free_port

    with tempfile.TemporaryDirectory() as tmp, Devnet(Path(tmp), port=free_port()) as dev:
        with Chain(dev.url, check_abi=False) as chain:
            return fn(chain)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m decentralml_client.chain.abi")
    parser.add_argument("command", choices=["generate", "check"])
    parser.add_argument("--url", help="a running node (default: start a throwaway dev chain)")
    parser.add_argument("--out", type=Path, default=PALLET_ABI)
    args = parser.parse_args(argv)
    abi = _with_chain(args.url, describe)
    if args.command == "generate":
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(dumps(abi))
        print(f"wrote {args.out}")
        return 0
    committed = load(args.out)
    diffs = differences(committed, abi)
    if diffs or committed != abi:
        print(f"{args.out} is stale; run `make abi` and commit it:", file=sys.stderr)
        for d in diffs:
            print(f"  - {d}", file=sys.stderr)
        return 1
    print(f"{args.out} matches the runtime")
    return 0


if __name__ == "__main__":
    sys.exit(main())
