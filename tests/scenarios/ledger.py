"""Ledger checks shared by the end-to-end tests: balances are conserved, fees accounted."""

from __future__ import annotations

from decentralml_client.chain import Chain


def ledger(chain: Chain) -> tuple[int, int]:
    """(total issuance, sum of free + reserved over every account) at the chain's head."""
    issuance = int(chain.query("TotalIssuance", pallet="Balances"))
    held = sum(int(v["data"]["free"]) + int(v["data"]["reserved"])
               for _, v in chain.query_map("Account", pallet="System"))
    return issuance, held


def fees_between(chain: Chain, first: int, last: int) -> int:
    """Transaction fees paid (and burnt by this runtime) in blocks ``first..=last``."""
    total = 0
    for n in range(first, last + 1):
        h = chain.substrate.get_block_hash(n)
        for e in chain.events(h):
            if e.qualname == "TransactionPayment.TransactionFeePaid":
                total += int(e.attributes["actual_fee"])
    return total
