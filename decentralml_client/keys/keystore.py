"""Encrypted on-disk keystore: one JSON file per key, readable by its owner only.

Each file holds the account's public identity in clear (so ``list`` needs no password) and
its 32-byte ed25519 seed encrypted with PyNaCl ``SecretBox`` (XSalsa20-Poly1305) under a key
derived from the password by argon2id (``nacl.pwhash.argon2id.kdf``) with a random salt.
The argon2id limits are stored in the file, so a key is always opened with the limits it was
written with. Format (version 1)::

    {"version": 1, "name": "...", "crypto": "ed25519",
     "ss58_address": "5...", "public_key": "0x..", "x25519_public": "0x..",
     "kdf": {"name": "argon2id", "salt": "0x..", "opslimit": 3, "memlimit": 268435456},
     "cipher": {"name": "xsalsa20poly1305", "ciphertext": "0x<24-byte nonce + box>"}}

On load the decrypted seed must give back the stored public key, so a file whose clear fields
were edited is refused (``InvalidKeyFile``) instead of silently signing as someone else.
"""

from __future__ import annotations

import json
import logging
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nacl.exceptions
import nacl.pwhash
import nacl.secret
import nacl.utils

from .account import Account, generate_mnemonic, mnemonic_to_seed
from .errors import InvalidKeyFile, KeyExists, KeyNotFound, WrongPassword

log = logging.getLogger(__name__)

FILE_VERSION = 1
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_argon2id = nacl.pwhash.argon2id


@dataclass(frozen=True)
class KdfLimits:
    """argon2id cost parameters (``opslimit`` passes, ``memlimit`` bytes)."""

    opslimit: int
    memlimit: int

    @classmethod
    def moderate(cls) -> KdfLimits:
        """The default: libsodium's MODERATE (about 256 MiB, ~1 s on a laptop)."""
        return cls(_argon2id.OPSLIMIT_MODERATE, _argon2id.MEMLIMIT_MODERATE)

    @classmethod
    def interactive(cls) -> KdfLimits:
        """libsodium's INTERACTIVE (64 MiB): for machines short of memory."""
        return cls(_argon2id.OPSLIMIT_INTERACTIVE, _argon2id.MEMLIMIT_INTERACTIVE)

    @classmethod
    def minimum(cls) -> KdfLimits:
        """The smallest limits libsodium accepts: for tests only, never for real keys."""
        return cls(_argon2id.OPSLIMIT_MIN, _argon2id.MEMLIMIT_MIN)

    def check(self) -> None:
        """Raise ``ValueError`` unless both limits are within libsodium's accepted range."""
        if not _argon2id.OPSLIMIT_MIN <= self.opslimit <= _argon2id.OPSLIMIT_MAX:
            raise ValueError(f"argon2id opslimit {self.opslimit} out of range")
        # The upper bound also protects `load` from a file that asks for absurd memory.
        if not _argon2id.MEMLIMIT_MIN <= self.memlimit <= _argon2id.MEMLIMIT_SENSITIVE:
            raise ValueError(f"argon2id memlimit {self.memlimit} out of range")


@dataclass(frozen=True)
class KeyInfo:
    """The public identity of a stored key (safe to print, share and register on chain)."""

    name: str
    ss58_address: str
    public_key_hex: str
    x25519_public_hex: str

    @property
    def public_key(self) -> bytes:
        """The 32-byte ed25519 public key (the chain account id)."""
        return bytes.fromhex(self.public_key_hex.removeprefix("0x"))

    @property
    def x25519_public(self) -> bytes:
        """The 32-byte X25519 key to register for private mode."""
        return bytes.fromhex(self.x25519_public_hex.removeprefix("0x"))

    def as_dict(self) -> dict[str, str]:
        """The fields as a JSON-ready dict."""
        return {
            "name": self.name,
            "ss58_address": self.ss58_address,
            "public_key_hex": self.public_key_hex,
            "x25519_public_hex": self.x25519_public_hex,
        }


def _password_bytes(password: str | bytes) -> bytes:
    if isinstance(password, str):
        password = password.encode("utf-8")
    if not isinstance(password, bytes) or not password:
        raise ValueError("a non-empty password is required")
    return password


def _hex(data: bytes) -> str:
    return "0x" + data.hex()


