"""Whether a node answers at a URL, without loading its metadata (for waiting on a starting
node): one ``chain_getHeader`` over a short-lived websocket."""

from __future__ import annotations

import json

from websocket import WebSocketException, create_connection


def answers(url: str, timeout: float = 2.0) -> tuple[bool, str]:
    """(whether the node at ``url`` returned a header, why not)."""
    try:
        ws = create_connection(url, timeout=timeout)
        try:
            ws.send(json.dumps({"id": 1, "jsonrpc": "2.0", "method": "chain_getHeader"}))
            reply = json.loads(ws.recv())
        finally:
            ws.close()
    except (OSError, WebSocketException, ValueError) as exc:
        return False, f"{exc.__class__.__name__}: {exc}"
    if isinstance(reply, dict) and reply.get("result"):
        return True, ""
    return False, f"no header in {reply!r}"
