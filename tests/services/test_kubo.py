"""KuboDaemon: offline loopback config, readiness, clear errors, clean stop."""

from __future__ import annotations

import json
import socket

import httpx
import pytest

from decentralml_client.services.kubo import (
    KuboDaemon,
    KuboError,
    KuboNotInstalled,
    KuboStartError,
    find_kubo_binary,
)

pytestmark = pytest.mark.integration


def test_session_daemon_is_offline_and_loopback_only(kubo):
    assert kubo.is_running()
    assert kubo.api_multiaddr.startswith("/ip4/127.0.0.1/tcp/")
    assert kubo.api_url == f"http://127.0.0.1:{kubo.api_port}"
    config = json.loads((kubo.repo_dir / "config").read_text())
    assert config["Addresses"]["Swarm"] == []
    assert config["Addresses"]["Gateway"] == []
    assert config["Bootstrap"] == []
    assert config["Discovery"]["MDNS"]["Enabled"] is False
    reply = httpx.post(f"{kubo.api_url}/api/v0/id", trust_env=False, timeout=5).json()
    assert reply["ID"] == kubo.peer_id
    swarm = httpx.post(f"{kubo.api_url}/api/v0/swarm/addrs/listen", trust_env=False, timeout=5)
    assert not swarm.is_success or not swarm.json().get("Strings")


def test_context_manager_starts_and_stops(kubo_factory):
    daemon = kubo_factory()
    with daemon as running:
        assert running.is_running()
        url = running.api_url
    assert not daemon.is_running()
    with pytest.raises(httpx.TransportError):
        httpx.post(f"{url}/api/v0/id", trust_env=False, timeout=2)
    daemon.stop()  # idempotent


def test_gateway_on_request(kubo_factory):
    with kubo_factory(gateway=True) as daemon:
        assert daemon.gateway_url and daemon.gateway_url.startswith("http://127.0.0.1:")


def test_taken_port_is_a_clear_error(kubo_factory):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        with pytest.raises(KuboStartError, match=f"port {port} .* already in use"):
            kubo_factory(api_port=port).start()


def test_second_daemon_on_same_repo_refused(kubo, kubo_factory):
    other = kubo_factory(repo_dir=kubo.repo_dir, start_timeout=20)
    with pytest.raises(KuboStartError, match="already uses the repo|exited"):
        other.start()
    assert kubo.is_running()


def test_missing_binary_names_the_fix(tmp_path, monkeypatch):
    monkeypatch.setenv("DML_IPFS_BIN", str(tmp_path / "nope"))
    with pytest.raises(KuboNotInstalled, match="install-kubo.sh"):
        find_kubo_binary()
    with pytest.raises(KuboNotInstalled, match="DML_IPFS_BIN"):
        KuboDaemon(tmp_path / "repo").start()


def test_properties_before_start(tmp_path):
    daemon = KuboDaemon(tmp_path / "repo")
    with pytest.raises(KuboError, match="start"):
        _ = daemon.api_url
    assert "stopped" in repr(daemon)


def test_online_nodes_share_content_over_loopback_only(kubo_factory):
    from decentralml_client.hashing import blake2_256
    from decentralml_client.storage import IpfsStore

    with kubo_factory(online=True) as a, kubo_factory(online=True) as b:
        for daemon in (a, b):
            config = json.loads((daemon.repo_dir / "config").read_text())
            assert all(s.startswith("/ip4/127.0.0.1/") for s in config["Addresses"]["Swarm"])
            assert config["Plugins"]["Plugins"]["telemetry"]["Config"]["Mode"] == "off"
            assert all(m.startswith("/ip4/127.0.0.1/") for m in daemon.swarm_multiaddrs())
        b.connect_to(a)
        data = b"update published on node a"
        cid = IpfsStore(a.api_multiaddr).add(data)
        assert IpfsStore(b.api_multiaddr, timeout=20).fetch(cid, blake2_256(data)) == data


def test_connect_requires_online(kubo, kubo_factory):
    from decentralml_client.services.kubo import KuboError

    with pytest.raises(KuboError, match="online=True"):
        kubo.connect_to(kubo)


def test_detach_leaves_the_daemon_running(kubo_factory):
    import contextlib
    import os
    import signal

    daemon = kubo_factory().start()
    url = daemon.api_url
    pid = daemon.detach()
    daemon.stop()  # no effect now
    try:
        assert httpx.post(f"{url}/api/v0/id", trust_env=False, timeout=5).status_code == 200
    finally:
        os.kill(pid, signal.SIGINT)
        with contextlib.suppress(ChildProcessError):  # our child here: reap it
            os.waitpid(pid, 0)
