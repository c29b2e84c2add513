"""Keystore: round trip, wrong password, permissions, tamper detection, no secret leaks."""

from __future__ import annotations

import json
import logging
import pickle
import stat

import pytest

from decentralml_client.keys import (
    Account,
    InvalidKeyFile,
    KdfLimits,
    KeyExists,
    KeyNotFound,
    Keystore,
    WrongPassword,
    dev_account,
)

SEED = bytes(range(32))
PASSWORD = "correct horse battery staple"


@pytest.fixture
def store(tmp_path):
    return Keystore(tmp_path / "keys", kdf_limits=KdfLimits.minimum())


def test_create_then_load_gives_the_same_account(store):
    info = store.create("alice-node", PASSWORD, seed=SEED)
    account = store.load("alice-node", PASSWORD)
    assert account.ss58_address == info.ss58_address
    assert account.public_key_hex == info.public_key_hex
    assert account.x25519_public_hex == info.x25519_public_hex
    assert account == Account.from_seed(SEED)
    assert account.ss58_address.startswith("5")


def test_random_keys_differ(store):
    a = store.create("a", PASSWORD)
    b = store.create("b", PASSWORD)
    assert a.public_key_hex != b.public_key_hex


def test_wrong_password_is_refused_with_a_clear_message(store):
    store.create("k", PASSWORD, seed=SEED)
    with pytest.raises(WrongPassword, match="wrong password for key 'k'"):
        store.load("k", "not the password")


def test_key_files_are_private(store):
    store.create("k", PASSWORD, seed=SEED)
    mode = stat.S_IMODE((store.path / "k.json").stat().st_mode)
    assert mode == 0o600
    assert stat.S_IMODE(store.path.stat().st_mode) == 0o700
    assert not list(store.path.glob(".*.tmp"))


def test_file_holds_no_secret_in_clear(store):
    store.create("k", PASSWORD, seed=SEED)
    raw = (store.path / "k.json").read_text()
    assert SEED.hex() not in raw
    assert PASSWORD not in raw


def test_existing_key_is_never_overwritten(store):
    store.create("k", PASSWORD, seed=SEED)
    with pytest.raises(KeyExists):
        store.create("k", PASSWORD)
    assert store.load("k", PASSWORD) == Account.from_seed(SEED)


def test_missing_key_and_bad_names(store):
    with pytest.raises(KeyNotFound, match="no key named 'nope'"):
        store.load("nope", PASSWORD)
    for bad in ("../etc/passwd", "", "a/b", ".hidden"):
        with pytest.raises(ValueError):
            store.create(bad, PASSWORD)


def test_empty_password_refused(store):
    with pytest.raises(ValueError, match="password"):
        store.create("k", "")


def test_list_and_export_public_need_no_password(store):
    store.create("b", PASSWORD)
    info = store.create("a", PASSWORD, seed=SEED)
    assert [i.name for i in store.list()] == ["a", "b"]
    assert store.export_public("a") == info
    assert set(info.as_dict()) == {"name", "ss58_address", "public_key_hex", "x25519_public_hex"}


def test_list_of_missing_directory_is_empty(tmp_path):
    assert Keystore(tmp_path / "none").list() == []


def test_import_seed_hex_and_mnemonic(store):
    by_hex = store.import_seed("h", "0x" + SEED.hex(), PASSWORD)
    assert by_hex.public_key_hex == Account.from_seed(SEED).public_key_hex
    phrase = "bottom drive obey lake curtain smoke basket hold race lonely fit walk"
    by_phrase = store.import_seed("m", phrase, PASSWORD)
    # The dev phrase's ed25519 root key, as `subkey inspect --scheme ed25519` prints it.
    assert by_phrase.ss58_address == "5DFJF7tY4bpbpcKPJcBTQaKuCDEPCpiz8TRjpmLeTtweqmXL"
    with pytest.raises(ValueError):
        store.import_seed("x", "not a seed", PASSWORD)


def test_tampered_public_fields_are_detected(store):
    store.create("k", PASSWORD, seed=SEED)
    path = store.path / "k.json"
    doc = json.loads(path.read_text())
    doc["public_key"] = "0x" + "11" * 32
    path.write_text(json.dumps(doc))
    with pytest.raises(InvalidKeyFile, match="does not match"):
        store.load("k", PASSWORD)


