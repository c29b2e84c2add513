"""A connection to a DecentralML chain over substrate-interface.

Everything that talks to the node lives here: connecting (with the interface check against
the recorded pallet interface, :mod:`.abi`), signing and submitting with correct nonces, waiting
for inclusion with a
deadline, turning failures into :mod:`decentralml_client.chain.errors`, storage reads and
block/event subscriptions. The typed pallet calls and reads are in :mod:`.api`.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

import xxhash
from substrateinterface import ExtrinsicReceipt, Keypair, SubstrateInterface
from substrateinterface.exceptions import SubstrateRequestException
from websocket import WebSocketException

from decentralml_client.chain.abi import check_compatible
from decentralml_client.chain.errors import (
    ChainUnreachable,
    ConnectionLost,
    InclusionTimeout,
    IncompatibleChain,
    PalletError,
    TransactionRejected,
)
from decentralml_client.chain.events import PALLET, Event, Receipt
from decentralml_client.chain.events import event_from_record as _event_from_record
from decentralml_client.hashing import blake2_256

__all__ = ["PALLET", "STORAGE_VERSION", "Chain", "Event", "Receipt"]

STORAGE_VERSION = 3
"""The pallet's ``StorageVersion`` this client reads and writes (the pallet declares it)."""

_TRANSPORT_ERRORS: tuple[type[BaseException], ...] = (OSError, WebSocketException, TimeoutError)
"""What substrate-interface and ``websocket`` raise when the node goes away (connection
refused or reset, the websocket closed, a timeout): all become :class:`ConnectionLost`."""


@contextlib.contextmanager
def _transport(url: str) -> Iterator[None]:
    """Map every transport failure inside the block to :class:`ConnectionLost`."""
    try:
        yield
    except ConnectionLost:
        raise
    except _TRANSPORT_ERRORS as exc:
        raise ConnectionLost(f"lost the connection to the node at {url} "
                             f"({exc.__class__.__name__}: {exc})") from exc

_REJECTION_HINTS = {
    "Inability to pay some fees": "the account cannot pay the fee: fund it "
    "(on the dev chain: `decentralml account faucet`).",
    "Transaction is outdated": "a nonce was reused; retry (the client refreshes its nonce).",
    "Priority is too low": "a transaction with this nonce is already pending; retry.",
    "Transaction has a bad signature": "the signing key does not match the account.",
}


_OPEN_LOCK = threading.Lock()
T = TypeVar("T")

_ALREADY_IMPORTED = ("Already Imported", "1013")
"""The pool holds these very bytes already: the transaction is there, wait for it."""
_NONCE_TAKEN = ("Priority is too low", "outdated", "Stale", "stale")
"""The nonce is taken, by a transaction in the pool (1014) or one already included (stale)."""


@dataclass(frozen=True)
class _Sent:
    """A signed transaction handed to the pool whose inclusion is not yet confirmed."""

    data: str  # the signed extrinsic, 0x hex: a resend sends exactly these bytes
    hash: str
    nonce: int
    block: int  # the head when it was first sent: its inclusion is searched from there


def _call_key(signer: Keypair, pallet: str, call: str, params: dict[str, Any]) -> str:
    """One call of one account, whatever the object identities of its parameters."""
    return json.dumps([signer.ss58_address, pallet, call, params], sort_keys=True, default=str)


def _extrinsic_hash(data: str) -> str:
    return "0x" + blake2_256(bytes.fromhex(data.removeprefix("0x"))).hex()


