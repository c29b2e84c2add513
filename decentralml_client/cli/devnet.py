"""``decentralml devnet``: the local dev network (our runtime in Chopsticks, plus Kubo)."""

from __future__ import annotations

import typer

from decentralml_client.cli._common import emit, errors_to_exit, out, state

app = typer.Typer(help="Start, inspect and stop the local dev chain and IPFS node.",
                  no_args_is_help=True)


@app.command("up")
def up(
    ctx: typer.Context,
    port: int = typer.Option(9944, help="WebSocket port of the chain on 127.0.0.1."),
    ipfs_port: int = typer.Option(5001, help="Kubo API port on 127.0.0.1."),
    persist: bool = typer.Option(False, help="Keep the chain's blocks across restarts."),
    ipfs: bool = typer.Option(True, help="Also start a local offline Kubo daemon."),
) -> None:
    """Start the dev chain at ws://127.0.0.1:PORT (a block per transaction) and Kubo."""
    from decentralml_client.services import stack

    st = state(ctx)
    with errors_to_exit():
        s = stack.up(st.settings.devnet_dir, port=port, ipfs_port=ipfs_port, persist=persist,
                     ipfs=ipfs)
    data = {"chain": s.chain, "ipfs": s.ipfs}
    emit(st, data, lambda: out.print(
        f"dev chain: [bold]{s.chain['url'] if s.chain else '-'}[/]   "
        f"IPFS API: [bold]{s.ipfs['api'] if s.ipfs else '-'}[/]\n"
        "Stop with `decentralml devnet down`."))


@app.command("status")
def status(ctx: typer.Context) -> None:
    """Show whether the dev chain and Kubo run, and the chain's head."""
    from decentralml_client.services import stack

    st = state(ctx)
    s = stack.status(st.settings.devnet_dir)
    data: dict[str, object] = {"chain": s.chain, "ipfs": s.ipfs}
    if s.chain:
        from decentralml_client.chain import Chain

        try:
            with Chain(s.chain["url"], check_abi=False) as chain:
                data["head"] = chain.head()[0]
        except Exception as exc:  # report, don't fail: status is for diagnosing
            data["head_error"] = str(exc)
    emit(st, data, lambda: out.print(
        f"chain: {'[green]running[/] ' + s.chain['url'] if s.chain else '[red]stopped[/]'}"
        + (f" (head #{data['head']})" if "head" in data else "")
        + f"\nipfs:  {'[green]running[/] ' + s.ipfs['api'] if s.ipfs else '[red]stopped[/]'}"))
    if not s.chain:
        raise typer.Exit(3)


@app.command("down")
def down(ctx: typer.Context) -> None:
    """Stop the dev chain and Kubo started by `devnet up`."""
    from decentralml_client.services import stack

    st = state(ctx)
    s = stack.down(st.settings.devnet_dir)
    emit(st, {"stopped": {"chain": bool(s.chain), "ipfs": bool(s.ipfs)}},
         lambda: out.print("stopped" if (s.chain or s.ipfs) else "nothing was running"))
