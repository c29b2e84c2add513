"""The dashboard's thin adapter over the chain client: everything chain-specific it needs.

The dashboard reads the pallet through :mod:`decentralml_client.chain`'s public API. The few
things that API does not offer yet live here, in one place, so the rest of the dashboard
never touches substrate-interface (see ``/work/notes/dashboard-needs.md``):

* whether an exception means "the node is gone" (:data:`CONNECTION_ERRORS`);
* whether a storage item exists on the connected runtime (v2 items on a v1 chain);
* SS58 address validation; a block's hash by number.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from substrateinterface.exceptions import (
    StorageFunctionNotFound,
    SubstrateRequestException,
)
from substrateinterface.utils.ss58 import ss58_decode
from websocket import WebSocketException

from decentralml_client.chain import Chain, ChainError, ChainUnreachable

T = TypeVar("T")

PALLET = "DecentralMl"

# Errors that mean "the node is gone or unusable", as opposed to a bug in our own code.
CONNECTION_ERRORS: tuple[type[BaseException], ...] = (
    OSError, WebSocketException, ChainError, SubstrateRequestException, TimeoutError,
)

ChainFactory = Callable[[str], Chain]


def default_factory(url: str) -> Chain:
    """A connection checked against ``pallet-abi/`` with a short timeout."""
    return Chain(url, check_abi=True, timeout=5.0)


def describe_failure(exc: BaseException, url: str) -> str:
    """One sentence for people: what failed and that the dashboard retries by itself."""
    if isinstance(exc, ChainUnreachable):
        return str(exc)
    text = str(exc) or exc.__class__.__name__
    return (f"the DecentralML node at {url} does not answer ({exc.__class__.__name__}: {text}); "
            "the dashboard retries by itself.")


def is_ss58_address(address: str) -> bool:
    try:
        ss58_decode(address)
    except Exception:  # ss58_decode raises bare ValueErrors and others
        return False
    return True


def if_present(read: Callable[[], T], default: T) -> T:
    """``read()``, or ``default`` when the runtime lacks the storage item it reads.

    Protocol v2 items (``VoteCommits``, ``Electorate``) do not exist on a v1 runtime.
    """
    try:
        return read()
    except StorageFunctionNotFound:
        return default


def block_hash(chain: Chain, number: int) -> str:
    """The hash of block ``number``.

    Not ``System.BlockHash``: it holds zeros for the head block, and asking Chopsticks for
    events at 0x00… corrupts its state (other clients' transactions then fail with badProof).
    """
    return str(chain.substrate.get_block_hash(number))
