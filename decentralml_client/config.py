"""Settings: defaults, then a TOML config file, then environment variables (highest).

| setting        | env                  | default                                   |
|----------------|----------------------|-------------------------------------------|
| node_url       | DML_NODE_URL         | ws://127.0.0.1:9944                       |
| ipfs_api       | DML_IPFS_API         | /ip4/127.0.0.1/tcp/5001/http              |
| keystore       | DML_KEYSTORE         | ~/.local/share/decentralml/keys           |
| data_dir       | DML_DATA_DIR         | ~/.local/share/decentralml                |

The config file is ``$DML_CONFIG`` or ``~/.config/decentralml/config.toml``, with the same
keys at top level, e.g. ``node_url = "ws://10.0.0.5:9944"``.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

from decentralml_client.errors import DecentralMLError

_HOME = Path.home()
DEFAULT_CONFIG_FILE = _HOME / ".config" / "decentralml" / "config.toml"

# Repository layout: the package sits beside chain/ and pallet-abi/ in a checkout.
REPO_ROOT = Path(__file__).resolve().parent.parent
CHAIN_ARTIFACTS = REPO_ROOT / "chain" / "artifacts"
RAW_CHAIN_SPEC = CHAIN_ARTIFACTS / "chain-spec.raw.json"
CHAIN_NODE_TOOLS = REPO_ROOT / "chain" / "node"


class ConfigError(DecentralMLError, ValueError):
    """The configuration file or an environment variable is invalid."""

    hint = "fix the file or variable named in the message (docs/cli.md lists the settings)."


@dataclass(frozen=True)
class Settings:
    """Where the client finds the chain, IPFS and its keys."""

    node_url: str = "ws://127.0.0.1:9944"
    ipfs_api: str = "/ip4/127.0.0.1/tcp/5001/http"
    keystore: Path = field(default=_HOME / ".local" / "share" / "decentralml" / "keys")
    data_dir: Path = field(default=_HOME / ".local" / "share" / "decentralml")

    @property
    def devnet_dir(self) -> Path:
        """State of the local dev network (pid files, logs, Kubo repo, chain database)."""
        return self.data_dir / "devnet"


_ENV = {
    "node_url": "DML_NODE_URL",
    "ipfs_api": "DML_IPFS_API",
    "keystore": "DML_KEYSTORE",
    "data_dir": "DML_DATA_DIR",
}


def load_settings(config_file: Path | None = None, **overrides: object) -> Settings:
    """Merge defaults, the config file, the environment and explicit ``overrides`` (non-None)."""
    return load_settings_given(config_file, **overrides)[0]


def load_settings_given(config_file: Path | None = None, **overrides: object
                        ) -> tuple[Settings, set[str]]:
    """:func:`load_settings`, and the names of the settings given (by the config file, the
    environment or ``overrides``) rather than left at their defaults."""
    values: dict[str, object] = {}
    path = config_file or Path(os.environ.get("DML_CONFIG", DEFAULT_CONFIG_FILE))
    if path.is_file():
        try:
            data = tomllib.loads(path.read_text())
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: not valid TOML ({exc}); fix or remove the file") from exc
        known = {f.name for f in fields(Settings)}
        unknown = set(data) - known
        if unknown:
            raise ConfigError(
                f"{path}: unknown setting(s) {sorted(unknown)}; known: {sorted(known)}"
            )
        values.update(data)
    for name, env in _ENV.items():
        if os.environ.get(env):
            values[name] = os.environ[env]
    values.update({k: v for k, v in overrides.items() if v is not None})
    settings = Settings()
    for name in ("keystore", "data_dir"):
        if name in values:
            values[name] = Path(str(values[name])).expanduser()
    return replace(settings, **values), set(values)  # type: ignore[arg-type]
