"""The chain API: a connection (:class:`Chain`) and the pallet's typed calls and reads."""

from decentralml_client.chain.api import (
    UNIT,
    DecentralMl,
    Role,
    TaskSpec,
    admission_param,
    permill,
    rule_param,
)
from decentralml_client.chain.client import Chain, Event, Receipt
from decentralml_client.chain.errors import (
    ChainError,
    ChainUnreachable,
    InclusionTimeout,
    IncompatibleChain,
    PalletError,
    TransactionRejected,
)

__all__ = [
    "UNIT", "Chain", "ChainError", "ChainUnreachable", "DecentralMl", "Event",
    "InclusionTimeout", "IncompatibleChain", "PalletError", "Receipt", "Role", "TaskSpec",
    "TransactionRejected", "admission_param", "permill", "rule_param",
]
