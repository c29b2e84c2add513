"""Signed JSON manifests (PROTOCOL §4): canonical encoding, ed25519 signature, verification.

The signed bytes are ``b"<Bytes>" + canonical_json(manifest without "signature") + b"</Bytes>"``.
Canonical JSON is UTF-8, keys sorted, no whitespace, no NaN/Infinity. The ``<Bytes>`` wrapper
is the Polkadot convention for signing off-chain messages (polkadot.js ``signRaw`` adds it):
it can never parse as an extrinsic payload, so a manifest signature cannot be replayed as a
transaction, and wallets that follow the convention can sign manifests too.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from decentralml_client.canonical import canonical_json

from .account import Account, as_public_key, ss58_to_public_key, verify_signature
from .errors import BadSignature

SIGNATURE_FIELD = "signature"
SIGNER_FIELD = "signer"
_WRAP_PREFIX = b"<Bytes>"
_WRAP_SUFFIX = b"</Bytes>"


def signing_payload(document: Mapping[str, Any]) -> bytes:
    """The exact bytes a manifest's signature covers (its ``signature`` field left out)."""
    body = {k: v for k, v in document.items() if k != SIGNATURE_FIELD}
    return _WRAP_PREFIX + canonical_json(body) + _WRAP_SUFFIX


def sign_document(account: Account, document: Mapping[str, Any]) -> dict[str, Any]:
    """Return a copy of ``manifest`` with ``signer`` (SS58) and ``signature`` (0x-hex) added.

    Any existing ``signature`` is replaced; an existing ``signer`` must be this account.
    """
    body = {k: v for k, v in document.items() if k != SIGNATURE_FIELD}
    signer = body.get(SIGNER_FIELD)
    if signer is not None and signer != account.ss58_address:
        raise ValueError(
            f"manifest names signer {signer!r} but is being signed by {account.ss58_address}"
        )
    body[SIGNER_FIELD] = account.ss58_address
    signature = account.sign(signing_payload(body))
    return {**body, SIGNATURE_FIELD: "0x" + signature.hex()}


def verify_document(signed: Mapping[str, Any], expected_public_key: bytes | str) -> dict[str, Any]:
    """Check ``signed`` was signed by ``expected_public_key``; return it without the signature.

    ``expected_public_key`` is the 32-byte account id (or its hex / SS58 form), normally read
    from the chain. Raises :class:`BadSignature` naming the reason.
    """
    if not isinstance(signed, Mapping):
        raise BadSignature("a signed manifest must be a JSON object")
    expected = as_public_key(expected_public_key)
    sig_hex = signed.get(SIGNATURE_FIELD)
    if not isinstance(sig_hex, str):
        raise BadSignature("manifest is unsigned: it has no 'signature' field")
    try:
        signature = bytes.fromhex(sig_hex.removeprefix("0x"))
    except ValueError:
        raise BadSignature("manifest 'signature' is not hex") from None
    if len(signature) != 64:
        raise BadSignature(f"manifest 'signature' is {len(signature)} bytes, expected 64")
    signer = signed.get(SIGNER_FIELD)
    if not isinstance(signer, str):
        raise BadSignature("manifest has no 'signer' field")
    try:
        signer_key = ss58_to_public_key(signer)
    except ValueError:
        raise BadSignature(f"manifest 'signer' {signer!r} is not an SS58 address") from None
    if signer_key != expected:
        raise BadSignature(
            f"manifest is signed by {signer}, not by the expected account 0x{expected.hex()}"
        )
    try:
        payload = signing_payload(signed)
    except (TypeError, ValueError) as exc:
        raise BadSignature(f"manifest is not canonical JSON: {exc}") from None
    if not verify_signature(expected, payload, signature):
        raise BadSignature(
            f"manifest signature by {signer} does not verify: the manifest was altered "
            "after signing, or signed with another key"
        )
    return {k: v for k, v in signed.items() if k != SIGNATURE_FIELD}
