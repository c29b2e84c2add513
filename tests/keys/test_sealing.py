"""Private mode: an update sealed to three validators opens for each and nobody else."""

from __future__ import annotations

import pytest

from decentralml_client.keys import (
    InvalidEnvelope,
    NotARecipient,
    dev_account,
    envelope_recipients,
    is_sealed,
    open_sealed,
    seal_for_validators,
)

DATA = b"safetensors bytes \x00\x01" * 100


def test_round_trip_for_three_validators_and_non_recipient_refused():
    validators = [dev_account(n) for n in ("alice", "bob", "charlie")]
    envelope = seal_for_validators(DATA, [v.x25519_public for v in validators])
    assert is_sealed(envelope)
    assert DATA not in envelope
    assert envelope_recipients(envelope) == [v.x25519_public for v in validators]
    for v in validators:
        assert open_sealed(envelope, v) == DATA
    with pytest.raises(NotARecipient, match="not sealed to"):
        open_sealed(envelope, dev_account("eve"))


def test_fresh_key_each_time_and_duplicates_dropped():
    alice = dev_account("alice")
    a = seal_for_validators(DATA, [alice.x25519_public, alice.x25519_public])
    b = seal_for_validators(DATA, [alice.x25519_public])
    assert a != b
    assert len(envelope_recipients(a)) == 1


def test_tampered_and_malformed_envelopes_refused():
    alice = dev_account("alice")
    envelope = bytearray(seal_for_validators(DATA, [alice.x25519_public]))
    envelope[-1] ^= 1
    with pytest.raises(InvalidEnvelope, match="does not decrypt"):
        open_sealed(bytes(envelope), alice)
    with pytest.raises(InvalidEnvelope, match="magic"):
        open_sealed(b"PK\x03\x04 not sealed", alice)
    with pytest.raises(InvalidEnvelope, match="length"):
        open_sealed(b"DMLSEAL1\xff\xff\xff\xff{}", alice)
    with pytest.raises(InvalidEnvelope, match="malformed"):
        open_sealed(b"DMLSEAL1\x00\x00\x00\x02{}", alice)


def test_bad_recipient_lists_refused():
    with pytest.raises(ValueError, match="at least one"):
        seal_for_validators(DATA, [])
    with pytest.raises(ValueError, match="32 bytes"):
        seal_for_validators(DATA, [b"short"])
