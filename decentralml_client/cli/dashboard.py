"""``decentralml dashboard``: the read-only web view of tasks, rounds, votes and models."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import typer

from decentralml_client.cli._common import state


def dashboard(
    ctx: typer.Context,
    host: str = typer.Option("127.0.0.1", help="Interface to listen on (loopback by default)."),
    port: int = typer.Option(8000, help="HTTP port."),
) -> None:
    """Serve the dashboard (read-only) for the configured chain and IPFS."""
    import uvicorn

    from decentralml_client.dashboard.app import create_app

    st = state(ctx)
    uvicorn.run(create_app(st.settings, names=KeyNames(st.settings.keystore)), host=host,
                port=port, log_level="warning")


class KeyNames:
    """Address → key name of the local keystore (public parts only: nothing is decrypted), read
    again at most every ``ttl`` s: the dashboard shows ``alice-data (5EhF…t43p)`` for the
    accounts whose keys are on this machine, as a wallet names its own accounts."""

    def __init__(self, path: Path, ttl: float = 10.0) -> None:
        self.path, self.ttl = path, ttl
        self._names: dict[str, str] = {}
        self._read_at = -float("inf")
        self._lock = threading.Lock()

    def __call__(self) -> dict[str, str]:
        with self._lock:
            if time.monotonic() - self._read_at > self.ttl:
                self._names = self._read()
                self._read_at = time.monotonic()
            return self._names

    def _read(self) -> dict[str, str]:
        if not self.path.is_dir():
            return {}
        from decentralml_client.keys import Keystore

        try:
            return {k.ss58_address: k.name for k in Keystore(self.path).list()}
        except Exception:  # a keystore that cannot be listed names nobody
            return {}
