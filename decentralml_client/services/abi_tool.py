"""``make abi``: write the pallet's interface from a chain, or check the recorded one.

    python -m decentralml_client.services.abi_tool generate [--url WS]
    python -m decentralml_client.services.abi_tool check [--url WS]

Without ``--url`` a throwaway dev chain runs our runtime. ``generate`` writes the package's
copy (the one the client checks against) and the repository's ``pallet-abi/`` copy.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from decentralml_client.chain.abi import ABI_FILE, REPO_ABI_FILE, describe, differences, dumps, load
from decentralml_client.chain.client import Chain
from decentralml_client.services.devnet import Devnet
from decentralml_client.services.ports import free_port


def _with_chain(url: str | None, fn: Callable[[Chain], Any]) -> Any:
    if url:
        with Chain(url, check_abi=False) as chain:
            return fn(chain)
    with tempfile.TemporaryDirectory() as tmp, Devnet(Path(tmp), port=free_port()) as dev, \
            Chain(dev.url, check_abi=False) as chain:
        return fn(chain)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m decentralml_client.services.abi_tool")
    parser.add_argument("command", choices=["generate", "check"])
    parser.add_argument("--url", help="a running node (default: start a throwaway dev chain)")
    parser.add_argument("--out", type=Path, default=None,
                        help=f"write/check only this file (default: {ABI_FILE} and "
                        f"{REPO_ABI_FILE} when in a checkout)")
    args = parser.parse_args(argv)
    targets = [args.out] if args.out else [ABI_FILE]
    if args.out is None and REPO_ABI_FILE.parent.is_dir():
        targets.append(REPO_ABI_FILE)
    abi = _with_chain(args.url, describe)
    if args.command == "generate":
        for out in targets:
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_text(dumps(abi))
            print(f"wrote {out}")
        return 0
    stale = 0
    for out in targets:
        committed = load(out)
        diffs = differences(committed, abi)
        if diffs or committed != abi:
            stale += 1
            print(f"{out} is stale; run `make abi` and commit it:", file=sys.stderr)
            for d in diffs:
                print(f"  - {d}", file=sys.stderr)
        else:
            print(f"{out} matches the runtime")
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main())
