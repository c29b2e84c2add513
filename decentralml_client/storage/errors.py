"""Errors of the storage package: each message says what went wrong and what to do next."""

from __future__ import annotations

from decentralml_client.errors import DecentralMLError


class StorageError(DecentralMLError):
    """Base class of every error raised by :mod:`decentralml_client.storage`."""

    hint = "check the IPFS daemon (--ipfs / DML_IPFS_API)."


class StorageUnavailable(StorageError, ConnectionError):
    """The IPFS daemon could not be reached, even after retrying: an outage on this side,
    which says nothing about the content (compare :class:`ContentNotFound`)."""

    hint = "start IPFS with `decentralml devnet up`, or set --ipfs / DML_IPFS_API."


class ContentNotFound(StorageError, LookupError):
    """The daemon answered but cannot provide the content (unknown CID, offline, or no
    reachable peer served it within the fetch timeout): the content is withheld or lost."""

    hint = "check the CID; the content must be pinned on a reachable IPFS node."


class IntegrityError(StorageError, ValueError):
    """Fetched bytes do not match the expected blake2-256 hash: the content is refused."""

    hint = ("the content was altered or is the wrong file: do not use it; "
            "fetch it from another source.")