def test_tampered_ciphertext_reads_as_wrong_password(store):
    store.create("k", PASSWORD, seed=SEED)
    path = store.path / "k.json"
    doc = json.loads(path.read_text())
    ct = doc["cipher"]["ciphertext"]
    doc["cipher"]["ciphertext"] = ct[:-2] + ("00" if ct[-2:] != "00" else "01")
    path.write_text(json.dumps(doc))
    with pytest.raises(WrongPassword):
        store.load("k", PASSWORD)


def test_absurd_kdf_limits_in_a_file_are_refused(store):
    store.create("k", PASSWORD, seed=SEED)
    path = store.path / "k.json"
    doc = json.loads(path.read_text())
    doc["kdf"]["memlimit"] = 1 << 40
    path.write_text(json.dumps(doc))
    with pytest.raises(InvalidKeyFile, match="limits"):
        store.load("k", PASSWORD)


def test_default_limits_are_moderate(tmp_path):
    assert Keystore(tmp_path).kdf_limits == KdfLimits.moderate()


def test_no_secret_in_repr_str_logs_or_pickle(store, caplog):
    caplog.set_level(logging.DEBUG)
    store.create("k", PASSWORD, seed=SEED)
    account = store.load("k", PASSWORD)
    seed_hex = SEED.hex()
    x_priv_hex = bytes(account.x25519_private).hex()
    shown = [
        repr(account),
        str(account),
        repr(store),
        repr(store.export_public("k")),
        repr(account.keypair),
        caplog.text,
    ]
    for text in shown:
        assert seed_hex not in text
        assert x_priv_hex not in text
        assert PASSWORD not in text
    assert "k" in repr(account) and account.ss58_address in repr(account)
    with pytest.raises(TypeError, match="cannot be pickled"):
        pickle.dumps(account)


def test_key_info_bytes_and_dev_accounts_through_the_store(store):
    info = store.create("k", PASSWORD, seed=SEED)
    account = Account.from_seed(SEED)
    assert info.public_key == account.public_key
    assert info.x25519_public == account.x25519_public
    assert dev_account("alice").ss58_address == (
        "5FA9nQDVg267DEd8m1ZypXLBnvN7SFxYwV7ndqSYGiN9TTpu"
    )
    assert store.list() == [info]  # dev accounts are never written to disk


def test_default_moderate_limits_round_trip(tmp_path):
    store = Keystore(tmp_path)  # the real default cost, once
    store.create("k", PASSWORD, seed=SEED)
    doc = json.loads((tmp_path / "k.json").read_text())
    assert doc["kdf"]["opslimit"] == KdfLimits.moderate().opslimit
    assert doc["kdf"]["memlimit"] == KdfLimits.moderate().memlimit
    assert store.load("k", PASSWORD) == Account.from_seed(SEED)


def test_a_new_keys_recovery_phrase_restores_the_same_account_and_is_not_stored(
        store, tmp_path) -> None:
    info, phrase = store.create_with_mnemonic("alice", "pw", words=12)
    assert len(phrase.split()) == 12
    other = Keystore(tmp_path / "elsewhere", kdf_limits=KdfLimits.minimum())
    again = other.import_seed("alice", phrase, "another pw")
    assert again.ss58_address == info.ss58_address
    for path in (tmp_path / "keys").rglob("*"):
        if path.is_file():
            text = path.read_text(errors="replace")
            assert all(word not in text.split() for word in phrase.split()[:3])


def test_a_wrong_recovery_phrase_is_refused_without_repeating_it(store) -> None:
    from decentralml_client.keys import InvalidMnemonic, generate_mnemonic

    # Twelve valid words whose checksum is wrong ("abandon" x 11 + "about" is the valid one;
    # replacing a random phrase's last word would keep a valid checksum 1 time in 16).
    wrong = " ".join(["abandon"] * 12)
    with pytest.raises(InvalidMnemonic) as exc:
        store.import_seed("bob", wrong, "pw")
    assert "abandon" not in str(exc.value) and "BIP-39" in str(exc.value)
    words = generate_mnemonic(12).split()  # and a word outside the list
    with pytest.raises(InvalidMnemonic) as exc:
        store.import_seed("bob", " ".join([*words[:-1], "notaword"]), "pw")
    assert words[0] not in str(exc.value) and "notaword" not in str(exc.value)
