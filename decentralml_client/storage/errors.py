"""Errors of the storage package: each message says what went wrong and what to do next."""

from __future__ import annotations


class StorageError(Exception):
    """Base class of every error raised by :mod:`decentralml_client.storage`."""


class StorageUnavailable(StorageError, ConnectionError):
    """The IPFS daemon could not be reached, even after retrying."""


class ContentNotFound(StorageError, LookupError):
    """The daemon answered but cannot provide the content (unknown CID, or offline)."""


class IntegrityError(StorageError, ValueError):
    """Fetched bytes do not match the expected blake2-256 hash: the content is refused."""
