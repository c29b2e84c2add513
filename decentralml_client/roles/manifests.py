"""The signed update manifest a contributor publishes beside its update (its hash goes on
chain), and its verification by everyone who loads the update."""

from __future__ import annotations

import json
from typing import Any

from decentralml_client.canonical import canonical_json
from decentralml_client.keys import Account, sign_document, verify_document
from decentralml_client.keys.account import ss58_to_public_key
from decentralml_client.ml.codec import file_hash

UPDATE_MANIFEST_VERSION = 1


def build_update_manifest(account: Account, *, task_id: int, round_: int, base_model_hash: str,
                          update_cid: str, update_bytes: bytes, num_examples: int,
                          metrics: dict[str, float], sealed: bool) -> bytes:
    """The signed update manifest (canonical JSON). Its hash is what goes on chain."""
    body = {
        "version": UPDATE_MANIFEST_VERSION,
        "task": task_id,
        "round": round_,
        "base_model_hash": base_model_hash,
        "update_cid": update_cid,
        "update_hash": file_hash(update_bytes),
        "num_examples": int(num_examples),
        "metrics": {k: round(float(v), 6) for k, v in sorted(metrics.items())},
        "sealed": sealed,
    }
    signed = sign_document(account, body)
    return canonical_json(signed, ensure_ascii=True)


def read_update_manifest(data: bytes, contributor: str) -> dict[str, Any]:
    """Parse and verify a signed update manifest against the contributor's account id.

    With ed25519 accounts the 32-byte account id is the public key itself.
    """
    signed = json.loads(data.decode("utf-8"))
    if not isinstance(signed, dict):
        raise ValueError("update manifest is not a JSON object")
    return verify_document(signed, ss58_to_public_key(contributor))
