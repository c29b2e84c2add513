"""Loopback ports: a port handed out as free is not in use."""

from __future__ import annotations

from decentralml_client.services.ports import free_port, port_in_use


def test_a_free_port_is_not_in_use() -> None:
    port = free_port()
    assert not port_in_use(port)
