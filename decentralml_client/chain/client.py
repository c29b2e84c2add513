"""A connection to a DecentralML chain over substrate-interface.

Everything that talks to the node lives here: connecting (with the interface check against
the recorded pallet interface, :mod:`.abi`), signing and submitting with correct nonces, waiting
for inclusion with a
deadline, turning failures into :mod:`decentralml_client.chain.errors`, storage reads and
block/event subscriptions. The typed pallet calls and reads are in :mod:`.api`.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar

from substrateinterface import ExtrinsicReceipt, Keypair, SubstrateInterface
from substrateinterface.exceptions import SubstrateRequestException
from websocket import WebSocketException

from decentralml_client.chain.abi import check_compatible
from decentralml_client.chain.errors import (
    ChainUnreachable,
    InclusionTimeout,
    PalletError,
    TransactionRejected,
)
from decentralml_client.hashing import blake2_256

PALLET = "DecentralMl"

_REJECTION_HINTS = {
    "Inability to pay some fees": "the account cannot pay the fee: fund it "
    "(on the dev chain: `decentralml account faucet`).",
    "Transaction is outdated": "a nonce was reused; retry (the client refreshes its nonce).",
    "Priority is too low": "a transaction with this nonce is already pending; retry.",
    "Transaction has a bad signature": "the signing key does not match the account.",
}


@dataclass(frozen=True)
class Event:
    """One runtime event, decoded: ``Pallet.Name`` with its named fields."""

    pallet: str
    name: str
    attributes: Any
    extrinsic_idx: int | None = None

    @property
    def qualname(self) -> str:
        return f"{self.pallet}.{self.name}"


@dataclass
class Receipt:
    """A transaction included in a block, with the events it emitted."""

    extrinsic_hash: str
    block_hash: str
    block_number: int
    events: list[Event] = field(default_factory=list)

    def find(self, name: str, pallet: str = PALLET) -> list[Event]:
        return [e for e in self.events if e.pallet == pallet and e.name == name]


def _event_from_record(record: Any) -> Event:
    value = record.value if hasattr(record, "value") else record
    ev = value["event"]
    return Event(
        pallet=ev["module_id"],
        name=ev["event_id"],
        attributes=ev.get("attributes"),
        extrinsic_idx=value.get("extrinsic_idx"),
    )


_OPEN_LOCK = threading.Lock()
T = TypeVar("T")


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
        if check_abi:
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

    def metadata(self) -> Any:
        with self._lock:
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
                return read()
            except (ConnectionError, WebSocketException):
                self.reconnect(self.timeout)
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

    def _nonce(self, signer: Keypair) -> int:
        onchain = int(self.substrate.get_account_nonce(signer.ss58_address))
        local = self._next_nonce.get(signer.ss58_address, 0)
        return max(onchain, local)

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
        """
        deadline = time.monotonic() + (timeout or self.timeout)
        with self._lock:
            start_block, _ = self.head()
            # Sign everything first, then hand it over in one quick burst, so that the node
            # sees the transactions arrive together.
            signed = []
            for signer, pallet, call, params in items:
                composed = self.substrate.compose_call(pallet, call, params)
                nonce = self._nonce(signer)
                self._next_nonce[signer.ss58_address] = nonce + 1
                ext = self.substrate.create_signed_extrinsic(composed, signer, nonce=nonce)
                signed.append((signer, pallet, call, params, str(ext.data)))
            pending = [self._send(signer, pallet, call, params, first_try=data)
                       for signer, pallet, call, params, data in signed]
            if not wait:
                return [Receipt(h, "", -1) for _, h in pending]
            return self._wait_all(pending, start_block, deadline)

    def _send(self, signer: Keypair, pallet: str, call: str, params: dict[str, Any], *,
              first_try: str) -> tuple[str, str]:
        """Hand a signed call (``first_try``, hex) to the node's pool, re-signing with a fresh
        nonce if the node finds it outdated; returns (label, extrinsic hash)."""
        label = f"{pallet}.{call}"
        data = first_try
        for attempt in range(3):
            try:
                result = self.substrate.rpc_request("author_submitExtrinsic", [data])
            except SubstrateRequestException as exc:
                msg = str(exc)
                if attempt < 2 and ("outdated" in msg or "Priority is too low" in msg):
                    self._next_nonce.pop(signer.ss58_address, None)
                    nonce = self._nonce(signer)
                    self._next_nonce[signer.ss58_address] = nonce + 1
                    composed = self.substrate.compose_call(pallet, call, params)
                    data = str(self.substrate.create_signed_extrinsic(
                        composed, signer, nonce=nonce).data)
                    continue
                self._next_nonce.pop(signer.ss58_address, None)  # this nonce stays unused
                raise TransactionRejected(_rejection_message(label, msg)) from exc
            if "error" in result:
                self._next_nonce.pop(signer.ss58_address, None)
                raise TransactionRejected(_rejection_message(label, str(result["error"])))
            return label, str(result["result"])
        raise TransactionRejected(_rejection_message(label, "the nonce kept changing"))

    def _wait_all(self, pending: list[tuple[str, str]], from_block: int,
                  deadline: float) -> list[Receipt]:
        """Follow new blocks (each read once, as raw bytes) until every hash is included."""
        wanted = {h for _, h in pending}
        where: dict[str, tuple[str, int, int]] = {}  # hash -> (block hash, number, index)
        seen = from_block
        while len(where) < len(wanted):
            head, _ = self.head()
            while seen < head:
                seen += 1
                block_hash = self.block_hash(seen)
                raw = self.substrate.rpc_request("chain_getBlock", [block_hash])["result"]
                for index, ext in enumerate(raw["block"]["extrinsics"]):
                    h = "0x" + blake2_256(bytes.fromhex(ext[2:])).hex()
                    if h in wanted:
                        where[h] = (block_hash, seen, index)
            if len(where) < len(wanted):
                if time.monotonic() > deadline:
                    label, h = next((lb, h) for lb, h in pending if h not in where)
                    # Presumed lost (e.g. with a restarted node's pool): the next transaction
                    # takes its nonce from the chain again.
                    self._next_nonce.clear()
                    raise InclusionTimeout(
                        f"{label}: not included within the deadline (transaction {h}); "
                        "the node may be stalled — check `decentralml devnet status`."
                    )
                time.sleep(0.05)
        events: dict[str, list[Event]] = {}
        receipts = []
        for label, h in pending:
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
            raise PalletError(str(pallet), str(name), str(docs), call=label)
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
        with self._lock:
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


def _plain(key: Any) -> Any:
    v = key.value if hasattr(key, "value") else key
    return v


def _rejection_message(label: str, raw: str) -> str:
    for needle, hint in _REJECTION_HINTS.items():
        if needle in raw:
            return f"{label}: the node refused the transaction ({raw}). What to do: {hint}"
    return f"{label}: the node refused the transaction ({raw})."
