"""Accounts: dev keys, substrate-interface Keypair <-> PyNaCl consistency, X25519 derivation."""

from __future__ import annotations

import nacl.bindings
import nacl.public
import nacl.signing
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from substrateinterface import Keypair, KeypairType

from decentralml_client.keys import (
    Account,
    as_public_key,
    dev_account,
    ss58_to_public_key,
    verify_signature,
)

# Well-known ed25519 dev keys (`subkey inspect --scheme ed25519 //Alice`).
ALICE_ED25519 = "5FA9nQDVg267DEd8m1ZypXLBnvN7SFxYwV7ndqSYGiN9TTpu"
ALICE_ED25519_PUB = "0x88dc3417d5058ec4b4503e0c12ea1a0a89be200fe98922423d4334014fa6b0ee"


def test_dev_alice_is_the_well_known_ed25519_key():
    alice = dev_account("alice")
    assert alice.ss58_address == ALICE_ED25519
    assert alice.public_key_hex == ALICE_ED25519_PUB
    assert alice.is_dev
    assert dev_account("Alice") == alice


def test_dev_accounts_are_distinct_and_unknown_names_refused():
    names = ["alice", "bob", "charlie", "dave", "eve", "ferdie"]
    addresses = {dev_account(n).ss58_address for n in names}
    assert len(addresses) == len(names)
    with pytest.raises(ValueError, match="choose one of"):
        dev_account("mallory")


@settings(max_examples=25, deadline=None)
@given(seed=st.binary(min_size=32, max_size=32), msg=st.binary(max_size=256))
def test_substrate_keypair_and_pynacl_agree(seed, msg):
    account = Account.from_seed(seed)
    kp = account.keypair
    assert kp.crypto_type == KeypairType.ED25519
    assert kp.public_key == account.public_key
    assert kp.ss58_address == account.ss58_address
    # A signature made by one verifies with the other, both ways.
    assert kp.verify(msg, account.sign(msg))
    assert verify_signature(account.public_key, msg, kp.sign(msg))
    nacl.signing.VerifyKey(kp.public_key).verify(msg, kp.sign(msg))


def test_keypair_from_seed_matches_independent_construction():
    seed = bytes(range(32))
    kp = Keypair.create_from_seed(seed.hex(), crypto_type=KeypairType.ED25519)
    assert Account.from_seed(seed).public_key == kp.public_key
    assert Account.from_seed(seed).public_key == bytes(nacl.signing.SigningKey(seed).verify_key)


def test_x25519_keys_match_and_work_for_a_box():
    alice, bob = dev_account("alice"), dev_account("bob")
    assert alice.x25519_public == bytes(alice.x25519_private.public_key)
    assert alice.x25519_public == nacl.bindings.crypto_sign_ed25519_pk_to_curve25519(
        alice.public_key
    )
    box = nacl.public.Box(alice.x25519_private, nacl.public.PublicKey(bob.x25519_public))
    back = nacl.public.Box(bob.x25519_private, nacl.public.PublicKey(alice.x25519_public))
    assert back.decrypt(box.encrypt(b"hi")) == b"hi"


def test_signature_checks():
    a = dev_account("alice")
    sig = a.sign(b"m")
    assert len(sig) == 64
    assert a.verify(b"m", sig)
    assert not a.verify(b"n", sig)
    assert not verify_signature(dev_account("bob").public_key, b"m", sig)
    assert not verify_signature(a.public_key, b"m", b"short")


def test_public_key_forms():
    a = dev_account("alice")
    assert ss58_to_public_key(a.ss58_address) == a.public_key
    assert as_public_key(a.ss58_address) == a.public_key
    assert as_public_key(a.public_key_hex) == a.public_key
    assert as_public_key(a.public_key) == a.public_key
    with pytest.raises(ValueError):
        ss58_to_public_key("not-an-address")


def test_bad_seed_refused():
    with pytest.raises(ValueError, match="32 bytes"):
        Account.from_seed(b"short")
