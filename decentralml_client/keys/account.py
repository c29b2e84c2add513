"""Ed25519 accounts: one key signs extrinsics (substrate-interface) and manifests (PyNaCl).

PROTOCOL §2: participants use ed25519 chain accounts, and an X25519 key derived from the same
ed25519 key receives private-mode updates (§4). An :class:`Account` holds the 32-byte ed25519
seed in memory only; its ``repr``/``str`` show the name and address, never the secret, and it
refuses to be pickled so a secret cannot leak into a cache, a journal or a log by accident.
"""

from __future__ import annotations

import hashlib
from functools import cached_property
from typing import Any

import nacl.bindings
import nacl.exceptions
import nacl.public
import nacl.signing
from substrateinterface import Keypair, KeypairType
from substrateinterface.utils.ss58 import ss58_decode, ss58_encode

#: SS58 prefix of the dev chain (the generic Substrate prefix).
SS58_FORMAT = 42

#: Well-known dev accounts (dev chain only): ed25519 keys of ``//Alice`` … from the dev phrase.
DEV_ACCOUNT_NAMES = ("alice", "bob", "charlie", "dave", "eve", "ferdie")

_DEV_PHRASE = "bottom drive obey lake curtain smoke basket hold race lonely fit walk"


class Account:
    """An ed25519 account: chain address, signing key and the derived X25519 key pair.

    Build one with :meth:`from_seed`, :func:`dev_account` or ``Keystore.load``.
    """

    def __init__(self, seed: bytes, *, name: str | None = None, is_dev: bool = False) -> None:
        if not isinstance(seed, (bytes, bytearray)) or len(seed) != 32:
            raise ValueError("an ed25519 seed is exactly 32 bytes")
        self._seed = bytes(seed)
        self._signing_key = nacl.signing.SigningKey(self._seed)
        self.name = name
        self.is_dev = is_dev

    @classmethod
    def from_seed(cls, seed: bytes, *, name: str | None = None) -> Account:
        """Return the account of a 32-byte ed25519 seed (the Substrate "mini secret")."""
        return cls(seed, name=name)

    # -- public identity -------------------------------------------------------------------
    @property
    def public_key(self) -> bytes:
        """The 32-byte ed25519 public key, which is also the chain ``AccountId``."""
        return bytes(self._signing_key.verify_key)

    @property
    def public_key_hex(self) -> str:
        """``public_key`` as ``0x``-prefixed hex."""
        return "0x" + self.public_key.hex()

    @property
    def ss58_address(self) -> str:
        """The SS58 address (prefix 42) of the account."""
        return str(ss58_encode(self.public_key, SS58_FORMAT))

    @cached_property
    def x25519_public(self) -> bytes:
        """The 32-byte X25519 public key registered on chain for private mode."""
        return nacl.bindings.crypto_sign_ed25519_pk_to_curve25519(self.public_key)

    @property
    def x25519_public_hex(self) -> str:
        """``x25519_public`` as ``0x``-prefixed hex."""
        return "0x" + self.x25519_public.hex()

    # -- secret use --------------------------------------------------------------------------
    def sign(self, message: bytes) -> bytes:
        """Return the 64-byte ed25519 signature of ``message``."""
        return self._signing_key.sign(bytes(message)).signature

    def verify(self, message: bytes, signature: bytes) -> bool:
        """Return whether ``signature`` is this account's signature of ``message``."""
        return verify_signature(self.public_key, message, signature)

    @property
    def keypair(self) -> Keypair:
        """A substrate-interface ``Keypair`` (ED25519, same key) to sign extrinsics."""
        kp = Keypair.create_from_seed(
            self._seed.hex(), ss58_format=SS58_FORMAT, crypto_type=KeypairType.ED25519
        )
        if kp.public_key != self.public_key:  # pragma: no cover - would be a library bug
            raise RuntimeError("substrate-interface derived another public key from the seed")
        return kp

    @property
    def x25519_private(self) -> nacl.public.PrivateKey:
        """Internal: the X25519 private key (for opening sealed envelopes). Never log it."""
        secret = nacl.bindings.crypto_sign_ed25519_sk_to_curve25519(self._seed + self.public_key)
        return nacl.public.PrivateKey(secret)

    def export_seed(self) -> bytes:
        """The raw seed, for the keystore to encrypt. Never log it."""
        return self._seed

    # -- hygiene -------------------------------------------------------------------------------
    def __repr__(self) -> str:
        label = f"{self.name!r}, " if self.name else ""
        dev = ", dev" if self.is_dev else ""
        return f"Account({label}{self.ss58_address}{dev})"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Account) and other.public_key == self.public_key

    def __hash__(self) -> int:
        return hash(self.public_key)

    def __reduce__(self) -> Any:
        raise TypeError(
            "Account holds a secret key and cannot be pickled; store it with Keystore instead"
        )


