"""Entry point of the ``decentralml`` command."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

# TensorFlow's C++ start-up chatter (CUDA plugin registration on a CPU machine) is noise here.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import typer
from typer.core import TyperGroup

from decentralml_client.cli._common import (
    errors_to_exit,
    hoist_global_options,
    init_state,
    plain_flags_in_help,
)

plain_flags_in_help()


class _GlobalOptionsAnywhere(TyperGroup):
    """The root command: global options may come before or after the command."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:  # ctx: Typer's click Context
        return super().parse_args(ctx, hoist_global_options(self, args))

    def invoke(self, ctx: Any) -> Any:
        """Run the command; any project error or Ctrl-C ends it with a message, no traceback."""
        with errors_to_exit():
            return super().invoke(ctx)


app = typer.Typer(
    name="decentralml",
    cls=_GlobalOptionsAnywhere,
    help="Decentralised federated learning coordinated on a Substrate chain.\n\n"
    "The global options (--config, --node, --ipfs, --keystore, --json) go before or after "
    "the command: `decentralml --json task list` and `decentralml task list --json` are the "
    "same.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def _global(
    ctx: typer.Context,
    config: Path = typer.Option(None, "--config", envvar="DML_CONFIG", show_envvar=True,
                                help="Config file (TOML; default "
                                     "~/.config/decentralml/config.toml)."),
    node: str = typer.Option(None, "--node", envvar="DML_NODE_URL", show_envvar=True,
                             help="Node WebSocket URL (default: the chain `devnet up` started, "
                                  "else ws://127.0.0.1:9944)."),
    ipfs: str = typer.Option(None, "--ipfs", envvar="DML_IPFS_API", show_envvar=True,
                             help="Kubo API multiaddr or URL (default: the Kubo `devnet up` "
                                  "started, else /ip4/127.0.0.1/tcp/5001/http)."),
    keystore: Path = typer.Option(None, "--keystore", envvar="DML_KEYSTORE", show_envvar=True,
                                  help="Keystore directory (default "
                                       "~/.local/share/decentralml/keys)."),
    json_out: bool = typer.Option(False, "--json", help="Machine-readable JSON on stdout."),
) -> None:
    """Global options apply to every command."""
    init_state(ctx, config=config, node=node, ipfs=ipfs, keystore=keystore, json_out=json_out)


def _register_commands() -> None:
    from decentralml_client.cli import (
        account,
        dashboard,
        demo,
        devnet,
        keys,
        model,
        roles,
        simulate,
        task,
    )

    app.add_typer(devnet.app, name="devnet")
    app.add_typer(keys.app, name="keys")
    app.add_typer(account.app, name="account")
    app.add_typer(task.app, name="task")
    app.add_typer(model.app, name="model")
    app.command("register")(roles.register)
    app.command("deregister")(roles.deregister)
    app.command("contribute")(roles.contribute)
    app.command("validate")(roles.validate)
    app.command("aggregate")(roles.aggregate)
    app.command("finalize")(roles.finalize)
    app.command("host", hidden=True)(roles.host)
    app.command("simulate")(simulate.simulate)
    app.command("demo")(demo.demo)
    app.command("dashboard")(dashboard.dashboard)


_register_commands()

if __name__ == "__main__":
    app()
