"""The dev chain: our runtime in Chopsticks on loopback, checked by two independent clients,
with clear errors for what a user can get wrong, persistence, and the `devnet` commands."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from decentralml_client.chain import UNIT, Chain, DecentralMl, Role
from decentralml_client.config import CHAIN_NODE_TOOLS
from decentralml_client.keys import dev_account
from decentralml_client.services.devnet import Devnet, DevnetError, free_port

pytestmark = pytest.mark.integration


def test_polkadot_js_sees_the_calls_registers_and_creates_a_task(fresh_devnet: Devnet) -> None:
    out = subprocess.run(["node", str(CHAIN_NODE_TOOLS / "check-polkadotjs.mjs"), fresh_devnet.url],
                         capture_output=True, text=True, timeout=180, cwd=CHAIN_NODE_TOOLS)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "finalize_round" in out.stdout and out.stdout.strip().endswith("OK")


def test_a_taken_port_is_refused_with_the_fix(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        with pytest.raises(DevnetError, match=f"port {port} .* taken.*--port"):
            Devnet(tmp_path, port=port).start()


def test_missing_chopsticks_names_the_fix(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DML_CHOPSTICKS", str(tmp_path / "nowhere" / "chopsticks.cjs"))
    with pytest.raises(DevnetError, match="make setup"):
        Devnet(tmp_path, port=free_port()).start()


def test_a_persistent_chain_keeps_its_state_across_restarts(tmp_path: Path) -> None:
    port = free_port()
    eve = dev_account("eve")
    with Devnet(tmp_path, port=port, persist=True) as dev, Chain(dev.url) as chain:
        DecentralMl(chain).register(eve.keypair, Role.CONTRIBUTOR, 10 * UNIT, eve.x25519_public)
        head = chain.head()[0]
    with Devnet(tmp_path, port=port, persist=True) as dev, Chain(dev.url) as chain:
        assert chain.head()[0] >= head
        assert DecentralMl(chain).participant(eve.ss58_address) is not None


def _cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "decentralml_client.cli.main", *args],
                          capture_output=True, text=True, env=env, timeout=300)


def test_devnet_up_status_down(tmp_path: Path) -> None:
    env = {**os.environ, "DML_DATA_DIR": str(tmp_path)}
    port, ipfs_port = free_port(), free_port()
    up = _cli("--json", "devnet", "up", "--nodes", "1", "--block-time", "0.5", "--port", str(port),
              "--ipfs-port", str(ipfs_port), env=env)
    try:
        assert up.returncode == 0, up.stderr
        info = json.loads(up.stdout)
        assert info["chain"]["url"] == f"ws://127.0.0.1:{port}"
        # Nobody sends a transaction, yet blocks come (the dev node's idle block timer), so
        # deadlines pass on an idle dev chain.
        with Chain(info["chain"]["url"]) as chain:
            start, deadline = chain.head()[0], time.monotonic() + 30
            while chain.head()[0] < start + 2:
                assert time.monotonic() < deadline, "the idle dev node made no blocks"
                time.sleep(0.2)  # poll interval
        status = _cli("--json", "devnet", "status", env=env)
        assert status.returncode == 0 and json.loads(status.stdout)["head"] >= start + 2
        again = _cli("devnet", "up", "--port", str(port), env=env)
        assert again.returncode != 0 and "already runs" in again.stderr
    finally:
        down = _cli("--json", "devnet", "down", env=env)
    assert json.loads(down.stdout)["stopped"] == {"chain": True, "ipfs": True}
    after = _cli("devnet", "status", env=env)
    assert after.returncode == 3 and "stopped" in after.stdout