def verify_signature(public_key: bytes, message: bytes, signature: bytes) -> bool:
    """Whether ``signature`` is a valid ed25519 signature of ``message`` by ``public_key``."""
    try:
        nacl.signing.VerifyKey(bytes(public_key)).verify(bytes(message), bytes(signature))
    except (nacl.exceptions.BadSignatureError, nacl.exceptions.ValueError, ValueError, TypeError):
        return False
    return True


def ss58_to_public_key(address: str) -> bytes:
    """Decode an SS58 address to its 32-byte public key (``ValueError`` if malformed)."""
    try:
        decoded = ss58_decode(address)
    except Exception as exc:  # the library raises ValueError or IndexError
        raise ValueError(f"not an SS58 address: {address!r}") from exc
    key = bytes.fromhex(decoded.removeprefix("0x"))
    if len(key) != 32:
        raise ValueError(f"SS58 address {address!r} does not hold a 32-byte account id")
    return key


def as_public_key(key: bytes | str) -> bytes:
    """Accept a 32-byte key, its hex (``0x`` optional) or an SS58 address; return the bytes."""
    if isinstance(key, (bytes, bytearray)):
        if len(key) != 32:
            raise ValueError("a public key is exactly 32 bytes")
        return bytes(key)
    text = key.strip()
    hexpart = text.removeprefix("0x")
    if len(hexpart) == 64:
        try:
            return bytes.fromhex(hexpart)
        except ValueError:
            pass
    return ss58_to_public_key(text)


def _derive_hard_ed25519(seed: bytes, chain_code: bytes) -> bytes:
    """Substrate's ed25519 hard derivation: blake2-256(SCALE(("Ed25519HDKD", seed, cc)))."""
    tag = b"Ed25519HDKD"
    encoded = bytes([len(tag) << 2]) + tag + seed + chain_code
    return hashlib.blake2b(encoded, digest_size=32).digest()


def _junction_chain_code(junction: str) -> bytes:
    """The 32-byte chain code of a hard junction such as ``Alice`` (SCALE string, padded)."""
    from substrateinterface.key import extract_derive_path

    (parsed,) = extract_derive_path("//" + junction)
    return bytes(parsed.chain_code)


def mnemonic_to_seed(mnemonic: str) -> bytes:
    """Return the ed25519 seed Substrate derives from a BIP39 mnemonic (empty password)."""
    from bip39 import bip39_to_mini_secret  # bundled with substrate-interface

    from .errors import InvalidMnemonic

    words = " ".join(mnemonic.split())
    try:
        return bytes(bip39_to_mini_secret(words, "", "en"))
    except Exception:  # the message never repeats the phrase
        raise InvalidMnemonic("not a valid English BIP-39 mnemonic") from None


def generate_mnemonic(words: int = 12) -> str:
    """A new random English BIP-39 mnemonic of ``words`` words (12, 15, 18, 21 or 24): the
    recovery phrase of a key (:func:`mnemonic_to_seed` gives its ed25519 seed, the one
    ``subkey`` and polkadot.js derive)."""
    from bip39 import bip39_generate  # bundled with substrate-interface

    return str(bip39_generate(words, "en"))


def dev_account(name: str) -> Account:
    """Return a well-known dev account (``alice``, ``bob``, …): ed25519 ``//Alice`` etc.

    These keys are public knowledge: use them on the dev chain only. (substrate-interface
    1.8.1 has no ed25519 derivation paths, so the derivation is done here exactly as
    ``sp_core::ed25519`` does; the tests pin the well-known ``//Alice`` address.)
    """
    key = name.strip().lower()
    if key not in DEV_ACCOUNT_NAMES:
        raise ValueError(
            f"unknown dev account {name!r}; choose one of: {', '.join(DEV_ACCOUNT_NAMES)}"
        )
    seed = _derive_hard_ed25519(
        mnemonic_to_seed(_DEV_PHRASE), _junction_chain_code(key.capitalize())
    )
    return Account(seed, name=key, is_dev=True)
