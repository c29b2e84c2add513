"""A node's transaction pool and blocks, as substrate-interface shows them to
:class:`~decentralml_client.chain.Chain` (no node needed).

Signing is deterministic (as with ed25519 keys: the same call and nonce give the same
bytes). Blocks are made only when the test says so (``produce``), or, with ``auto``, at each
look at the head while transactions wait (``resume_on_submit``: from the next submission
on). The pool answers like Substrate's: the same bytes again are "Transaction Already
Imported" (1013), an included nonce is stale (1010), another transaction with a nonce the pool
holds is "Priority is too low" (1014); ``system_accountNextIndex`` counts the pool.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from substrateinterface.exceptions import SubstrateRequestException

from decentralml_client.hashing import blake2_256


@dataclass
class _Ext:
    data: str


def ext_hash(data: str) -> str:
    return "0x" + blake2_256(bytes.fromhex(data[2:])).hex()


@dataclass
class FakeSubstrate:
    auto: bool = False
    blocks: list[list[str]] = field(default_factory=lambda: [[]])  # block 0: genesis
    pool: list[str] = field(default_factory=list)
    submitted: list[str] = field(default_factory=list)  # every author_submitExtrinsic
    answers: list[str] = field(default_factory=list)  # what the pool answered each
    answer_next: str | None = None  # force the next answer (e.g. "1014")
    resume_on_submit: bool = False  # blocks come again (``auto``) after the next submission

    # -- signing ----------------------------------------------------------------------------
    def compose_call(self, pallet: str, call: str, params: dict[str, Any]) -> Any:
        return (pallet, call, json.dumps(params, sort_keys=True))

    def create_signed_extrinsic(self, call: Any, keypair: Any, nonce: int) -> _Ext:
        body = json.dumps([keypair.ss58_address, nonce, *call]).encode()
        return _Ext("0x" + body.hex())

    @staticmethod
    def _sender_nonce(data: str) -> tuple[str, int]:
        who, nonce, *_ = json.loads(bytes.fromhex(data[2:]))
        return who, int(nonce)

    def get_account_nonce(self, address: str) -> int:
        return sum(1 for b in self.blocks for x in b if self._sender_nonce(x)[0] == address)

    # -- blocks ------------------------------------------------------------------------------
    def produce(self) -> int:
        self.blocks.append(list(self.pool))
        self.pool.clear()
        return len(self.blocks) - 1

    def get_chain_head(self) -> str:
        if self.auto and self.pool:
            self.produce()
        return self.get_block_hash(len(self.blocks) - 1)

    def get_block_hash(self, number: int) -> str:
        return f"0x{number:064x}"

    def get_block_number(self, block_hash: str) -> int:
        return int(block_hash, 16)

    def get_events(self, block_hash: str) -> list[dict[str, Any]]:
        n = len(self.blocks[int(block_hash, 16)])
        return [{"event": {"module_id": "System", "event_id": "ExtrinsicSuccess",
                           "attributes": {}}, "extrinsic_idx": i} for i in range(n)]

    def included(self, data: str) -> int:
        """How many blocks include ``data``."""
        return sum(b.count(data) for b in self.blocks)

    # -- RPC ---------------------------------------------------------------------------------
    def rpc_request(self, method: str, params: list[Any]) -> dict[str, Any]:
        if method == "chain_getBlock":
            return {"result": {"block": {"extrinsics": self.blocks[int(params[0], 16)]}}}
        if method == "author_pendingExtrinsics":
            return {"result": list(self.pool)}
        if method == "author_submitExtrinsic":
            return self._submit(params[0])
        if method == "system_accountNextIndex":
            pending = [n for who, n in map(self._sender_nonce, self.pool) if who == params[0]]
            return {"result": max([self.get_account_nonce(params[0]) - 1, *pending]) + 1}
        raise AssertionError(f"unexpected RPC {method}")

    def _refuse(self, code: int, message: str, data: str = "") -> None:
        self.answers.append(str(code))
        raise SubstrateRequestException({"code": code, "message": message, "data": data})

    def _submit(self, data: str) -> dict[str, Any]:
        try:
            return self._pool_answer(data)
        finally:
            self.auto = self.auto or self.resume_on_submit

    def _pool_answer(self, data: str) -> dict[str, Any]:
        self.submitted.append(data)
        forced, self.answer_next = self.answer_next, None
        if forced == "1014":
            self._refuse(1014, "Priority is too low: (0 vs 0)",
                         "The transaction couldn't enter the pool because of the limit")
        if data in self.pool:
            self._refuse(1013, "Transaction Already Imported")
        who, nonce = self._sender_nonce(data)
        if nonce < self.get_account_nonce(who):
            self._refuse(1010, "Invalid Transaction", "Transaction is outdated")
        if (who, nonce) in map(self._sender_nonce, self.pool):  # other bytes, same nonce
            self._refuse(1014, "Priority is too low: (0 vs 0)",
                         "The transaction has too low priority to replace another transaction "
                         "already in the pool.")
        self.pool.append(data)
        self.answers.append("ok")
        return {"result": ext_hash(data)}
