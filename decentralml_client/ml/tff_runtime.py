"""TensorFlow Federated's runtime, and the shutdown of its helper process.

TFF runs computations in a C++ ``worker_binary`` child process that it starts on first use
and never stops (it keeps inherited stdout/stderr pipes open, so ``… | tail`` never ends).
:func:`tff_session` brackets TFF work: nested sessions share one worker, and when the
outermost session ends the worker is stopped (SIGINT, then SIGKILL after a grace period) and
reaped. The next session starts a fresh worker. :func:`stop_workers` is also registered with
``atexit``.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import signal
import subprocess
import threading
from collections.abc import Iterator
from typing import Any

import tensorflow_federated as tff

# Imported first: it sets TF's log level before TFF imports TensorFlow; re-exported.
from decentralml_client.ml._tf import tf as tf

WORKER_NAME = "worker_binary"
_lock = threading.RLock()
_depth = 0


def _service_managers(ctx: Any) -> list[Any]:
    """The ``ServiceManager`` objects (owners of the worker process) behind a TFF context."""
    factory = getattr(ctx, "executor_factory", None)
    fn = getattr(factory, "_executor_stack_fn", None)
    found = []
    for cell in getattr(fn, "__closure__", None) or ():
        obj = cell.cell_contents
        if type(obj).__name__ == "ServiceManager" and hasattr(obj, "_process"):
            found.append(obj)
    return found


def _current_context() -> Any:
    from tensorflow_federated.python.core.impl.context_stack import context_stack_impl

    return context_stack_impl.context_stack.current


def _stop_popen(p: subprocess.Popen[bytes], timeout: float = 10.0) -> None:
    if p.poll() is not None:
        return
    p.send_signal(signal.SIGINT)
    try:
        p.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()


def worker_pids() -> list[int]:
    """PIDs of live ``worker_binary`` processes that are children of this process (Linux)."""
    me, pids = os.getpid(), []
    try:
        entries = os.listdir("/proc")
    except OSError:
        return []
    for e in entries:
        if not e.isdigit():
            continue
        try:
            with open(f"/proc/{e}/stat") as f:
                stat = f.read()
            comm = stat[stat.index("(") + 1 : stat.rindex(")")]
            fields = stat[stat.rindex(")") + 2 :].split()
            state, ppid = fields[0], int(fields[1])
        except (OSError, ValueError, IndexError):
            continue
        if ppid == me and comm.startswith(WORKER_NAME[:15]) and state != "Z":
            pids.append(int(e))
    return pids


def stop_workers() -> int:
    """Stop every TFF worker this process started; return how many were running."""
    stopped = 0
    with _lock:
        try:
            ctx = _current_context()
        except Exception:  # TFF half torn down at interpreter exit
            ctx = None
        factory = getattr(ctx, "executor_factory", None)
        cache = getattr(factory, "_executors", None)
        if cache is not None:
            for key in list(cache.keys()):
                ex = cache.pop(key, None)
                with contextlib.suppress(Exception):
                    ex.close()
        for sm in _service_managers(ctx):
            p = sm._process
            if isinstance(p, subprocess.Popen):
                if p.poll() is None:
                    stopped += 1
                _stop_popen(p)
            sm._process = None  # so its __del__ does not signal a reaped pid
            sm._stub = None  # so the next call starts a fresh worker
        for pid in worker_pids():  # anything the introspection above missed
            stopped += 1
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
    return stopped


def _has_fileno(stream: Any) -> bool:
    try:
        stream.fileno()
        return True
    except Exception:  # io.UnsupportedOperation, AttributeError, ...
        return False


@contextlib.contextmanager
def worker_safe_streams() -> Iterator[None]:
    """TFF starts its worker with ``stdout=sys.stdout, stderr=sys.stderr``; when those are
    in-memory streams (test runners, notebooks), substitute the process's real streams."""
    import sys

    saved = sys.stdout, sys.stderr
    try:
        if not _has_fileno(sys.stdout):
            sys.stdout = sys.__stdout__
        if not _has_fileno(sys.stderr):
            sys.stderr = sys.__stderr__
        yield
    finally:
        sys.stdout, sys.stderr = saved


def _share_context() -> None:
    """TFF's context stack is thread-local: a thread other than the one that imported TFF
    starts with an error-raising context. Give it the execution context TFF installed."""
    from tensorflow_federated.python.core.impl.context_stack import context_stack_impl

    stack = context_stack_impl.context_stack
    if stack.current is not _CONTEXT and len(getattr(stack, "_stack", ())) == 1:
        stack.set_default_context(_CONTEXT)


@contextlib.contextmanager
def tff_session() -> Iterator[None]:
    """Bracket TFF work; the worker is stopped when the outermost session exits."""
    global _depth
    _share_context()
    with _lock:
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0:
                stop_workers()


_CONTEXT = _current_context()  # the execution context TFF installed when imported
atexit.register(stop_workers)

__all__ = ["stop_workers", "tff", "tff_session", "worker_pids", "worker_safe_streams"]
