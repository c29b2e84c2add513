"""Errors of the keys package: each message says what went wrong and what to do next."""

from __future__ import annotations

from decentralml_client.errors import DecentralMLError


class KeysError(DecentralMLError):
    """Base class of every error raised by :mod:`decentralml_client.keys`."""

    hint = "see `decentralml keys --help`."


class KeyNotFound(KeysError, LookupError):
    """No key of that name in the keystore."""

    hint = ("list the keys with `decentralml keys list`, "
            "or create one with `decentralml keys new NAME`.")


class KeyExists(KeysError, FileExistsError):
    """A key of that name already exists; keys are never overwritten silently."""

    hint = "choose another name; keys are never overwritten."


class WrongPassword(KeysError):
    """The password does not decrypt the key file (or the file's ciphertext was altered)."""

    hint = "retype the password, or check --password-file / DML_PASSWORD."


class InvalidKeyFile(KeysError, ValueError):
    """A key file is malformed, of an unknown version, or inconsistent with its own secret."""

    hint = "restore the key file from a backup, or re-import the key."


class BadSignature(KeysError, ValueError):
    """A signed manifest's signature is missing, malformed, from the wrong signer or invalid."""

    hint = "fetch the file again from its publisher; do not use it as it is."


class NotARecipient(KeysError):
    """A sealed envelope holds no key for this account's X25519 key."""

    hint = "ask the sender to seal the content to this account's key."


class InvalidEnvelope(KeysError, ValueError):
    """A sealed envelope is malformed or its ciphertext does not decrypt."""

    hint = "fetch the envelope again; do not use it as it is."


class InvalidMnemonic(KeysError, ValueError):
    """The recovery phrase is not a valid English BIP-39 mnemonic (a word or its checksum)."""

    hint = ("type the 12 to 24 words exactly as `decentralml keys new` showed them, "
            "separated by spaces.")