class Chain:
    """A connected chain. Not thread-safe for reads; submissions from threads are serialised."""

    def __init__(self, url: str, *, check_abi: bool = True, timeout: float = 30.0) -> None:
        self.url = url
        self.timeout = timeout
        try:
            self.substrate = self._open()
        except (OSError, ConnectionError, SubstrateRequestException) as exc:
            raise ChainUnreachable(
                f"no DecentralML node answers at {url} ({exc}). Start the dev chain with "
                "`decentralml devnet up`, or point --node / DML_NODE_URL at a running node."
            ) from exc
        except Exception as exc:  # websocket library errors have no common base
            raise ChainUnreachable(
                f"no DecentralML node answers at {url} ({exc.__class__.__name__}: {exc}). "
                "Start the dev chain with `decentralml devnet up`, or set DML_NODE_URL."
            ) from exc
        self._lock = threading.RLock()
        self._next_nonce: dict[str, int] = {}
        self._unconfirmed: dict[str, _Sent] = {}
        if check_abi:
            self.check_storage_version()
            check_compatible(self)

    def _open(self) -> SubstrateInterface:
        """Connect and load the runtime's metadata. Connections of one process open one at a
        time: substrate-interface's type registry is not safe to build from several threads
        at once (roles hosted as threads connect together)."""
        with _OPEN_LOCK:
            substrate = SubstrateInterface(url=self.url, ws_options={"timeout": self.timeout})
            substrate.init_runtime()
            return substrate

    def reconnect(self, timeout: float = 300.0) -> None:
        """Open a fresh connection to the same node (e.g. after it restarted), retrying until
        it answers or ``timeout`` seconds pass (then ``ChainUnreachable``)."""
        end = time.monotonic() + timeout
        with self._lock:
            with contextlib.suppress(Exception):
                self.substrate.close()
            while True:
                try:
                    self.substrate = self._open()
                    self._next_nonce.clear()
                    return
                except Exception as exc:  # websocket library errors have no common base
                    if time.monotonic() > end:
                        raise ChainUnreachable(
                            f"the node at {self.url} did not come back within {timeout:.0f} s "
                            f"({exc.__class__.__name__}: {exc}); check `decentralml devnet "
                            "status` or the node's log."
                        ) from exc
                    time.sleep(0.5)

    # -- metadata ---------------------------------------------------------------------------

    def storage_version(self) -> int:
        """The pallet's on-chain storage version (``:__STORAGE_VERSION__:``, a ``u16``)."""
        key = "0x" + _twox128(PALLET.encode()) + _twox128(b":__STORAGE_VERSION__:")
        raw = self._read(lambda: self.substrate.rpc_request("state_getStorage", [key]))
        value = raw.get("result") if isinstance(raw, dict) else None
        return int.from_bytes(bytes.fromhex(value[2:]), "little") if value else 0

    def check_storage_version(self) -> None:
        """Refuse a chain whose pallet stores data in another layout than this client's."""
        found = self.storage_version()
        if found != STORAGE_VERSION:
            raise IncompatibleChain(
                f"the chain at {self.url} has DecentralMl storage version {found}; this client "
                f"reads version {STORAGE_VERSION}",
                hint="connect to a node running this release's runtime (or run its storage "
                "migration), or install the client of the node's release.")

    def metadata(self) -> Any:
        with self._lock, _transport(self.url):
            self.substrate.init_runtime()
            return self.substrate.metadata

    def constant(self, name: str, pallet: str = PALLET) -> Any:
        c = self._read(lambda: self.substrate.get_constant(pallet, name))
        return c.value if c is not None else None

    # -- reads ------------------------------------------------------------------------------

    def _read(self, read: Callable[[], T]) -> T:
        """Run a read; if the connection dropped (a node restart), reconnect once and read
        again — reads are safe to repeat (submissions are not retried here)."""
        with self._lock:
            try:
                with _transport(self.url):
                    return read()
            except ConnectionLost:
                self.reconnect(self.timeout)
                with _transport(self.url):
                    return read()

    def query(self, storage: str, params: list[Any] | None = None, pallet: str = PALLET,
              block_hash: str | None = None) -> Any:
        """The decoded value of one storage entry (None when absent)."""
        r = self._read(lambda: self.substrate.query(pallet, storage, params or [],
                                                    block_hash=block_hash))
        return r.value if r is not None else None

    def query_map(self, storage: str, params: list[Any] | None = None, pallet: str = PALLET,
                  block_hash: str | None = None, page_size: int = 200) -> list[tuple[Any, Any]]:
        """All (key, value) pairs of a map (under ``params`` for a double map)."""
        return self._read(lambda: [
            (_plain(k), v.value if v is not None else None)
            for k, v in self.substrate.query_map(pallet, storage, params or [],
                                                 block_hash=block_hash, page_size=page_size)])

    def block_number(self, block_hash: str | None = None) -> int:
        return int(self._read(lambda: self.substrate.get_block_number(block_hash)))

    def block_hash(self, number: int) -> str:
        """The hash of block ``number``.

        Not ``System.BlockHash``: it holds zeros for the head block, and asking Chopsticks for
        events at 0x00… corrupts its state (other clients' transactions then fail with
        badProof).
        """
        return str(self._read(lambda: self.substrate.get_block_hash(number)))

    def head(self) -> tuple[int, str]:
        def read() -> tuple[int, str]:
            h = self.substrate.get_chain_head()
            return int(self.substrate.get_block_number(h)), str(h)

        return self._read(read)

    def events(self, block_hash: str | None = None) -> list[Event]:
        records = self._read(lambda: self.substrate.get_events(block_hash))
        return [_event_from_record(r) for r in records]

    def events_between(self, first: int, last: int | None = None
                       ) -> Iterator[tuple[int, list[Event]]]:
        """(number, events) of every block from ``first`` to ``last`` (default: the head)."""
        if last is None:
            last, _ = self.head()
        for n in range(max(first, 0), last + 1):
            yield n, self.events(self.block_hash(n))

    def free_balance(self, address: str) -> int:
        acct = self.query("Account", [address], pallet="System")
        return int(acct["data"]["free"])

    def account(self, address: str) -> dict[str, int]:
        data = self.query("Account", [address], pallet="System")["data"]
        return {"free": int(data["free"]), "reserved": int(data["reserved"]),
                "frozen": int(data.get("frozen", 0))}

    # -- writes -----------------------------------------------------------------------------

    def _nonce(self, signer: Keypair, *, past_pool: bool = False) -> int:
        """``signer``'s next nonce: the chain's (so a restarted process signing the same call
        again makes the same bytes, which the pool recognises), or, with ``past_pool``, past
        the transactions this node's pool holds too (``system_accountNextIndex``): for a call
        whose nonce another transaction took (1014), e.g. one sent by another process with
        the same key."""
        address = signer.ss58_address
        onchain = int(self.substrate.get_account_nonce(address))
        if past_pool:
            with contextlib.suppress(SubstrateRequestException, KeyError, TypeError,
                                     ValueError):
                onchain = max(onchain, int(self.substrate.rpc_request(
                    "system_accountNextIndex", [address])["result"]))
        return max(onchain, self._next_nonce.get(address, 0))

    def submit(self, signer: Keypair, call: str, params: dict[str, Any], *,
               pallet: str = PALLET, wait: bool = True, timeout: float | None = None) -> Receipt:
        """Sign and submit ``pallet.call(params)``; wait for inclusion and raise on failure."""
        return self.submit_many(signer, [(pallet, call, params)], wait=wait, timeout=timeout)[0]

    def submit_many(self, signer: Keypair, calls: Iterable[tuple[str, str, dict[str, Any]]], *,
                    wait: bool = True, timeout: float | None = None) -> list[Receipt]:
        """Submit several calls from one account at once (consecutive nonces), then wait."""
        return self.submit_all([(signer, pallet, call, params) for pallet, call, params in calls],
                               wait=wait, timeout=timeout)

    def submit_all(self, items: Iterable[tuple[Keypair, str, str, dict[str, Any]]], *,
                   wait: bool = True, timeout: float | None = None) -> list[Receipt]:
        """Submit calls from one or many accounts at once, then wait until all are included.

        Nothing waits for a block between submissions, so transactions sent together share
        blocks; each new block is read once. Raises on the first refused or failed call.

        A call whose earlier submission timed out (:class:`InclusionTimeout`) is *resent*,
        not signed again: the same bytes, with the same nonce, so it can be included once at
        most. A resend the node answers with "Transaction Already Imported" (1013), or with a
        taken nonce ("Priority is too low", a stale nonce) while the earlier copy is in the
        pool or was included meanwhile, is already there: the call waits for that copy's
        inclusion and returns its receipt instead of reporting a refusal.
        """
        deadline = time.monotonic() + (timeout or self.timeout)
        with self._lock, _transport(self.url):
            start_block, _ = self.head()
            scan_from = start_block
            # Sign everything first, then hand it over in one quick burst, so that the node
            # sees the transactions arrive together.
            signed: list[tuple[str, Keypair, str, str, dict[str, Any], _Sent, bool]] = []
            for signer, pallet, call, params in items:
                key = _call_key(signer, pallet, call, params)
                earlier = self._unconfirmed.get(key)
                if earlier is not None:
                    scan_from = min(scan_from, earlier.block)
                    local = self._next_nonce.get(signer.ss58_address, 0)
                    self._next_nonce[signer.ss58_address] = max(local, earlier.nonce + 1)
                    signed.append((key, signer, pallet, call, params, earlier, True))
                    continue
                composed = self.substrate.compose_call(pallet, call, params)
                nonce = self._nonce(signer)
                self._next_nonce[signer.ss58_address] = nonce + 1
                ext = self.substrate.create_signed_extrinsic(composed, signer, nonce=nonce)
                data = str(ext.data)
                sent = _Sent(data, _extrinsic_hash(data), nonce, start_block)
                signed.append((key, signer, pallet, call, params, sent, False))
            pending = []
            for key, signer, pallet, call, params, sent, resend in signed:
                try:
                    label, h, sent = self._send(signer, pallet, call, params, sent,
                                                resend=resend)
                except TransactionRejected:
                    self._unconfirmed.pop(key, None)
                    raise
                self._unconfirmed[key] = sent
                pending.append((label, h, key))
            if not wait:
                return [Receipt(h, "", -1) for _, h, _ in pending]
            return self._wait_all(pending, scan_from, deadline)

    def _send(self, signer: Keypair, pallet: str, call: str, params: dict[str, Any],
              sent: _Sent, *, resend: bool = False) -> tuple[str, str, _Sent]:
        """Hand a signed call to the node's pool, re-signing with a fresh nonce if the node
        finds it outdated; returns (label, extrinsic hash, what was sent). A ``resend`` of an
        earlier submission that the node says is already there is not sent again."""
        label = f"{pallet}.{call}"
        for attempt in range(3):
            try:
                result = self.substrate.rpc_request("author_submitExtrinsic", [sent.data])
            except SubstrateRequestException as exc:
                msg = str(exc)
                if any(n in msg for n in _ALREADY_IMPORTED):
                    return label, sent.hash, sent  # these very bytes are in the pool
                if any(n in msg for n in _NONCE_TAKEN) and (
                        resend or attempt > 0) and self._already_there(sent):
                    return label, sent.hash, sent  # in the pool, or included meanwhile
                if attempt < 2 and any(n in msg for n in _NONCE_TAKEN):
                    self._next_nonce.pop(signer.ss58_address, None)
                    nonce = self._nonce(signer, past_pool=True)
                    self._next_nonce[signer.ss58_address] = nonce + 1
                    composed = self.substrate.compose_call(pallet, call, params)
                    data = str(self.substrate.create_signed_extrinsic(
                        composed, signer, nonce=nonce).data)
                    sent = _Sent(data, _extrinsic_hash(data), nonce, sent.block)
                    continue
                self._next_nonce.pop(signer.ss58_address, None)  # this nonce stays unused
                raise TransactionRejected(_rejection_message(label, msg)) from exc
            if "error" in result:
                self._next_nonce.pop(signer.ss58_address, None)
                raise TransactionRejected(_rejection_message(label, str(result["error"])))
            return label, str(result["result"]), sent
        raise TransactionRejected(_rejection_message(label, "the nonce kept changing"))

    def _already_there(self, sent: _Sent) -> bool:
        """Whether ``sent`` waits in the node's pool or was included since it was sent."""
        try:
            pool = self.substrate.rpc_request("author_pendingExtrinsics", [])["result"] or []
        except SubstrateRequestException:
            pool = []
        if any(_extrinsic_hash(str(ext)) == sent.hash for ext in pool):
            return True
        head, _ = self.head()
        return bool(self._scan({sent.hash}, sent.block, head))

    def _scan(self, wanted: set[str], after: int, last: int
              ) -> dict[str, tuple[str, int, int]]:
        """Where the ``wanted`` extrinsic hashes are in blocks ``after+1 .. last``."""
        where: dict[str, tuple[str, int, int]] = {}
        for number in range(after + 1, last + 1):
            block_hash = self.block_hash(number)
            raw = self.substrate.rpc_request("chain_getBlock", [block_hash])["result"]
            for index, ext in enumerate(raw["block"]["extrinsics"]):
                h = _extrinsic_hash(ext)
                if h in wanted:
                    where[h] = (block_hash, number, index)
        return where

    def _wait_all(self, pending: list[tuple[str, str, str]], from_block: int,
                  deadline: float) -> list[Receipt]:
        """Follow new blocks (each read once, as raw bytes) until every hash is included."""
        wanted = {h for _, h, _ in pending}
        where: dict[str, tuple[str, int, int]] = {}  # hash -> (block hash, number, index)
        seen = from_block
        while len(where) < len(wanted):
            head, _ = self.head()
            if seen < head:
                where.update(self._scan(wanted, seen, head))
                seen = head
            if len(where) < len(wanted):
                if time.monotonic() > deadline:
                    label, h = next((lb, h) for lb, h, _ in pending if h not in where)
                    for _, included, key in pending:  # the others are done
                        if included in where:
                            self._unconfirmed.pop(key, None)
                    # Presumed lost (e.g. with a restarted node's pool), or blocks paused: the
                    # next transaction takes its nonce from the chain again, and the same call
                    # sent again resends these bytes.
                    self._next_nonce.clear()
                    raise InclusionTimeout(
                        f"{label}: not included within the deadline (transaction {h}); "
                        "the node may be stalled — check `decentralml devnet status`."
                    )
                time.sleep(0.05)
        for _, _, key in pending:
            self._unconfirmed.pop(key, None)
        events: dict[str, list[Event]] = {}
        receipts = []
        for label, h, _ in pending:
            block_hash, number, index = where[h]
            if block_hash not in events:
                events[block_hash] = [_event_from_record(r)
                                      for r in self.substrate.get_events(block_hash)]
            mine = [e for e in events[block_hash] if e.extrinsic_idx == index]
            if any(e.qualname == "System.ExtrinsicFailed" for e in mine):
                self._receipt(label, h, block_hash, number)  # raises the decoded error
            receipts.append(Receipt(h, block_hash, number, mine))
        return receipts

    def _receipt(self, label: str, ext_hash: str, block_hash: str, number: int) -> Receipt:
        r = ExtrinsicReceipt(self.substrate, extrinsic_hash=ext_hash, block_hash=block_hash)
        events = [_event_from_record(e) for e in r.triggered_events]
        if not r.is_success:
            err = r.error_message or {}
            pallet = self._failed_pallet(events) or err.get("type") or "Runtime"
            name = err.get("name", "Unknown")
            docs = err.get("docs", "")
            if isinstance(docs, list):
                docs = " ".join(docs)
            raise PalletError(str(pallet), str(name), str(docs), call=label)  # its own class
        return Receipt(ext_hash, block_hash, number, events)

    def _failed_pallet(self, events: list[Event]) -> str | None:
        """The name of the pallet whose error failed the extrinsic (from ExtrinsicFailed)."""
        for e in events:
            if e.qualname == "System.ExtrinsicFailed":
                attrs = e.attributes
                err = attrs.get("dispatch_error") if isinstance(attrs, dict) else None
                if isinstance(err, dict) and isinstance(err.get("Module"), dict):
                    index = int(err["Module"]["index"])
                    for p in self.substrate.metadata.pallets:
                        if p.value["index"] == index:
                            return str(p.name)
        return None

    # -- dev chain --------------------------------------------------------------------------

    def new_blocks(self, count: int = 1) -> int:
        """Build ``count`` empty blocks on a dev chain — Chopsticks' ``dev_newBlock``, or a
        manual/instant-seal node's ``engine_createBlock`` — and return the new head."""
        with self._lock, _transport(self.url):
            if not getattr(self, "_manual_seal", False):
                try:
                    reply = self.substrate.rpc_request("dev_newBlock", [{"count": count}])
                except SubstrateRequestException:
                    reply = {"error": "no dev_newBlock"}
                if "error" not in reply:
                    return self.head()[0]
                self._manual_seal = True
            for _ in range(count):
                self.substrate.rpc_request("engine_createBlock", [True, True, None])
            return self.head()[0]

    def close(self) -> None:
        self.substrate.close()

    def __enter__(self) -> Chain:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _twox128(data: bytes) -> str:
    """FRAME's ``twox_128`` storage-prefix hash, as hex."""
    return "".join(xxhash.xxh64(data, seed=seed).intdigest().to_bytes(8, "little").hex()
                   for seed in (0, 1))


def _plain(key: Any) -> Any:
    v = key.value if hasattr(key, "value") else key
    return v


def _rejection_message(label: str, raw: str) -> str:
    for needle, hint in _REJECTION_HINTS.items():
        if needle in raw:
            return f"{label}: the node refused the transaction ({raw}). What to do: {hint}"
    return f"{label}: the node refused the transaction ({raw})."
