"""Manifest signing: canonical bytes, verification, tampering, wrong signer."""

from __future__ import annotations

import pytest

from decentralml_client.keys import (
    BadSignature,
    canonical_json,
    dev_account,
    sign_document,
    signing_payload,
    verify_document,
)

MANIFEST = {
    "task": 7,
    "round": 2,
    "base_model_hash": "0x" + "ab" * 32,
    "update_hash": "0x" + "cd" * 32,
    "num_examples": 120,
    "metrics": {"loss": 0.25, "accuracy": 0.9},
}


def test_canonical_json_is_sorted_and_compact():
    assert canonical_json({"b": 1, "a": [1, {"d": "é", "c": None}]}) == (
        '{"a":[1,{"c":null,"d":"é"}],"b":1}'.encode()
    )
    with pytest.raises(ValueError):
        canonical_json({"x": float("nan")})


def test_sign_then_verify():
    alice = dev_account("alice")
    signed = sign_document(alice, MANIFEST)
    assert signed["signer"] == alice.ss58_address
    assert signed["signature"].startswith("0x") and len(signed["signature"]) == 2 + 128
    body = verify_document(signed, alice.public_key)
    assert "signature" not in body
    assert body == {**MANIFEST, "signer": alice.ss58_address}
    assert MANIFEST.get("signer") is None  # input not mutated


def test_key_order_does_not_matter():
    alice = dev_account("alice")
    signed = sign_document(alice, MANIFEST)
    reordered = dict(reversed(list(signed.items())))
    verify_document(reordered, alice.ss58_address)


def test_signature_is_over_wrapped_canonical_bytes():
    alice = dev_account("alice")
    signed = sign_document(alice, MANIFEST)
    payload = signing_payload(signed)
    assert payload.startswith(b"<Bytes>{") and payload.endswith(b"}</Bytes>")
    assert alice.keypair.verify(payload, bytes.fromhex(signed["signature"][2:]))


@pytest.mark.parametrize(
    "field,value", [("num_examples", 121), ("update_hash", "0x" + "00" * 32), ("extra", 1)]
)
def test_tampered_manifest_is_refused(field, value):
    alice = dev_account("alice")
    signed = sign_document(alice, MANIFEST)
    signed[field] = value
    with pytest.raises(BadSignature, match="does not verify"):
        verify_document(signed, alice.public_key)


def test_wrong_signer_unsigned_and_malformed_refused():
    alice, bob = dev_account("alice"), dev_account("bob")
    signed = sign_document(alice, MANIFEST)
    with pytest.raises(BadSignature, match="not by the expected account"):
        verify_document(signed, bob.public_key)
    # Bob re-labels Alice's signature as his own: refused.
    with pytest.raises(BadSignature):
        verify_document({**signed, "signer": bob.ss58_address}, bob.public_key)
    with pytest.raises(BadSignature, match="unsigned"):
        verify_document(MANIFEST, alice.public_key)
    with pytest.raises(BadSignature, match="not hex"):
        verify_document({**signed, "signature": "zz"}, alice.public_key)
    with pytest.raises(BadSignature, match="64"):
        verify_document({**signed, "signature": "0x00"}, alice.public_key)
    with pytest.raises(BadSignature):
        verify_document({**signed, "signer": "nonsense"}, alice.public_key)
    with pytest.raises(ValueError, match="names signer"):
        sign_document(alice, {**MANIFEST, "signer": bob.ss58_address})


def test_resigning_replaces_signature():
    alice = dev_account("alice")
    once = sign_document(alice, MANIFEST)
    twice = sign_document(alice, once)
    assert once == twice  # ed25519 is deterministic
