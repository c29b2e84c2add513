"""``decentralml dashboard`` as a user runs it: loopback, up without a chain, quick Ctrl-C."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from decentralml_client.services.devnet import free_port

CLI = Path(sys.executable).parent / "decentralml"


def test_cli_serves_on_loopback_and_stops_with_an_event_stream_open(tmp_path: Path) -> None:
    port, dead = free_port(), free_port()  # nothing listens on `dead`: no chain at all
    env = dict(os.environ, DML_CONFIG=str(tmp_path / "none.toml"),
               DML_KEYSTORE=str(tmp_path / "keys"), DML_DATA_DIR=str(tmp_path))
    proc = subprocess.Popen([str(CLI), "--node", f"ws://127.0.0.1:{dead}", "dashboard",
                             "--port", str(port)], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                health = httpx.get(f"{base}/api/health", timeout=5).json()
                break
            except httpx.TransportError:
                assert proc.poll() is None and time.monotonic() < deadline, "did not start"
                time.sleep(0.2)
        assert health["status"] == "chain_unreachable"
        assert httpx.get(f"{base}/api/tasks").status_code == 503
        with httpx.stream("GET", f"{base}/api/events", timeout=10) as stream:
            lines = stream.iter_lines()
            assert next(lines).startswith("retry:")
            started = time.monotonic()
            proc.send_signal(signal.SIGINT)
            proc.wait(timeout=10)
        assert time.monotonic() - started < 10
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert not (tmp_path / "keys").exists()  # the keystore was never created or opened


def test_the_dashboard_is_given_the_local_keystores_names(tmp_path) -> None:
    """``decentralml dashboard`` names accounts by their local key names, read from the key
    files' public parts (the password is never asked for)."""
    from decentralml_client.cli.dashboard import KeyNames
    from decentralml_client.keys import KdfLimits, Keystore

    info = Keystore(tmp_path / "keys", kdf_limits=KdfLimits.minimum()).create("alice-data", "pw")
    assert KeyNames(tmp_path / "keys")() == {info.ss58_address: "alice-data"}
    assert KeyNames(tmp_path / "nothing")() == {}
