"""Smoke check of a running DecentralML dev chain with plain substrate-interface.

Connects, reads the metadata, checks the fifteen DecentralMl calls of protocol v2 (sealed votes:
``commit_vote`` / ``reveal_vote``; ``join_task`` with a bond) and the v2 constants, registers
sr25519 Alice (validator) and ed25519 Alice (contributor) and reads them back from storage.

    python chain/scripts/smoke_check.py [--url ws://127.0.0.1:9944]
"""

import argparse
import hashlib

from substrateinterface import Keypair, KeypairType, SubstrateInterface

CALLS = {
    "register", "deregister", "create_task", "join_task", "cancel_task", "commit_update",
    "reveal_update", "commit_vote", "propose_aggregate", "attest_aggregate", "finalize_round",
    "reveal_vote", "leave_task", "set_allowed", "purge_task",
}
CONSTANTS = ("MinContributorBond", "MinValidatorBond", "MaxRetries", "SilenceSlash",
             "VerdictSlash", "LosingAttestSlash", "ScoreTolerance", "TaskDeposit",
             "MaxAllowListBatch")
UNIT = 10**12
DEV_PHRASE = "bottom drive obey lake curtain smoke basket hold race lonely fit walk"


def dev_key(name: str, kind: int) -> Keypair:
    """The dev account `//name` of `kind`.

    substrate-interface 1.8.1 refuses derivation paths for ed25519 (`create_from_uri` raises
    NotImplementedError), so the ed25519 hard derivation is done here:
    seed' = blake2b-256(SCALE("Ed25519HDKD") ‖ seed ‖ chain code of the junction).
    """
    if kind != KeypairType.ED25519:
        return Keypair.create_from_uri("//" + name, crypto_type=kind)
    seed = Keypair.create_from_mnemonic(DEV_PHRASE, crypto_type=KeypairType.ED25519).seed_hex
    junction = name.encode()
    chain_code = (bytes([len(junction) << 2]) + junction).ljust(32, b"\0")
    derived = hashlib.blake2b(b"\x2cEd25519HDKD" + bytes(seed) + chain_code, digest_size=32)
    return Keypair.create_from_seed(derived.hexdigest(), crypto_type=KeypairType.ED25519)


def main(url: str) -> None:
    chain = SubstrateInterface(url=url)
    chain.init_runtime()
    print("chain", chain.chain, "runtime", chain.runtime_version, chain.properties)
    pallet = chain.get_metadata_module("DecentralMl")
    calls = {c.name for c in pallet.calls}
    assert calls == CALLS, calls
    print("DecentralMl calls:", sorted(calls))
    join = next(c for c in pallet.calls if c.name == "join_task")
    assert [a.name for a in join.args] == ["task_id", "role", "bond"], join.args
    constants = {n: chain.get_constant("DecentralMl", n).value for n in CONSTANTS}
    print("DecentralMl v2 constants:", constants)
    for name, kind, role, stake in (
        ("Alice", KeypairType.SR25519, "Validator", 50 * UNIT),
        ("Alice", KeypairType.ED25519, "Contributor", 10 * UNIT),
    ):
        key = dev_key(name, kind)
        before = chain.query("DecentralMl", "Participants", [key.ss58_address]).value
        if before and before[role.lower() + "_stake"] is not None:
            print(kind, key.ss58_address, "already registered as", role)
            continue
        call = chain.compose_call("DecentralMl", "register", {
            "role": role, "stake": stake, "x25519_key": "0x" + "11" * 32})
        xt = chain.create_signed_extrinsic(call=call, keypair=key)
        receipt = chain.submit_extrinsic(xt, wait_for_inclusion=True)
        assert receipt.is_success, receipt.error_message
        events = [e.value["event_id"] for e in receipt.triggered_events]
        assert "Registered" in events, events
        info = chain.query("DecentralMl", "Participants", [key.ss58_address]).value
        print(kind, key.ss58_address, "registered as", role, info)
    print("OK")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Smoke check of a DecentralML dev chain.")
    parser.add_argument("--url", default="ws://127.0.0.1:9944")
    main(parser.parse_args().url)
