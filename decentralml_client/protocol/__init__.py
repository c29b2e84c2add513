"""The protocol's pure rules, shared by the pallet's client, the roles and the simulator.

* :mod:`.commitments` — what contributors and validators commit to (byte-exact with the pallet);
* :mod:`.consensus` — stake-weighted acceptance, the consensus score of an update, and how a
  finalised round pays and slashes (a mirror of the pallet's integer arithmetic).

Nothing here talks to a chain, IPFS or TensorFlow.
"""

from decentralml_client.protocol.commitments import update_commitment, vote_commitment
from decentralml_client.protocol.consensus import (
    PPM,
    Constants,
    RoundSettlement,
    VoteRecord,
    is_accepted,
    quorum_stake,
    settle_round,
    weighted_median,
)

__all__ = [
    "PPM", "Constants", "RoundSettlement", "VoteRecord", "is_accepted", "quorum_stake",
    "settle_round", "update_commitment", "vote_commitment", "weighted_median",
]
