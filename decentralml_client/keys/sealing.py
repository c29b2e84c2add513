"""Private mode (PROTOCOL §4): an update encrypted once, its key sealed to each validator.

Envelope format, version 1 (all integers big-endian)::

    b"DMLSEAL1"                  8-byte magic
    header_len                   4 bytes, length of the header
    header                       canonical JSON (sorted keys, no whitespace):
        {"v": 1, "cipher": "xsalsa20poly1305", "seal": "x25519-sealedbox",
         "recipients": [{"x25519": "0x<32-byte key>", "key": "0x<sealed 32-byte key>"}, ...]}
    body                         SecretBox(data) = 24-byte nonce + ciphertext + 16-byte tag

The data key is fresh (random) for every envelope. Recipients keep the order given (duplicates
dropped). The envelope's bytes are what is stored on IPFS and hashed on chain, so the header
is covered by the same blake2-256 integrity check as the ciphertext.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Iterable
from typing import Any

import nacl.exceptions
import nacl.public
import nacl.secret
import nacl.utils

from decentralml_client.canonical import canonical_json

from .account import Account
from .errors import InvalidEnvelope, NotARecipient

MAGIC = b"DMLSEAL1"
MAX_RECIPIENTS = 1024
_MAX_HEADER = 1 << 20


def is_sealed(data: bytes) -> bool:
    """Whether ``data`` starts like a sealed envelope."""
    return data[: len(MAGIC)] == MAGIC


def seal_for_validators(data: bytes, validator_x25519_keys: Iterable[bytes]) -> bytes:
    """Encrypt ``data`` so that only holders of the given X25519 keys can open it."""
    recipients: list[bytes] = []
    for key in validator_x25519_keys:
        key = bytes(key)
        if len(key) != 32:
            raise ValueError("an X25519 public key is exactly 32 bytes")
        if key not in recipients:
            recipients.append(key)
    if not recipients:
        raise ValueError("at least one validator X25519 key is needed to seal an update")
    if len(recipients) > MAX_RECIPIENTS:
        raise ValueError(f"at most {MAX_RECIPIENTS} recipients")
    data_key = nacl.utils.random(nacl.secret.SecretBox.KEY_SIZE)
    body = bytes(nacl.secret.SecretBox(data_key).encrypt(bytes(data)))
    header = canonical_json(
        {
            "v": 1,
            "cipher": "xsalsa20poly1305",
            "seal": "x25519-sealedbox",
            "recipients": [
                {
                    "x25519": "0x" + key.hex(),
                    "key": "0x"
                    + nacl.public.SealedBox(nacl.public.PublicKey(key)).encrypt(data_key).hex(),
                }
                for key in recipients
            ],
        }
    )
    return MAGIC + struct.pack(">I", len(header)) + header + body


def envelope_recipients(envelope: bytes) -> list[bytes]:
    """The X25519 keys an envelope is sealed to."""
    header, _ = _parse(envelope)
    return [bytes.fromhex(r["x25519"].removeprefix("0x")) for r in header["recipients"]]


def open_sealed(envelope: bytes, account: Account) -> bytes:
    """Decrypt an envelope with ``account``'s X25519 key (``NotARecipient`` if not sealed to it)."""
    header, body = _parse(envelope)
    mine = "0x" + account.x25519_public.hex()
    entry = next((r for r in header["recipients"] if r["x25519"].lower() == mine), None)
    if entry is None:
        raise NotARecipient(
            f"this envelope is not sealed to {account.ss58_address} (X25519 {mine}); only the "
            "task's validators and aggregators can open a private-mode update"
        )
    try:
        sealed_key = bytes.fromhex(entry["key"].removeprefix("0x"))
        data_key = nacl.public.SealedBox(account.x25519_private).decrypt(sealed_key)
        return nacl.secret.SecretBox(data_key).decrypt(body)
    except (ValueError, nacl.exceptions.CryptoError) as exc:
        raise InvalidEnvelope(
            "sealed envelope does not decrypt: its key or ciphertext was altered"
        ) from exc


def _parse(envelope: bytes) -> tuple[dict[str, Any], bytes]:
    envelope = bytes(envelope)
    if not is_sealed(envelope) or len(envelope) < len(MAGIC) + 4:
        raise InvalidEnvelope("not a DecentralML sealed envelope (bad magic)")
    (hlen,) = struct.unpack(">I", envelope[len(MAGIC) : len(MAGIC) + 4])
    start = len(MAGIC) + 4
    if hlen > _MAX_HEADER or start + hlen > len(envelope):
        raise InvalidEnvelope("sealed envelope header length is out of range")
    try:
        header = json.loads(envelope[start : start + hlen])
        ok = (
            header.get("v") == 1
            and header.get("cipher") == "xsalsa20poly1305"
            and header.get("seal") == "x25519-sealedbox"
            and isinstance(header.get("recipients"), list)
            and all(
                isinstance(r, dict)
                and isinstance(r.get("x25519"), str)
                and isinstance(r.get("key"), str)
                for r in header["recipients"]
            )
        )
    except (ValueError, AttributeError):
        ok = False
    if not ok:
        raise InvalidEnvelope("sealed envelope header is malformed or of an unknown version")
    return header, envelope[start + hlen :]
