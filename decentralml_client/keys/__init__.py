"""Keys and signatures (PROTOCOL §2, §4): encrypted keystore, ed25519 accounts usable for
extrinsics and manifests, manifest signing/verification, and private-mode sealing."""

from decentralml_client.canonical import canonical_json

from .account import (
    DEV_ACCOUNT_NAMES,
    SS58_FORMAT,
    Account,
    as_public_key,
    dev_account,
    generate_mnemonic,
    mnemonic_to_seed,
    ss58_to_public_key,
    verify_signature,
)
from .errors import (
    BadSignature,
    InvalidEnvelope,
    InvalidKeyFile,
    InvalidMnemonic,
    KeyExists,
    KeyNotFound,
    KeysError,
    NotARecipient,
    WrongPassword,
)
from .keystore import KdfLimits, KeyInfo, Keystore
from .sealing import envelope_recipients, is_sealed, open_sealed, seal_for_validators
from .signed import sign_document, signing_payload, verify_document

__all__ = [
    "DEV_ACCOUNT_NAMES",
    "SS58_FORMAT",
    "Account",
    "BadSignature",
    "InvalidEnvelope",
    "InvalidKeyFile",
    "InvalidMnemonic",
    "KdfLimits",
    "KeyExists",
    "KeyInfo",
    "KeyNotFound",
    "KeysError",
    "Keystore",
    "NotARecipient",
    "WrongPassword",
    "as_public_key",
    "canonical_json",
    "dev_account",
    "envelope_recipients",
    "generate_mnemonic",
    "is_sealed",
    "mnemonic_to_seed",
    "open_sealed",
    "seal_for_validators",
    "sign_document",
    "signing_payload",
    "ss58_to_public_key",
    "verify_document",
    "verify_signature",
]
