"""The compose stack, checked by reading it (no Docker engine runs here)."""

from __future__ import annotations

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = yaml.safe_load((ROOT / "docker" / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]


def test_the_stack_has_chain_ipfs_dashboard_and_profile_gated_roles() -> None:
    assert {"chain", "ipfs", "dashboard", "creator", "contributor", "validator"} <= set(SERVICES)
    for role in ("creator", "contributor", "validator"):
        assert SERVICES[role]["profiles"] == ["roles"]
    for always in ("chain", "ipfs", "dashboard"):
        assert "profiles" not in SERVICES[always]


def test_the_chain_runs_our_plain_spec_on_a_real_omni_node() -> None:
    chain = SERVICES["chain"]
    assert "polkadot-omni-node" in chain["image"]
    assert "--dev" in chain["command"]
    assert "--chain=/specs/chain-spec.plain.json" in chain["command"]
    mounts = {m.split(":")[1]: m.split(":")[0] for m in chain["volumes"] if ":" in m}
    spec_dir = (ROOT / "docker" / mounts["/specs"]).resolve()
    assert (spec_dir / "chain-spec.plain.json").is_file()


def test_every_published_port_is_bound_to_localhost_and_every_service_is_healthchecked() -> None:
    for name, svc in SERVICES.items():
        for port in svc.get("ports", []):
            assert str(port).startswith("127.0.0.1:"), (name, port)
    for name in ("chain", "ipfs", "dashboard"):
        assert SERVICES[name]["healthcheck"]["test"], name


def test_ipfs_starts_offline_with_the_test_profile() -> None:
    ipfs = SERVICES["ipfs"]
    assert ipfs["environment"]["IPFS_PROFILE"] == "test"
    assert any("--offline" in part for part in ipfs["command"])


def test_client_services_build_our_image_and_reach_chain_and_ipfs_by_service_name() -> None:
    dockerfile = (ROOT / "docker" / "Dockerfile").read_text()
    assert 'ENTRYPOINT ["decentralml"]' in dockerfile
    for name in ("dashboard", "creator", "contributor", "validator"):
        svc = SERVICES[name]
        assert svc["build"]["dockerfile"] == "docker/Dockerfile"
        assert svc["environment"]["DML_NODE_URL"] == "ws://chain:9944"
        assert "ipfs" in svc["environment"]["DML_IPFS_API"]
        assert svc["depends_on"]["chain"]["condition"] == "service_healthy"
    copies = " ".join(line for line in dockerfile.splitlines() if line.startswith("COPY "))
    for copied in ("pyproject.toml", "uv.lock", "decentralml_client", "pallet-abi",
                   "chain/artifacts"):
        assert copied in copies and (ROOT / copied).exists(), copied


def test_the_dashboard_command_is_a_real_cli_command() -> None:
    from typer.testing import CliRunner

    from decentralml_client.cli.main import app

    result = CliRunner().invoke(app, [*SERVICES["dashboard"]["command"][:1], "--help"])
    assert result.exit_code == 0 and "--host" in result.output
