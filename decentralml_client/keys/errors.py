"""Errors of the keys package: each message says what went wrong and what to do next."""

from __future__ import annotations


class KeysError(Exception):
    """Base class of every error raised by :mod:`decentralml_client.keys`."""


class KeyNotFound(KeysError, LookupError):
    """No key of that name in the keystore."""


class KeyExists(KeysError, FileExistsError):
    """A key of that name already exists; keys are never overwritten silently."""


class WrongPassword(KeysError):
    """The password does not decrypt the key file (or the file's ciphertext was altered)."""


class InvalidKeyFile(KeysError, ValueError):
    """A key file is malformed, of an unknown version, or inconsistent with its own secret."""


class BadSignature(KeysError, ValueError):
    """A signed manifest's signature is missing, malformed, from the wrong signer or invalid."""


class NotARecipient(KeysError):
    """A sealed envelope holds no key for this account's X25519 key."""


class InvalidEnvelope(KeysError, ValueError):
    """A sealed envelope is malformed or its ciphertext does not decrypt."""
