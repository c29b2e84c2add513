"""Loopback TCP ports for the local daemons: pick a free one, check one is free.

One process often starts several daemons (three nodes and three Kubos for ``devnet up
--nodes 3``), some on ports the user asked for and some on ports picked here. A port picked
as free is only free until something binds it, so this module remembers every port it has
handed out and every port the caller has reserved, and never hands one out twice: a node's
peer-to-peer port can't land on the Kubo API port asked for next.

Ports are picked outside the kernel's ephemeral range: a port from it can be taken, between the
pick and the daemon's bind, as the local end of any outgoing connection on the machine (an RPC
poll, a swarm dial), which no check here could see coming.
"""

from __future__ import annotations

import errno
import functools
import random
import socket
import threading
from collections.abc import Iterable
from pathlib import Path

_LOCK = threading.Lock()
_TAKEN: set[int] = set()  # handed out or reserved in this process
_ATTEMPTS = 500
_LOWEST = 15000  # below: the well-known services people run on a workstation
_MAX_PORT = 65535
_EPHEMERAL_FILE = Path("/proc/sys/net/ipv4/ip_local_port_range")
_RNG = random.SystemRandom()  # not the global generator: a seeded one picks alike everywhere


def ephemeral_range() -> range:
    """The ports the kernel gives outgoing connections (Linux's default where unreadable)."""
    try:
        low, high = map(int, _EPHEMERAL_FILE.read_text().split())
    except (OSError, ValueError):
        low, high = 32768, 60999
    return range(low, high + 1)


@functools.cache
def _candidates() -> tuple[tuple[int, ...], frozenset[int]]:
    """The ports to pick from (read once per process), as a sequence and as a set."""
    ephemeral = ephemeral_range()
    pool = tuple(p for p in range(_LOWEST, _MAX_PORT + 1) if p not in ephemeral)
    pool = pool or tuple(range(_LOWEST, _MAX_PORT + 1))
    return pool, frozenset(pool)


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that nothing listens on at ``host`` right now and that this process has
    neither handed out nor reserved before."""
    return free_port_block(1, host)


def free_port_block(count: int, host: str = "127.0.0.1") -> int:
    """The first of ``count`` consecutive free ports (``port``, ``port+1``, …), none handed out
    or reserved before in this process; all of them are marked taken."""
    if count < 1:
        raise ValueError("count must be at least 1")
    pool, allowed = _candidates()
    with _LOCK:
        for _ in range(_ATTEMPTS):
            block = range(start := _RNG.choice(pool), start + count)
            if any(p not in allowed or p in _TAKEN for p in block):
                continue
            if any(port_in_use(p, host) for p in block):
                continue
            _TAKEN.update(block)
            return start
    raise OSError(f"no block of {count} free TCP ports found on {host}")


def reserve(ports: Iterable[int]) -> None:
    """Mark ``ports`` (asked for by the user) so :func:`free_port` never hands them out."""
    with _LOCK:
        _TAKEN.update(p for p in ports if p)


def port_in_use(port: int, host: str = "127.0.0.1") -> bool:
    """Whether something listens on ``port`` (TIME_WAIT leftovers don't count: Chopsticks and
    Go's listeners set SO_REUSEADDR too, so they can bind such a port)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            return exc.errno == errno.EADDRINUSE
    return False
