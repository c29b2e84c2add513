"""The local dev network as one unit: the Chopsticks dev chain plus a Kubo daemon.

``decentralml devnet up`` starts both detached and records them in ``<data_dir>/devnet``;
``status`` and ``down`` find them there. ``DevStack`` is the in-process form used by the
demo and the tests (stopped when the ``with`` block ends).
"""

from __future__ import annotations

import contextlib
import json
import signal
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from decentralml_client.services import kubo as kubo_mod
from decentralml_client.services.devnet import (
    Devnet,
    DevnetError,
    read_state,
    stop_detached,
)
from decentralml_client.services.processes import alive, terminate


@dataclass
class StackStatus:
    chain: dict[str, Any] | None
    ipfs: dict[str, Any] | None


def _kubo_state_file(state_dir: Path) -> Path:
    return state_dir / "kubo.json"


def up(state_dir: Path, *, port: int = 9944, ipfs_port: int = 5001, persist: bool = False,
       ipfs: bool = True) -> StackStatus:
    """Start the dev chain (and Kubo) detached; refuse if they already run."""
    state_dir.mkdir(parents=True, exist_ok=True)
    if read_state(state_dir) is not None:
        raise DevnetError(f"a dev chain already runs (state in {state_dir}); "
                          "`decentralml devnet down` stops it")
    chain = Devnet(state_dir, port=port, persist=persist)
    chain.start(detach=True)
    if ipfs:
        try:
            start_kubo_detached(state_dir, ipfs_port)
        except Exception:
            stop_detached(state_dir)
            raise
    return status(state_dir)


def start_kubo_detached(state_dir: Path, api_port: int) -> dict[str, Any]:
    daemon = kubo_mod.KuboDaemon(state_dir / "ipfs", api_port=api_port)
    daemon.start()
    api, api_url = daemon.api_multiaddr, daemon.api_url
    pid = daemon.detach()  # outlive this process: `devnet down` stops it
    info = {"pid": pid, "api": api, "api_url": api_url, "repo": str(daemon.repo_dir)}
    _kubo_state_file(state_dir).write_text(json.dumps(info, indent=2))
    return info


def status(state_dir: Path) -> StackStatus:
    chain = read_state(state_dir)
    ipfs = None
    f = _kubo_state_file(state_dir)
    if f.is_file():
        info = json.loads(f.read_text())
        if info.get("pid") and alive(int(info["pid"])):
            ipfs = info
        else:
            f.unlink(missing_ok=True)
    return StackStatus(chain=chain.__dict__ if chain else None, ipfs=ipfs)


def down(state_dir: Path) -> StackStatus:
    """Stop what `up` started; returns what was running."""
    before = status(state_dir)
    stop_detached(state_dir)
    if before.ipfs:
        terminate([int(before.ipfs["pid"])], steps=((signal.SIGINT, 15.0),), group=False)
        _kubo_state_file(state_dir).unlink(missing_ok=True)
    return before


class BlockTicker:
    """Builds an empty block every ``interval`` seconds, as a real chain's block time would.

    Chopsticks builds blocks only when transactions arrive; deadlines counted in blocks
    (a silent validator, a missed reveal) need time to pass on chain too.
    """

    def __init__(self, url: str, interval: float) -> None:
        self.url = url
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="block-ticker", daemon=True)

    def _run(self) -> None:
        from decentralml_client.chain.client import Chain

        chain = None
        try:
            chain = Chain(self.url, check_abi=False, timeout=10)
            while not self._stop.wait(self.interval):
                chain.new_blocks(1)
        except Exception:  # the chain went away: the ticker ends with it
            return
        finally:
            if chain is not None:
                with contextlib.suppress(Exception):
                    chain.close()

    def start(self) -> BlockTicker:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=15)
