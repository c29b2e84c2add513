"""The only module that talks to the IPFS HTTP client library (ipfshttpclient 0.8.0a2).

Keep it small: everything else in the package goes through :class:`IpfsHttp`, so the
unmaintained client can be replaced (e.g. by plain httpx calls) by rewriting this file alone.
Library errors are translated to :class:`Unreachable`, :class:`NotFound` and
:class:`~decentralml_client.storage.errors.StorageError`.
"""

from __future__ import annotations

import warnings
from typing import Any

from .errors import StorageError

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import ipfshttpclient
    import ipfshttpclient.exceptions as _exc

# 0.8.0a2 warns that daemons newer than 0.7 are "not supported"; they work for the calls used
# here (add, cat, pin, id), which the tests exercise against the pinned Kubo.
# Its requests backend also passes urllib3 2.x an obsolete `strict` argument on every new
# connection. Both warnings are silenced around each call (and nothing else is).


def _silence_known_warnings() -> None:
    warnings.filterwarnings("ignore", category=_exc.VersionMismatch)
    warnings.filterwarnings(
        "ignore", message="The 'strict' parameter is no longer needed", category=FutureWarning
    )


#: Import settings fixed so that the same bytes always give the same CID, whatever the
#: daemon's configured defaults.
ADD_OPTIONS = {
    "cid-version": "1",
    "raw-leaves": "true",
    "chunker": "size-262144",
    "hash": "sha2-256",
    "pin": "true",
}


class Unreachable(StorageError):
    """Connection refused, reset or timed out: worth retrying."""


class TimedOut(Unreachable):
    """The daemon accepted the request but did not answer in time: also retried."""


class NotFound(StorageError):
    """The daemon reports it does not have (and cannot get) the block."""


_NOT_FOUND_HINTS = ("not found", "no link named", "offline", "invalid cid", "invalid path")


class IpfsHttp:
    """A thin, exception-translating wrapper over ``ipfshttpclient.Client``."""

    def __init__(self, api_multiaddr: str, timeout: float) -> None:
        self._client = ipfshttpclient.Client(api_multiaddr, timeout=timeout)

    def close(self) -> None:
        self._client.close()

    def _call(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            with warnings.catch_warnings():
                _silence_known_warnings()
                return fn(*args, **kwargs)
        except _exc.TimeoutError as exc:
            raise TimedOut(str(exc)) from exc
        except (_exc.ConnectionError, _exc.ProtocolError) as exc:
            raise Unreachable(str(exc)) from exc
        except _exc.ErrorResponse as exc:
            message = str(exc)
            if any(hint in message.lower() for hint in _NOT_FOUND_HINTS):
                raise NotFound(message) from exc
            raise StorageError(f"IPFS daemon refused the request: {message}") from exc
        except _exc.Error as exc:
            raise StorageError(f"IPFS client error: {exc}") from exc

    def add(self, data: bytes) -> str:
        """Add and pin ``data`` as one file; return its CID."""
        return str(self._call(self._client.add_bytes, data, opts=ADD_OPTIONS))

    def cat(self, cid: str, length: int | None = None) -> bytes:
        """The bytes of the file ``cid`` (the first ``length`` bytes if given)."""
        return bytes(self._call(self._client.cat, cid, length=length))

    def pin(self, cid: str) -> None:
        """Pin ``cid`` recursively (fetching it first if the daemon lacks it)."""
        self._call(self._client.pin.add, cid)

    def is_pinned(self, cid: str) -> bool:
        """Whether ``cid`` is pinned (directly, recursively or indirectly)."""
        try:
            reply = self._call(self._client.pin.ls, cid)
        except StorageError as exc:
            if isinstance(exc, Unreachable):
                raise
            return False
        keys = reply.get("Keys", {}) if hasattr(reply, "get") else {}
        return bool(keys)

    def node_id(self) -> str:
        """The daemon's peer ID (a cheap liveness probe)."""
        return str(self._call(self._client.id)["ID"])
