"""Entry point of the ``decentralml`` command."""

from __future__ import annotations

import typer

app = typer.Typer(
    name="decentralml",
    help="Decentralised federated learning coordinated on a Substrate chain.",
    no_args_is_help=True,
    add_completion=False,
)


def _register_commands() -> None:
    from decentralml_client.cli import simulate as _simulate

    app.command("simulate")(_simulate.simulate)


_register_commands()

if __name__ == "__main__":
    app()
