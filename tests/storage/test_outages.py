"""What a failed fetch means: the client's own IPFS daemon unreachable (an outage, retried:
:class:`StorageUnavailable`) or the daemon working but the content not served in time
(withheld: :class:`ContentNotFound`, at once). The daemon is faked; no Kubo needed."""

from __future__ import annotations

from typing import Any

import pytest

from decentralml_client.storage import ContentNotFound, IpfsStore, StorageUnavailable, _ipfs_http

CID = "bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy"


class FakeDaemon:
    """``cat`` fails with ``cat_error``; ``id`` answers unless ``id_error`` is set."""

    def __init__(self, cat_error: Exception, id_error: Exception | None = None) -> None:
        self.cat_error, self.id_error = cat_error, id_error
        self.cats = self.ids = 0

    def http(self, *_: Any, **__: Any) -> FakeDaemon:
        return self

    def cat(self, cid: str, length: int | None = None) -> bytes:
        self.cats += 1
        raise self.cat_error

    def node_id(self) -> str:
        self.ids += 1
        if self.id_error is not None:
            raise self.id_error
        return "12D3KooWfake"

    def close(self) -> None:
        pass


def _store(monkeypatch: pytest.MonkeyPatch, daemon: FakeDaemon) -> IpfsStore:
    monkeypatch.setattr(_ipfs_http, "IpfsHttp", daemon.http)
    return IpfsStore("/ip4/127.0.0.1/tcp/5001", timeout=1, retries=3, backoff=0.001)


def test_content_not_served_in_time_by_a_working_daemon_is_withheld(monkeypatch) -> None:
    daemon = FakeDaemon(_ipfs_http.TimedOut("read timed out"))
    with pytest.raises(ContentNotFound, match="answers, but no reachable peer served"):
        _store(monkeypatch, daemon).fetch(CID, b"\0" * 32)
    assert daemon.cats == 1 and daemon.ids == 1  # no retries: every validator sees the same


@pytest.mark.parametrize("id_error", [_ipfs_http.TimedOut("id timed out"),
                                      _ipfs_http.Unreachable("connection refused")])
def test_a_daemon_that_does_not_answer_itself_is_an_outage(monkeypatch, id_error) -> None:
    daemon = FakeDaemon(_ipfs_http.TimedOut("read timed out"), id_error)
    with pytest.raises(StorageUnavailable, match="timed out"):
        _store(monkeypatch, daemon).fetch(CID, b"\0" * 32)
    assert daemon.cats == 4  # retried


def test_a_refused_connection_is_an_outage_after_retries(monkeypatch) -> None:
    daemon = FakeDaemon(_ipfs_http.Unreachable("[Errno 111] Connection refused"))
    with pytest.raises(StorageUnavailable, match="after 4 attempts"):
        _store(monkeypatch, daemon).fetch(CID, b"\0" * 32)
    assert daemon.cats == 4 and daemon.ids == 0
