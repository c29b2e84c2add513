"""``decentralml devnet``: the local dev network (our node, or Chopsticks, plus Kubo)."""

from __future__ import annotations

import typer

from decentralml_client.cli._common import emit, errors_to_exit, out, state

app = typer.Typer(help="Start, inspect and stop the local dev chain and IPFS node.",
                  no_args_is_help=True)


@app.command("up")
def up(
    ctx: typer.Context,
    port: int = typer.Option(9944, help="WebSocket port of the chain on 127.0.0.1 "
                             "(with --nodes N: ports PORT..PORT+N-1)."),
    ipfs_port: int = typer.Option(5001, help="Kubo API port on 127.0.0.1 (one Kubo per node: "
                                  "IPFS_PORT..IPFS_PORT+N-1)."),
    persist: bool = typer.Option(False, help="Keep the chain's blocks across restarts."),
    ipfs: bool = typer.Option(True, help="Also start local Kubo daemons (offline from the "
                              "public network)."),
    engine: str = typer.Option("node", help="`node`: our Substrate node; `chopsticks`: the "
                               "runtime in Chopsticks."),
    nodes: int = typer.Option(4, help="4: authorities Alice, Bob, Charlie and Dave making "
                              "blocks (Aura, 2 s slots) and finalising them (GRANDPA); it "
                              "survives one of them failing. 1: a single dev node (instant "
                              "seal: a block as soon as transactions arrive)."),
    block_time: float = typer.Option(2.0, help="With --nodes 1: an empty block whenever none "
                                     "was made for this many seconds, so deadlines pass on an "
                                     "idle chain (0: blocks only for transactions)."),
    slot_ms: int = typer.Option(None, min=500, help="With --nodes 2-4: milliseconds per Aura "
                                "slot, written into a copy of the chain spec's genesis "
                                "(default: the spec's 2000)."),
) -> None:
    """Start the dev chain at ws://127.0.0.1:PORT and Kubo."""
    from decentralml_client.services import stack

    st = state(ctx)
    with errors_to_exit():
        s = stack.up(st.settings.devnet_dir, port=port, ipfs_port=ipfs_port, persist=persist,
                     ipfs=ipfs, engine=engine, nodes=nodes,
                     block_time=block_time, slot_ms=slot_ms)
    data = {"chain": s.chain, "ipfs": s.ipfs}
    extra = ""
    if s.chain and len(s.chain.get("nodes") or []) > 1:
        extra = "\n" + "\n".join(f"  {n['name']}: {n['url']}" for n in s.chain["nodes"])
    emit(st, data, lambda: out.print(
        f"dev chain: [bold]{s.chain['url'] if s.chain else '-'}[/]   "
        f"IPFS API: [bold]{s.ipfs['api'] if s.ipfs else '-'}[/]{extra}\n"
        "Stop with `decentralml devnet down`."))


@app.command("status")
def status(ctx: typer.Context) -> None:
    """Show whether the dev chain and Kubo run; every node's best/finalised block and peers."""
    from decentralml_client.services import stack

    st = state(ctx)
    s = stack.status(st.settings.devnet_dir)
    data: dict[str, object] = {"chain": s.chain, "ipfs": s.ipfs}
    node_lines = ""
    if s.chain and s.chain.get("engine") == "node":
        nodes = stack.node_status(s.chain)
        data["nodes"] = nodes
        first = next((n for n in nodes if "best" in n), None)
        if first is not None:
            data["head"] = first["best"]
            data["finalized"] = first["finalized"]
        node_lines = "".join(
            f"\n  {n['name']:8} {n['url']}  "
            + (f"best #{n['best']}  finalised #{n['finalized']}  peers {n['peers']}"
               if "best" in n else ("[red]down[/]" if not n["running"] else n.get("error", "")))
            for n in nodes)
    elif s.chain:
        from decentralml_client.chain import Chain

        try:
            with Chain(s.chain["url"], check_abi=False) as chain:
                data["head"] = chain.head()[0]
        except Exception as exc:  # report, don't fail: status is for diagnosing
            data["head_error"] = str(exc)
    emit(st, data, lambda: out.print(
        f"chain: {'[green]running[/] ' + s.chain['url'] if s.chain else '[red]stopped[/]'}"
        + (f" (head #{data['head']})" if "head" in data else "")
        + node_lines
        + f"\nipfs:  {'[green]running[/] ' + s.ipfs['api'] if s.ipfs else '[red]stopped[/]'}"))
    if not s.chain:
        raise typer.Exit(3)


@app.command("down")
def down(ctx: typer.Context) -> None:
    """Stop the dev chain (every node) and Kubo started by `devnet up`."""
    from decentralml_client.services import stack

    st = state(ctx)
    s = stack.down(st.settings.devnet_dir)
    left = (f"stopped {len(s.interrupted)} process(es) an interrupted `devnet up` had "
            f"started (pids {', '.join(map(str, s.interrupted))})") if s.interrupted else ""
    stopped: dict[str, object] = {"chain": bool(s.chain), "ipfs": bool(s.ipfs)}
    if s.interrupted:
        stopped["interrupted"] = s.interrupted
    emit(st, {"stopped": stopped},
         lambda: out.print("\n".join(filter(None, [
             "stopped" if (s.chain or s.ipfs) else "", left]))
             or "nothing was running"))
