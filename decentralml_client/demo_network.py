"""Where the demo's roles run: the dev chain, or a network of authorities with a Kubo each.

``--nodes 1`` is one dev node (instant seal) and one offline Kubo, shared by every role.
``--nodes N`` (2–4) is that many authorities of the local testnet (Alice, Bob, Charlie, Dave;
Aura slots, GRANDPA finality) on 127.0.0.1, each node with a Kubo of its own, the Kubo daemons
swarm-connected on loopback only. Each node and its Kubo is one *side*: participant ``i``
(contributors, then validators, then the aggregator) talks to side ``i mod N`` only, so
transactions reach the chain through every node, and updates and models cross between the
Kubo daemons by bitswap. A running ``decentralml devnet up`` is reused when it has enough
nodes and Kubo daemons; otherwise the demo starts its own and stops them when it ends.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from decentralml_client.config import Settings


@dataclass(frozen=True)
class Sides:
    """The chain nodes' RPC URLs and, side by side, their Kubo API multiaddrs."""

    nodes: tuple[str, ...]
    ipfs: tuple[str, ...]

    def __post_init__(self) -> None:
        if not self.nodes or len(self.nodes) != len(self.ipfs):
            raise ValueError("one Kubo per node, and at least one node")

    def side(self, index: int) -> tuple[str, str]:
        """Participant ``index``'s node and Kubo."""
        i = index % len(self.nodes)
        return self.nodes[i], self.ipfs[i]


@contextmanager
def demo_services(settings: Settings, workdir: Path, nodes: int = 1) -> Iterator[Sides]:
    """The chain and Kubo of the demo: those ``devnet up`` runs, if they fit, else private
    ones, started now and stopped when the block ends."""
    from decentralml_client.services import stack

    running = stack.status(settings.devnet_dir)
    if nodes == 1:
        with _dev_services(running, workdir) as (url, api):
            yield Sides((url,), (api,))
        return
    urls = [str(n["url"]) for n in (running.chain or {}).get("nodes") or []]
    apis = [str(d["api"]) for d in (running.ipfs or {}).get("daemons") or []]
    if len(urls) >= nodes and len(apis) >= nodes:
        yield Sides(tuple(urls[:nodes]), tuple(apis[:nodes]))
        return
    with network(workdir, nodes) as sides:
        yield sides


@contextmanager
def _dev_services(running: Any, workdir: Path) -> Iterator[tuple[str, str]]:
    """Reuse a running `devnet up` stack, or start what is missing: our node in dev mode
    (instant seal) and an offline Kubo."""
    from decentralml_client.services.devnet import free_port
    from decentralml_client.services.kubo import KuboDaemon
    from decentralml_client.services.node import NodeNetwork

    if running.chain and running.ipfs:
        yield running.chain["url"], running.ipfs["api"]
        return
    with contextlib.ExitStack() as es:
        if running.chain:
            url = running.chain["url"]
        else:
            url = es.enter_context(NodeNetwork(workdir / "chain", nodes=1, port=free_port())).url
        if running.ipfs:
            api = running.ipfs["api"]
        else:
            api = es.enter_context(KuboDaemon(workdir / "ipfs")).api_multiaddr
        yield url, api


@contextmanager
def network(workdir: Path, nodes: int, *, timeout: float = 120.0) -> Iterator[Sides]:
    """``nodes`` authorities on free loopback ports and a Kubo per node (swarm-connected),
    started side by side; yields once every node has all the others as peers and the network
    has finalised a block, and stops them all when the block ends."""
    from decentralml_client.services.node import NodeNetwork
    from decentralml_client.services.stack import start_kubos

    with contextlib.ExitStack() as es, ThreadPoolExecutor(1) as pool:
        kubos = pool.submit(start_kubos, workdir / "ipfs", None, nodes)

        def stop_kubos() -> None:
            with contextlib.suppress(Exception):  # failed to start: nothing left running
                for k in kubos.result():
                    k.stop()

        es.callback(stop_kubos)
        net = es.enter_context(NodeNetwork(workdir / "chain", nodes=nodes, port=0))
        net.wait_until(lambda ss: all(s["peers"] >= nodes - 1 for s in ss),
                       "every node peered with the others", timeout)
        net.wait_finalized(1, timeout=timeout)
        yield Sides(tuple(n.url for n in net.nodes),
                    tuple(k.api_multiaddr for k in kubos.result()))
