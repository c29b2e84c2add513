"""``decentralml dashboard``: the read-only web view of tasks, rounds, votes and models."""

from __future__ import annotations

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
    uvicorn.run(create_app(st.settings), host=host, port=port, log_level="warning")
