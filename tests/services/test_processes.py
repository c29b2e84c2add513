"""Stopping processes: politely first, then SIGKILL; nothing of the group survives."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

from decentralml_client.services.processes import alive, terminate

IGNORES_SIGTERM = ("import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
                   "print('ready', flush=True); time.sleep(60)")


def _spawn(code: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-c", code], start_new_session=True,
                            stdout=subprocess.PIPE)


def test_a_polite_process_stops_on_the_first_signal() -> None:
    proc = _spawn("import time; time.sleep(60)")
    started = time.monotonic()
    terminate([proc], steps=((signal.SIGTERM, 10.0),))
    assert proc.returncode == -signal.SIGTERM and time.monotonic() - started < 5


def test_a_stubborn_process_is_killed_after_the_timeout() -> None:
    proc = _spawn(IGNORES_SIGTERM)
    assert proc.stdout is not None and proc.stdout.readline() == b"ready\n"  # handler installed
    terminate([proc.pid], steps=((signal.SIGTERM, 0.3),))
    proc.wait(5)
    assert proc.returncode == -signal.SIGKILL and not alive(proc.pid)
