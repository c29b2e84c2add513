"""Loopback TCP ports for the local daemons: pick a free one, check one is free.

One process often starts several daemons (three nodes and three Kubos for ``devnet up
--nodes 3``), some on ports the user asked for and some on ports picked here. A port picked
as free is only free until something binds it, so this module remembers every port it has
handed out and every port the caller has reserved, and never hands one out twice: a node's
peer-to-peer port can't land on the Kubo API port asked for next.
"""

from __future__ import annotations

import errno
import socket
import threading
from collections.abc import Iterable

_LOCK = threading.Lock()
_TAKEN: set[int] = set()  # handed out or reserved in this process
_ATTEMPTS = 200
_MAX_PORT = 65535


def _bind_any(host: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that nothing listens on at ``host`` right now and that this process has
    neither handed out nor reserved before."""
    return free_port_block(1, host)


def free_port_block(count: int, host: str = "127.0.0.1") -> int:
    """The first of ``count`` consecutive free ports (``port``, ``port+1``, …), none handed out
    or reserved before in this process; all of them are marked taken."""
    if count < 1:
        raise ValueError("count must be at least 1")
    with _LOCK:
        for _ in range(_ATTEMPTS):
            start = _bind_any(host)
            block = range(start, start + count)
            if block[-1] > _MAX_PORT or any(p in _TAKEN for p in block):
                continue
            if count > 1 and any(port_in_use(p, host) for p in block[1:]):
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
