"""Content storage on IPFS with blake2-256 verification (PROTOCOL §4, §7).

The chain stores, for every artifact, its CID and the blake2-256 hash of its bytes. ``fetch``
accepts bytes only when they hash to the on-chain value, so a swapped or corrupted file is
refused (:class:`IntegrityError`) whatever IPFS returned, and is never cached. Verified bytes
are kept in a local cache keyed by their hash, and checked again every time they are read.
"""

from __future__ import annotations

import logging
import os
import random
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Self, TypeVar
from urllib.parse import urlsplit

from decentralml_client.files import write_atomic
from decentralml_client.hashing import blake2_256

from . import _ipfs_http
from .errors import ContentNotFound, IntegrityError, StorageError, StorageUnavailable

log = logging.getLogger(__name__)
T = TypeVar("T")

_CID_RE = re.compile(
    r"^(Qm[1-9A-HJ-NP-Za-km-z]{44}|b[a-z2-7]{10,}|[zkfFmMuU][0-9A-Za-z_=+/-]{10,})$"
)


def api_to_multiaddr(api: str) -> str:
    """Normalise an API address (multiaddr or ``http(s)://host:port``) to a multiaddr."""
    api = api.strip()
    if api.startswith("/"):
        return api
    parts = urlsplit(api if "://" in api else f"http://{api}")
    if parts.scheme not in ("http", "https") or not parts.hostname or not parts.port:
        raise ValueError(
            f"cannot read IPFS API address {api!r}: use a multiaddr like "
            "/ip4/127.0.0.1/tcp/5001 or a URL like http://127.0.0.1:5001"
        )
    host = parts.hostname
    proto = "ip6" if ":" in host else ("ip4" if re.fullmatch(r"[\d.]+", host) else "dns")
    suffix = "/https" if parts.scheme == "https" else ""
    return f"/{proto}/{host}/tcp/{parts.port}{suffix}"


def _as_hash(expected_hash: bytes | str) -> bytes:
    if isinstance(expected_hash, str):
        try:
            expected_hash = bytes.fromhex(expected_hash.removeprefix("0x"))
        except ValueError:
            raise ValueError(f"expected_hash {expected_hash!r} is not hex") from None
    if len(expected_hash) != 32:
        raise ValueError("expected_hash must be a 32-byte blake2-256 digest")
    return bytes(expected_hash)


def _check_cid(cid: str) -> str:
    cid = cid.strip() if isinstance(cid, str) else cid
    if not isinstance(cid, str) or not _CID_RE.match(cid):
        raise ValueError(f"not a CID: {cid!r}")
    return cid