def _unhex(text: Any, what: str, path: Path) -> bytes:
    if not isinstance(text, str):
        raise InvalidKeyFile(f"{path}: field {what!r} is missing or not a hex string")
    try:
        return bytes.fromhex(text.removeprefix("0x"))
    except ValueError as exc:
        raise InvalidKeyFile(f"{path}: field {what!r} is not valid hex") from exc


class Keystore:
    """A directory of encrypted key files (created with mode 0700; files are 0600).

    ``kdf_limits`` applies to keys created or imported from now on; loading always uses the
    limits stored in the file.
    """

    def __init__(self, path: str | os.PathLike[str], *,
                 kdf_limits: KdfLimits | None = None) -> None:
        self.path = Path(path).expanduser()
        self.kdf_limits = kdf_limits or KdfLimits.moderate()
        self.kdf_limits.check()

    def __repr__(self) -> str:
        return f"Keystore({str(self.path)!r})"

    # -- public API ------------------------------------------------------------------------
    def create(self, name: str, password: str | bytes, *, seed: bytes | None = None) -> KeyInfo:
        """Create and store a new ed25519 key (random, or from a given 32-byte ``seed``)."""
        if seed is None:
            seed = nacl.utils.random(32)
        account = Account(seed, name=name)
        return self._store(name, account, password)

    def create_with_mnemonic(self, name: str, password: str | bytes, *, words: int = 12
                             ) -> tuple[KeyInfo, str]:
        """Create and store a new ed25519 key from a fresh BIP-39 recovery phrase; returns the
        key and the phrase (shown to the user once, stored nowhere: the key file holds only
        the encrypted seed). :meth:`import_seed` restores the same key from the phrase."""
        phrase = generate_mnemonic(words)
        return self._store(name, Account(mnemonic_to_seed(phrase), name=name), password), phrase

    def import_seed(self, name: str, secret: str | bytes, password: str | bytes) -> KeyInfo:
        """Store an existing key given as a 32-byte seed, its hex, or a BIP39 mnemonic.

        A mnemonic gives the same account as ``subkey``/polkadot.js with the ed25519 scheme.
        """
        if isinstance(secret, (bytes, bytearray)):
            seed = bytes(secret)
        else:
            text = secret.strip()
            hexpart = text.removeprefix("0x")
            if re.fullmatch(r"[0-9a-fA-F]{64}", hexpart):
                seed = bytes.fromhex(hexpart)
            elif len(text.split()) >= 12:
                seed = mnemonic_to_seed(text)
            else:
                raise ValueError(
                    "expected a 32-byte seed as 64 hex digits (0x optional) or a 12-24 word "
                    "BIP39 mnemonic"
                )
        return self._store(name, Account(seed, name=name), password)

    def load(self, name: str, password: str | bytes) -> Account:
        """Decrypt and return the account ``name`` (``WrongPassword`` if it does not open)."""
        path = self._file(name)
        doc = self._read(path)
        kdf = doc.get("kdf")
        cipher = doc.get("cipher")
        if not isinstance(kdf, dict) or kdf.get("name") != "argon2id":
            raise InvalidKeyFile(f"{path}: unsupported or missing 'kdf' (expected argon2id)")
        if not isinstance(cipher, dict) or cipher.get("name") != "xsalsa20poly1305":
            raise InvalidKeyFile(f"{path}: unsupported or missing 'cipher'")
        try:
            limits = KdfLimits(int(kdf["opslimit"]), int(kdf["memlimit"]))
            limits.check()
        except (KeyError, TypeError, ValueError) as exc:
            raise InvalidKeyFile(f"{path}: bad argon2id limits: {exc}") from exc
        salt = _unhex(kdf.get("salt"), "kdf.salt", path)
        if len(salt) != _argon2id.SALTBYTES:
            raise InvalidKeyFile(f"{path}: argon2id salt must be {_argon2id.SALTBYTES} bytes")
        box_key = _argon2id.kdf(
            nacl.secret.SecretBox.KEY_SIZE,
            _password_bytes(password),
            salt,
            opslimit=limits.opslimit,
            memlimit=limits.memlimit,
        )
        ciphertext = _unhex(cipher.get("ciphertext"), "cipher.ciphertext", path)
        try:
            seed = nacl.secret.SecretBox(box_key).decrypt(ciphertext)
        except nacl.exceptions.CryptoError:
            raise WrongPassword(
                f"wrong password for key {name!r} ({path}): the key file did not decrypt. "
                "Check the password (and keyboard layout); the file itself is unchanged."
            ) from None
        if len(seed) != 32:
            raise InvalidKeyFile(f"{path}: decrypted secret is not a 32-byte ed25519 seed")
        account = Account(seed, name=name)
        if account.public_key_hex != doc.get("public_key"):
            raise InvalidKeyFile(
                f"{path}: the stored public key does not match the encrypted secret; the "
                "file was edited or corrupted. Restore it from a backup."
            )
        log.debug("loaded key %r (%s)", name, account.ss58_address)
        return account

    def list(self) -> list[KeyInfo]:
        """The public identity of every key in the store, sorted by name."""
        if not self.path.is_dir():
            return []
        infos = []
        for path in sorted(self.path.glob("*.json")):
            if _NAME_RE.match(path.stem):
                infos.append(self._info(path.stem, self._read(path)))
        return infos

    def export_public(self, name: str) -> KeyInfo:
        """The public identity of key ``name`` (no password needed)."""
        return self._info(name, self._read(self._file(name)))

    def exists(self, name: str) -> bool:
        """Whether a key named ``name`` is stored."""
        return self._file(name).exists()

    # -- internals ----------------------------------------------------------------------------
    def _file(self, name: str) -> Path:
        if not isinstance(name, str) or not _NAME_RE.match(name):
            raise ValueError(
                f"invalid key name {name!r}: use 1-64 letters, digits, '.', '_' or '-', "
                "starting with a letter or digit"
            )
        return self.path / f"{name}.json"

    def _read(self, path: Path) -> dict[str, Any]:
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            raise KeyNotFound(
                f"no key named {path.stem!r} in keystore {self.path}; "
                "create one with Keystore.create or list them with Keystore.list"
            ) from None
        try:
            doc = json.loads(raw)
        except ValueError as exc:
            raise InvalidKeyFile(f"{path}: not valid JSON ({exc})") from exc
        version = doc.get("version") if isinstance(doc, dict) else None
        if not isinstance(doc, dict) or version != FILE_VERSION:
            raise InvalidKeyFile(
                f"{path}: unknown key file version {version!r} "
                f"(this client reads version {FILE_VERSION})"
            )
        return doc

    def _info(self, name: str, doc: dict[str, Any]) -> KeyInfo:
        try:
            return KeyInfo(
                name=name,
                ss58_address=str(doc["ss58_address"]),
                public_key_hex=str(doc["public_key"]),
                x25519_public_hex=str(doc["x25519_public"]),
            )
        except KeyError as exc:
            raise InvalidKeyFile(f"key file {name!r} lacks field {exc}") from None

    def _store(self, name: str, account: Account, password: str | bytes) -> KeyInfo:
        path = self._file(name)
        pw = _password_bytes(password)
        if path.exists():
            raise KeyExists(
                f"a key named {name!r} already exists in {self.path}; choose another name "
                "(keys are never overwritten)"
            )
        limits = self.kdf_limits
        salt = nacl.utils.random(_argon2id.SALTBYTES)
        box_key = _argon2id.kdf(
            nacl.secret.SecretBox.KEY_SIZE,
            pw,
            salt,
            opslimit=limits.opslimit,
            memlimit=limits.memlimit,
        )
        ciphertext = bytes(nacl.secret.SecretBox(box_key).encrypt(account.export_seed()))
        doc = {
            "version": FILE_VERSION,
            "name": name,
            "crypto": "ed25519",
            "ss58_address": account.ss58_address,
            "public_key": account.public_key_hex,
            "x25519_public": account.x25519_public_hex,
            "kdf": {
                "name": "argon2id",
                "salt": _hex(salt),
                "opslimit": limits.opslimit,
                "memlimit": limits.memlimit,
            },
            "cipher": {"name": "xsalsa20poly1305", "ciphertext": _hex(ciphertext)},
        }
        self.path.mkdir(mode=0o700, parents=True, exist_ok=True)
        data = (json.dumps(doc, indent=2, sort_keys=True) + "\n").encode()
        fd, tmp = tempfile.mkstemp(dir=self.path, prefix=f".{name}.", suffix=".tmp")
        try:
            os.fchmod(fd, 0o600)
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            # link() fails if the name appeared meanwhile: never overwrite a key.
            try:
                os.link(tmp, path)
            except FileExistsError:
                raise KeyExists(f"a key named {name!r} already exists in {self.path}") from None
        finally:
            os.unlink(tmp)
        log.info("stored key %r (%s) in %s", name, account.ss58_address, self.path)
        return self._info(name, doc)
