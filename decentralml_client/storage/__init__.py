"""IPFS storage: add + pin, hash-verified fetch, retries, local content cache (PROTOCOL §4).

Only :mod:`decentralml_client.storage._ipfs_http` imports the IPFS client library.
"""

from .errors import ContentNotFound, IntegrityError, StorageError, StorageUnavailable
from .ipfs import IpfsStore, api_to_multiaddr

__all__ = [
    "ContentNotFound",
    "IntegrityError",
    "IpfsStore",
    "StorageError",
    "StorageUnavailable",
    "api_to_multiaddr",
]