class IpfsStore:
    """Add, pin and fetch artifacts on an IPFS daemon, verified against blake2-256 hashes.

    ``retries`` extra attempts are made on connection errors, waiting ``backoff``,
    ``2*backoff``, ... (capped at ``max_backoff``) with a little jitter.
    """

    def __init__(
        self,
        api: str,
        cache_dir: str | os.PathLike[str] | None = None,
        timeout: float = 30.0,
        retries: int = 4,
        *,
        backoff: float = 0.25,
        max_backoff: float = 8.0,
    ) -> None:
        if retries < 0:
            raise ValueError("retries must be >= 0")
        self.api_multiaddr = api_to_multiaddr(api)
        self.api = api
        self.cache_dir = Path(cache_dir).expanduser() if cache_dir is not None else None
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self.max_backoff = max_backoff
        self._http: _ipfs_http.IpfsHttp | None = None

    def __repr__(self) -> str:
        return f"IpfsStore({self.api_multiaddr!r}, cache_dir={self.cache_dir})"

    # -- public API ------------------------------------------------------------------------
    def add(self, data: bytes) -> str:
        """Add and pin ``data``; return its CID (CIDv1, raw leaves: same bytes, same CID).

        The bytes also go into the local cache, under their blake2-256 hash.
        """
        data = bytes(data)
        cid = self._with_retries("add", lambda http: http.add(data))
        self._cache_put(blake2_256(data), data)
        log.debug("added %d bytes as %s", len(data), cid)
        return cid

    def fetch(self, cid: str, expected_hash: bytes | str, *, max_bytes: int | None = None) -> bytes:
        """Return the bytes of ``cid`` if they hash (blake2-256) to ``expected_hash``.

        Served from the cache when it holds bytes with that hash. Raises
        :class:`IntegrityError` on a mismatch (nothing is cached), :class:`ContentNotFound`
        if the daemon cannot provide the CID — it says so, or it answers but nobody served
        the content within ``timeout`` (withheld) — and :class:`StorageUnavailable` if the
        daemon itself cannot be reached (refused, reset, or not answering even its ``id``)
        after the retries: an outage of *this* client's storage, which says nothing about the
        content.
        ``max_bytes`` bounds how much is read; a larger file is refused as a mismatch.
        """
        cid = _check_cid(cid)
        digest = _as_hash(expected_hash)
        cached = self._cache_get(digest)
        if cached is not None:
            log.debug("cache hit for %s", cid)
            return cached
        length = max_bytes + 1 if max_bytes is not None else None
        data = self._with_retries("fetch", lambda http: http.cat(cid, length=length))
        if max_bytes is not None and len(data) > max_bytes:
            raise IntegrityError(f"content {cid} is larger than the allowed {max_bytes} bytes")
        actual = blake2_256(data)
        if actual != digest:
            raise IntegrityError(
                f"content {cid} does not match its expected blake2-256 hash "
                f"(expected 0x{digest.hex()}, got 0x{actual.hex()}): refused, not cached. "
                "The content was swapped or the CID and hash do not belong together."
            )
        self._cache_put(digest, data)
        return data

    def pin(self, cid: str) -> None:
        """Pin ``cid`` on the daemon so garbage collection and restarts keep it."""
        cid = _check_cid(cid)
        self._with_retries("pin", lambda http: http.pin(cid))

    def is_pinned(self, cid: str) -> bool:
        """Whether the daemon has ``cid`` pinned."""
        cid = _check_cid(cid)
        return self._with_retries("pin ls", lambda http: http.is_pinned(cid))

    def is_available(self) -> bool:
        """Whether the daemon answers now (one quick try, no retries)."""
        try:
            self._client().node_id()
        except StorageError:
            self.close()
            return False
        return True

    def close(self) -> None:
        """Close the HTTP session (the store can still be used: it reconnects)."""
        if self._http is not None:
            self._http.close()
            self._http = None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- internals ----------------------------------------------------------------------------
    def _client(self) -> _ipfs_http.IpfsHttp:
        if self._http is None:
            self._http = _ipfs_http.IpfsHttp(self.api_multiaddr, timeout=self.timeout)
        return self._http

    def _with_retries(self, what: str, op: Callable[[_ipfs_http.IpfsHttp], T]) -> T:
        attempts = self.retries + 1
        for attempt in range(1, attempts + 1):
            try:
                return op(self._client())
            except _ipfs_http.NotFound as exc:
                raise ContentNotFound(
                    f"IPFS {what}: the daemon at {self.api_multiaddr} cannot provide the "
                    f"content ({exc}). Check the CID, or pin it on a node this daemon can reach."
                ) from exc
            except _ipfs_http.Unreachable as exc:
                if isinstance(exc, _ipfs_http.TimedOut) and what == "fetch" and self._answers():
                    # The daemon works; nobody it can reach served the content in time.
                    raise ContentNotFound(
                        f"IPFS {what}: the daemon at {self.api_multiaddr} answers, but no "
                        f"reachable peer served the content within {self.timeout:.0f}s: it "
                        "is withheld or lost (not a storage outage)."
                    ) from exc
                self.close()
                if attempt == attempts:
                    if isinstance(exc, _ipfs_http.TimedOut):
                        raise StorageUnavailable(
                            f"IPFS {what} timed out after {self.timeout:.0f}s on each of "
                            f"{attempts} attempts at {self.api_multiaddr}: the daemon is "
                            "overloaded, or (online) no reachable peer has the content. "
                            "Check the daemon's load and peers, or raise the timeout."
                        ) from exc
                    raise StorageUnavailable(
                        f"IPFS {what} failed: no answer from the IPFS API at {self.api_multiaddr}"
                        f" after {attempts} attempts ({exc}). Is Kubo running there? Start it "
                        "with `ipfs daemon --offline` (or the dev network launcher) and check "
                        "that Addresses.API in its config matches."
                    ) from exc
                delay = min(self.backoff * 2 ** (attempt - 1), self.max_backoff)
                delay *= 1 + random.uniform(0, 0.1)
                log.warning(
                    "IPFS %s: daemon at %s unreachable (attempt %d/%d), retrying in %.2fs",
                    what,
                    self.api_multiaddr,
                    attempt,
                    attempts,
                    delay,
                )
                time.sleep(delay)
        raise AssertionError("unreachable")  # pragma: no cover

    def _answers(self) -> bool:
        """Whether the daemon itself answers now (one quick ``id``, no retries)."""
        try:
            self._client().node_id()
        except StorageError:
            return False
        return True

    def _cache_path(self, digest: bytes) -> Path | None:
        if self.cache_dir is None:
            return None
        name = digest.hex()
        return self.cache_dir / name[:2] / name

    def _cache_get(self, digest: bytes) -> bytes | None:
        path = self._cache_path(digest)
        if path is None:
            return None
        try:
            data = path.read_bytes()
        except OSError:
            return None
        if blake2_256(data) != digest:
            log.warning("cache entry %s is corrupt: removed, fetching again", path)
            path.unlink(missing_ok=True)
            return None
        return data

    def _cache_put(self, digest: bytes, data: bytes) -> None:
        path = self._cache_path(digest)
        if path is None or path.exists():
            return
        write_atomic(path, data, durable=False)
