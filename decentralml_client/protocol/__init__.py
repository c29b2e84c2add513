"""The protocol's pure rules, shared by the pallet's client, the roles and the simulator.

* :mod:`.commitments` — what contributors and validators commit to (byte-exact with the pallet);
* :mod:`.consensus` — stake-weighted acceptance, the consensus score and probe of an update,
  which verdicts are evidenced, and how a finalised round pays and slashes (a mirror of the
  pallet's integer arithmetic);
* :mod:`.sampling` — the cohort, audit and committee draws of docs/committees.md (byte-exact
  with the pallet).

Nothing here talks to a chain, IPFS or TensorFlow.
"""

from decentralml_client.protocol.commitments import update_commitment, vote_commitment
from decentralml_client.protocol.consensus import (
    PPM,
    Consensus,
    Constants,
    RoundSettlement,
    Verdict,
    VoteRecord,
    aggregated,
    committee_accepts,
    evidenced,
    is_accepted,
    quorum_stake,
    settle_round,
    weighted_median,
)

__all__ = [
    "PPM", "Consensus", "Constants", "RoundSettlement", "Verdict", "VoteRecord", "aggregated",
    "committee_accepts", "evidenced",
    "is_accepted", "quorum_stake", "settle_round", "update_commitment", "vote_commitment",
    "weighted_median",
]
