"""IpfsStore against a real Kubo daemon: round trip, cache, integrity, outages, restarts."""

from __future__ import annotations

import os
import warnings

import httpx
import pytest

from decentralml_client.hashing import blake2_256, blake2_256_hex
from decentralml_client.services.kubo import free_port
from decentralml_client.storage import (
    ContentNotFound,
    IntegrityError,
    IpfsStore,
    StorageUnavailable,
    api_to_multiaddr,
)

pytestmark = pytest.mark.integration

# Registered here too until tests/conftest.py lists the plugin (harmless when it does).


def _gc(daemon) -> None:
    httpx.post(f"{daemon.api_url}/api/v0/repo/gc", timeout=30, trust_env=False).raise_for_status()


def test_round_trip_and_deterministic_cid(kubo, tmp_path):
    store = IpfsStore(kubo.api_multiaddr, cache_dir=tmp_path / "cache")
    data = os.urandom(600_000)  # > one chunk
    cid = store.add(data)
    assert cid.startswith("b")  # CIDv1
    assert store.add(data) == cid
    assert store.is_pinned(cid)
    fresh = IpfsStore(kubo.api_url)  # URL form, no cache: really from the daemon
    assert fresh.fetch(cid, blake2_256(data)) == data
    assert fresh.fetch(cid, blake2_256_hex(data)) == data


def test_cache_hit_without_daemon(kubo, tmp_path):
    store = IpfsStore(kubo.api_multiaddr, cache_dir=tmp_path / "cache")
    data = b"global model r3"
    cid = store.add(data)
    offline = IpfsStore(
        f"/ip4/127.0.0.1/tcp/{free_port()}", cache_dir=tmp_path / "cache", retries=0
    )
    assert not offline.is_available()
    assert offline.fetch(cid, blake2_256(data)) == data


def test_corrupt_cache_entry_is_dropped_and_refetched(kubo, tmp_path):
    cache = tmp_path / "cache"
    data = b"weights"
    cid = IpfsStore(kubo.api_multiaddr).add(data)
    digest = blake2_256(data)
    entry = cache / digest.hex()[:2] / digest.hex()
    entry.parent.mkdir(parents=True)
    entry.write_bytes(b"tampered")
    store = IpfsStore(kubo.api_multiaddr, cache_dir=cache)
    assert store.fetch(cid, digest) == data
    assert entry.read_bytes() == data


def test_wrong_hash_is_an_integrity_error_and_never_cached(kubo, tmp_path):
    store = IpfsStore(kubo.api_multiaddr, cache_dir=tmp_path / "cache")
    honest, swapped = b"honest update", b"poisoned update"
    cid = IpfsStore(kubo.api_multiaddr).add(swapped)
    with pytest.raises(IntegrityError, match="does not match"):
        store.fetch(cid, blake2_256(honest))
    assert not any(p.is_file() for p in (tmp_path / "cache").rglob("*"))


def test_max_bytes_bounds_reads(kubo):
    store = IpfsStore(kubo.api_multiaddr)
    data = b"x" * 1000
    cid = store.add(data)
    with pytest.raises(IntegrityError, match="larger"):
        store.fetch(cid, blake2_256(data), max_bytes=999)
    assert store.fetch(cid, blake2_256(data), max_bytes=1000) == data


def test_unknown_cid_offline_is_content_not_found(kubo):
    store = IpfsStore(kubo.api_multiaddr, timeout=10)
    missing = "bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy"
    with pytest.raises(ContentNotFound):
        store.fetch(missing, b"\0" * 32)


def test_unavailable_daemon_raises_storage_unavailable_after_retries(tmp_path):
    port = free_port()
    store = IpfsStore(f"http://127.0.0.1:{port}", retries=2, backoff=0.01, timeout=2)
    with pytest.raises(StorageUnavailable, match=f"127.0.0.1/tcp/{port}.*Is Kubo running"):
        store.add(b"data")
    with pytest.raises(StorageUnavailable, match="after 3 attempts"):
        store.fetch("bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy", b"\0" * 32)
    assert not store.is_available()


