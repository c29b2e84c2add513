"""Loopback ports: a port handed out as free is not in use, and never handed out twice."""

from __future__ import annotations

import socket

import pytest

from decentralml_client.services import ports
from decentralml_client.services.ports import (
    ephemeral_range,
    free_port,
    free_port_block,
    port_in_use,
    reserve,
)


def test_a_free_port_is_not_in_use() -> None:
    port = free_port()
    assert not port_in_use(port)


def test_a_port_in_use_is_reported() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        assert port_in_use(sock.getsockname()[1])


def test_no_port_is_handed_out_twice() -> None:
    picked = [free_port() for _ in range(300)]  # at random, 300 of ~22k would likely repeat
    assert len(set(picked)) == len(picked)


def test_reserved_ports_are_never_picked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ports, "_TAKEN", set())  # this test's reservations only
    pool, _ = ports._candidates()
    reserved = set(pool[::2])  # every other candidate: a broken reserve() shows in a few picks
    reserve(reserved)
    picked = [free_port() for _ in range(20)]
    assert reserved.isdisjoint(picked)


def test_a_block_is_consecutive_free_and_disjoint_from_other_blocks() -> None:
    blocks = [free_port_block(3) for _ in range(30)]
    ports = [p for start in blocks for p in range(start, start + 3)]
    assert len(set(ports)) == len(ports)
    assert not any(port_in_use(p) for p in ports)


def test_ports_are_picked_outside_the_range_outgoing_connections_use() -> None:
    ephemeral = ephemeral_range()
    assert len(ephemeral) > 1000  # read from the kernel (or Linux's default)
    picked = [free_port() for _ in range(100)] + [free_port_block(3) + 2 for _ in range(30)]
    assert not any(p in ephemeral for p in picked)
