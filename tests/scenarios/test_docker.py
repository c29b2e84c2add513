"""The compose stack: read and checked against the Python launchers; `docker-compose config`.

The chain service runs our node (``decentralml/node:local`` from ``docker/node.Dockerfile``)
with the flags ``decentralml_client.services.node`` gives a dev node; Kubo runs offline with the
``test`` profile; everything is on the host network, on 127.0.0.1. The container entry scripts
(``node-health``, ``kubo-start``) run here against a real node and a real Kubo. Starting the
containers needs a Docker daemon and is in docs/operator.md ("Docker"), not in the tests.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest
import yaml

from decentralml_client.services.devnet import free_port
from decentralml_client.services.node import NodeNetwork, NodeProcess

ROOT = Path(__file__).resolve().parents[2]
DOCKER = ROOT / "docker"
COMPOSE_FILE = DOCKER / "docker-compose.yml"
COMPOSE = yaml.safe_load(COMPOSE_FILE.read_text())
SERVICES = COMPOSE["services"]
CLIENTS = ("dashboard", "creator", "contributor", "validator")


def _flags(args: list[str]) -> list[str]:
    """``--flag value`` pairs as ``--flag=value`` (the compose file's spelling)."""
    out: list[str] = []
    for arg in args:
        if out and not arg.startswith("--") and "=" not in out[-1]:
            out[-1] += f"={arg}"
        else:
            out.append(arg)
    return out


def _dockerfile_list(dockerfile: Path, instruction: str) -> list[str]:
    """The JSON (exec form) argument of a Dockerfile instruction, continuation lines joined."""
    text = dockerfile.read_text().replace("\\\n", " ")
    match = re.search(rf"^{instruction}\s+(\[.*\])\s*$", text, re.MULTILINE)
    assert match, f"no {instruction} [...] in {dockerfile.name}"
    return list(json.loads(match.group(1)))


def _dockerfile_lines(dockerfile: Path, instruction: str) -> list[str]:
    return [line for line in dockerfile.read_text().splitlines() if line.startswith(instruction)]


def test_the_stack_has_chain_ipfs_dashboard_and_profile_gated_roles() -> None:
    assert {"chain", "ipfs", "dashboard", *CLIENTS} <= set(SERVICES)
    for role in ("creator", "contributor", "validator"):
        assert SERVICES[role]["profiles"] == ["roles"]
    for always in ("chain", "ipfs", "dashboard"):
        assert "profiles" not in SERVICES[always]
    # Compose v1 (Debian's docker-compose 1.29) refuses a top-level `name`: it is in .env.
    assert "name" not in COMPOSE
    assert "COMPOSE_PROJECT_NAME=decentralml" in (DOCKER / ".env").read_text().splitlines()


def test_the_chain_service_runs_our_node_image_not_omni_node() -> None:
    chain = SERVICES["chain"]
    assert chain["image"] == "decentralml/node:local"
    assert "omni-node" not in COMPOSE_FILE.read_text()
    dockerfile = DOCKER / "node.Dockerfile"
    assert _dockerfile_lines(dockerfile, "FROM ") == ["FROM debian:bookworm"]
    assert _dockerfile_list(dockerfile, "ENTRYPOINT") == ["decentralml-node"]
    # Seen running it: without root certificates the node's networking exits at start.
    assert "ca-certificates" in dockerfile.read_text()
    copies = _dockerfile_lines(dockerfile, "COPY ")
    assert "COPY bin/decentralml-node /usr/local/bin/decentralml-node" in copies
    spec_copy = next(c for c in copies if "chain-spec-dev.raw.json" in c).split()
    assert spec_copy[-1] == "/specs/"
    for source in spec_copy[1:-1]:
        assert (ROOT / source).is_file(), source
    # build-images.sh stages the cached binary and the specs as the Dockerfile expects them.
    script = (DOCKER / "build-images.sh").read_text()
    assert '"$ctx/bin/decentralml-node"' in script
    assert 'chain/artifacts/*.json "$ctx/chain/artifacts/"' in script
    assert "-f \"$ctx/$file\" -t \"decentralml/$t:local\"" in script


def test_the_chain_service_starts_the_node_as_the_python_launcher_starts_a_dev_node() -> None:
    command = SERVICES["chain"]["command"]
    launcher = NodeProcess(name="alice", base_path=Path("/chain"), rpc_port=9944, p2p_port=30333,
                           chain_spec=Path("/specs/chain-spec-dev.raw.json"), dev=True,
                           block_time=2.0)  # as `devnet up --nodes 1` starts it
    expected = _flags(launcher.command(Path("decentralml-node"))[1:])
    # The launcher keeps a node key file in its base path; in the container the node makes
    # its own there (--dev). Our additions name the launcher's defaults explicitly.
    expected = [f for f in expected if not f.startswith("--node-key-file=")]
    assert set(expected) <= set(command), set(expected) - set(command)
    assert set(command) - set(expected) == {"--sealing=instant", "--database=paritydb"}
    # Dev mode, our dev spec, RPC on 9944 on loopback, no public networking, no telemetry.
    assert "--dev" in command and "--rpc-port=9944" in command
    assert not any(f.startswith(("--rpc-external", "--unsafe-rpc-external", "--bootnodes",
                                 "--public-addr", "--validator", "--telemetry-url"))
                   for f in command)
    assert all(f.split("=", 1)[1].startswith("/ip4/127.0.0.1/")
               for f in command if f.startswith("--listen-addr="))
    # The base path is a named volume (ParityDB survives `down`/`up`; `down -v` wipes it).
    assert "chain-data:/chain" in SERVICES["chain"]["volumes"]
    assert "chain-data" in COMPOSE["volumes"]
    # The image's default command is the same, so `docker run decentralml/node:local` matches.
    assert _dockerfile_list(DOCKER / "node.Dockerfile", "CMD") == command


def test_everything_runs_on_the_host_network_bound_to_localhost() -> None:
    for name, svc in SERVICES.items():
        assert svc.get("network_mode") == "host", name
        for port in svc.get("ports", []):  # none needed on the host network; if any, local
            assert str(port).startswith("127.0.0.1:"), (name, port)
    for name in CLIENTS:
        env = SERVICES[name]["environment"]
        assert env["DML_NODE_URL"] == "ws://127.0.0.1:9944"
        assert env["DML_IPFS_API"].startswith("/ip4/127.0.0.1/tcp/5001")
    dash = SERVICES["dashboard"]["command"]
    assert dash[dash.index("--host") + 1] == "127.0.0.1"
    assert SERVICES["ipfs"]["environment"]["IPFS_API_ADDR"] == "/ip4/127.0.0.1/tcp/5001"
    assert all(a.startswith("/ip4/127.0.0.1/")
               for a in json.loads(SERVICES["ipfs"]["environment"]["IPFS_SWARM_ADDRS"]))


def test_every_long_running_service_is_healthchecked() -> None:
    assert SERVICES["chain"]["healthcheck"]["test"] == ["CMD", "node-health", "9944"]
    assert "node-health" in (DOCKER / "node.Dockerfile").read_text()
    # Through the API: a bare `ipfs id` reads the repo and succeeds with no daemon running.
    assert SERVICES["ipfs"]["healthcheck"]["test"] == [
        "CMD", "ipfs", "--api=/ip4/127.0.0.1/tcp/5001", "id"]
    assert "/api/health" in " ".join(SERVICES["dashboard"]["healthcheck"]["test"])
    for name in CLIENTS:
        assert SERVICES[name]["depends_on"]["chain"]["condition"] == "service_healthy"
        assert SERVICES[name]["depends_on"]["ipfs"]["condition"] == "service_healthy"


def test_ipfs_starts_offline_with_the_test_profile() -> None:
    ipfs = SERVICES["ipfs"]
    assert ipfs["image"] == "decentralml/kubo:local"
    assert ipfs["environment"]["IPFS_PROFILE"] == "test"
    assert ipfs["command"] == ["${IPFS_OFFLINE---offline}"]
    dockerfile = DOCKER / "kubo.Dockerfile"
    assert _dockerfile_lines(dockerfile, "FROM ") == ["FROM debian:bookworm"]
    assert _dockerfile_list(dockerfile, "ENTRYPOINT") == ["kubo-start"]
    start = (DOCKER / "kubo-start.sh").read_text()
    for line in ('init --profile "${IPFS_PROFILE:-test}"', "--json Bootstrap '[]'",
                 "Discovery.MDNS.Enabled false", "AutoConf.Enabled false"):
        assert line in start, line


def test_client_services_build_our_image_on_the_local_base() -> None:
    dockerfile = DOCKER / "Dockerfile"
    assert _dockerfile_lines(dockerfile, "FROM ") == ["FROM debian:bookworm"]
    assert _dockerfile_list(dockerfile, "ENTRYPOINT") == ["decentralml"]
    for name in CLIENTS:
        svc = SERVICES[name]
        assert svc["image"] == "decentralml/client:local"
        assert svc["build"]["dockerfile"] == "docker/Dockerfile"
    copies = " ".join(_dockerfile_lines(dockerfile, "COPY "))
    for copied in ("pyproject.toml", "uv.lock", "decentralml_client", "pallet-abi",
                   "chain/artifacts"):
        assert copied in copies and (ROOT / copied).exists(), copied


def test_the_client_image_trusts_the_hosts_extra_cas_for_its_downloads_only() -> None:
    lines = [line.strip() for line in (DOCKER / "Dockerfile").read_text()
             .replace("\\\n", " ").splitlines() if line.strip() and not line.startswith("#")]
    ca = lines.index("COPY docker/ca/ /usr/local/share/ca-certificates/")
    runs = [i for i, line in enumerate(lines) if line.startswith("RUN ")]
    first, last = runs[0], runs[-1]
    assert ca < first and "update-ca-certificates" in lines[first] and "pip install" in lines[first]
    assert "uv sync" in lines[last]
    assert lines[last].index("rm -f /usr/local/share/ca-certificates/*.crt") > lines[last].index(
        "uv sync") and "update-ca-certificates --fresh" in lines[last]
    script = (DOCKER / "build-images.sh").read_text()
    assert 'mkdir -p "$ctx/docker/ca"' in script and "/usr/local/share/ca-certificates" in script


def test_only_the_roles_get_the_keystore_password() -> None:
    # the dashboard is read-only: it starts without a password file (no secret to mount)
    assert "secrets" not in SERVICES["dashboard"]
    assert "DML_PASSWORD_FILE" not in SERVICES["dashboard"]["environment"]
    assert all("/keys" not in v for v in SERVICES["dashboard"].get("volumes", []))
    for role in ("creator", "contributor", "validator"):
        svc = SERVICES[role]
        assert svc["secrets"] == ["keystore_password"] and svc["profiles"] == ["roles"]
        assert svc["environment"]["DML_PASSWORD_FILE"] == "/run/secrets/keystore_password"
        assert svc["environment"]["DML_NODE_URL"] == SERVICES["dashboard"]["environment"][
            "DML_NODE_URL"]


def test_the_dashboard_command_is_a_real_cli_command() -> None:
    from typer.testing import CliRunner

    from decentralml_client.cli.main import app

    result = CliRunner().invoke(app, [*SERVICES["dashboard"]["command"][:1], "--help"])
    assert result.exit_code == 0 and "--host" in result.output


def test_the_node_healthcheck_passes_on_a_running_node_and_fails_on_a_closed_port(
    devnet: NodeNetwork,
) -> None:
    script = str(DOCKER / "node-health.sh")
    ok = subprocess.run(["bash", script, str(devnet.port)], capture_output=True, text=True,
                        timeout=30, check=False)
    assert ok.returncode == 0, ok.stderr
    closed = subprocess.run(["bash", script, str(free_port())], capture_output=True, text=True,
                            timeout=30, check=False)
    assert closed.returncode != 0


def test_the_kubo_entry_script_starts_an_offline_loopback_daemon(tmp_path: Path) -> None:
    from decentralml_client.services.kubo import find_kubo_binary

    binary = find_kubo_binary()
    api = f"/ip4/127.0.0.1/tcp/{free_port()}"
    env = {**os.environ, "IPFS_PATH": str(tmp_path / "repo"), "IPFS_API_ADDR": api,
           "PATH": f"{binary.parent}:{os.environ['PATH']}"}
    env.pop("IPFS_PROFILE", None)
    log = (tmp_path / "kubo.log").open("wb")
    proc = subprocess.Popen(["bash", str(DOCKER / "kubo-start.sh"), "--offline"], env=env,
                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while True:  # readiness: the API answers `id` (polled, with a deadline)
            assert proc.poll() is None, (tmp_path / "kubo.log").read_text()
            ident = subprocess.run([str(binary), f"--api={api}", "id"], capture_output=True,
                                   text=True, timeout=30, check=False)
            if ident.returncode == 0:
                break
            assert time.monotonic() < deadline, (tmp_path / "kubo.log").read_text()
            time.sleep(0.2)
        assert json.loads(ident.stdout)["Addresses"] in ([], None)  # offline: no swarm
        config = json.loads((tmp_path / "repo" / "config").read_text())
        assert config["Bootstrap"] == [] and config["Addresses"]["API"] == api
        assert config["Discovery"]["MDNS"]["Enabled"] is False
        assert "Daemon is ready" in (tmp_path / "kubo.log").read_text()
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()


def _compose_cli() -> list[str]:
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    if shutil.which("docker") and subprocess.run(
            ["docker", "compose", "version"], capture_output=True, check=False).returncode == 0:
        return ["docker", "compose"]
    pytest.fail("neither docker-compose nor `docker compose` is installed: run "
                "scripts/setup.sh (it installs Debian's docker-compose)", pytrace=False)


def test_docker_compose_config_accepts_the_file_as_written() -> None:
    """The Compose implementation itself parses, validates and interpolates the file (no
    daemon needed)."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("IPFS_OFFLINE", "TASK_ID", "COMPOSE_"))}
    out = subprocess.run([*_compose_cli(), "-f", str(COMPOSE_FILE), "config"], cwd=ROOT,
                         env=env, capture_output=True, text=True, timeout=120, check=False)
    assert out.returncode == 0, out.stderr
    resolved = yaml.safe_load(out.stdout)
    assert resolved["services"]["chain"]["image"] == "decentralml/node:local"
    assert resolved["services"]["chain"]["command"] == SERVICES["chain"]["command"]
    assert resolved["services"]["ipfs"]["command"] == ["--offline"]
    assert set(resolved["services"]) == {"chain", "ipfs", "dashboard", *CLIENTS}


def test_the_smoke_script_parses_and_names_only_services_of_the_stack() -> None:
    script = DOCKER / "smoke.sh"
    assert subprocess.run(["bash", "-n", str(script)], capture_output=True).returncode == 0
    text = script.read_text()
    after = (r'"\$\{compose\[@\]\}" (?:up -d|run --rm|ps -q) '
             r'([a-z ]+?)(?=\s*[>)]|\s*$| keys| --json)')
    named = set(re.findall(after, text, re.MULTILINE))
    services = {s for group in named for s in group.split()}
    assert services and services <= set(SERVICES), services
    assert {"chain", "ipfs", "dashboard", "creator"} <= services