def test_restart_loses_nothing_pinned(kubo_factory, tmp_path):
    daemon = kubo_factory().start()
    store = IpfsStore(daemon.api_multiaddr)
    blobs = [os.urandom(n) for n in (10, 300_000, 1_000_000)]
    cids = [store.add(b) for b in blobs]
    daemon.stop()
    with pytest.raises(StorageUnavailable):
        IpfsStore(daemon.api_multiaddr, retries=0).fetch(cids[0], blake2_256(blobs[0]))
    daemon.start()
    _gc(daemon)
    store = IpfsStore(daemon.api_multiaddr)
    for cid, blob in zip(cids, blobs):
        assert store.is_pinned(cid)
        assert store.fetch(cid, blake2_256(blob)) == blob


def test_store_recovers_when_daemon_comes_back(kubo_factory):
    daemon = kubo_factory().start()
    store = IpfsStore(daemon.api_multiaddr, retries=1, backoff=0.01)
    cid = store.add(b"a")
    daemon.stop()
    assert not store.is_available()
    daemon.start()
    assert store.is_available()
    assert store.fetch(cid, blake2_256(b"a")) == b"a"


def test_pin_and_no_version_warning(kubo, recwarn):
    warnings.simplefilter("always")
    store = IpfsStore(kubo.api_multiaddr)
    cid = store.add(b"pin me")
    store.pin(cid)
    assert store.is_pinned(cid)
    assert not store.is_pinned("bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy")
    assert store.is_available()
    assert not [w for w in recwarn if "ipfshttpclient" in str(w.filename)]


def test_api_address_forms():
    assert api_to_multiaddr("http://127.0.0.1:5001") == "/ip4/127.0.0.1/tcp/5001"
    assert api_to_multiaddr("localhost:5001") == "/dns/localhost/tcp/5001"
    assert api_to_multiaddr("/ip4/127.0.0.1/tcp/5001") == "/ip4/127.0.0.1/tcp/5001"
    assert api_to_multiaddr("https://[::1]:5001") == "/ip6/::1/tcp/5001/https"
    with pytest.raises(ValueError):
        api_to_multiaddr("ftp://x")


def test_bad_inputs_refused_before_any_io():
    store = IpfsStore("/ip4/127.0.0.1/tcp/1")
    with pytest.raises(ValueError, match="not a CID"):
        store.fetch("../etc/passwd", b"\0" * 32)
    with pytest.raises(ValueError, match="32-byte"):
        store.fetch("bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy", b"short")


def test_same_bytes_same_cid_on_another_node(kubo, kubo_factory):
    data = os.urandom(700_000)
    with kubo_factory() as other:
        assert IpfsStore(other.api_multiaddr).add(data) == IpfsStore(kubo.api_multiaddr).add(data)


def test_crash_of_the_daemon_loses_nothing_pinned(kubo_factory):
    daemon = kubo_factory().start()
    data = os.urandom(400_000)
    cid = IpfsStore(daemon.api_multiaddr).add(data)
    daemon.kill()  # SIGKILL: no graceful shutdown
    daemon.start()
    _gc(daemon)
    store = IpfsStore(daemon.api_multiaddr)
    assert store.is_pinned(cid)
    assert store.fetch(cid, blake2_256(data)) == data


def test_a_daemon_that_never_answers_times_out_as_unavailable():
    import socket

    with socket.socket() as silent:  # accepts connections, never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        port = silent.getsockname()[1]
        store = IpfsStore(f"/ip4/127.0.0.1/tcp/{port}", timeout=0.3, retries=1, backoff=0.01)
        with pytest.raises(StorageUnavailable, match="timed out"):
            store.add(b"x")


def test_content_no_peer_serves_is_withheld_not_an_outage(kubo_factory):
    # An online daemon with no peers looks for the content until the fetch timeout; it
    # still answers, so the content is missing from the network (ContentNotFound), at once.
    with kubo_factory(online=True) as daemon:
        store = IpfsStore(daemon.api_multiaddr, timeout=2, retries=3)
        with pytest.raises(ContentNotFound, match="withheld"):
            store.fetch("bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy",
                        b"\0" * 32)
