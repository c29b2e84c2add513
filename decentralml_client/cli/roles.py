"""Commands of the participants: register, contribute, validate, aggregate, finalize."""

from __future__ import annotations

import json
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from decentralml_client.cli._common import (
    DevOpt,
    Exit,
    KeyOpt,
    PasswordFileOpt,
    State,
    console,
    emit,
    fail,
    fmt_units,
    open_store,
    out,
    parse_role,
    parse_units,
    signed_connection,
    state,
)

if TYPE_CHECKING:  # imported where used: the CLI starts fast
    from numpy.typing import NDArray

    from decentralml_client.roles.common import RoleContext
from decentralml_client.cli.task import task_bond


def register(ctx: typer.Context, role: str = typer.Argument(..., help="contributor or validator"),
             stake: str = typer.Option(None, help="Stake in DML (default: the role's minimum)."),
             key: str = KeyOpt, dev: str = DevOpt, password_file: Path = PasswordFileOpt) -> None:
    """Register the account for a role, reserving its stake."""
    from decentralml_client.chain import DecentralMl, Role

    st = state(ctx)
    r = parse_role(role)
    with signed_connection(st, key, dev, password_file) as (signer, chain):
        minimum = int(chain.constant("MinContributorStake" if r == Role.CONTRIBUTOR
                                     else "MinValidatorStake") or 0)
        amount = parse_units(stake) if stake else minimum
        if amount < minimum:
            fail(f"the {r.value} stake is at least {fmt_units(minimum)}", Exit.USAGE)
        DecentralMl(chain).register(signer.keypair, r, amount, signer.x25519_public)
    emit(st, {"address": signer.ss58_address, "role": r.value, "stake": amount},
         lambda: out.print(f"{signer.ss58_address} registered as {r.value}, "
                           f"stake {fmt_units(amount)}"))


def deregister(ctx: typer.Context,
               role: str = typer.Argument(..., help="The role to leave: contributor or "
                                          "validator."),
               key: str = KeyOpt, dev: str = DevOpt, password_file: Path = PasswordFileOpt) -> None:
    """Leave a role and get the stake back (no open task commitments allowed)."""
    from decentralml_client.chain import DecentralMl

    st = state(ctx)
    r = parse_role(role)
    with signed_connection(st, key, dev, password_file) as (signer, chain):
        DecentralMl(chain).deregister(signer.keypair, r)
    emit(st, {"address": signer.ss58_address, "role": r.value},
         lambda: out.print(f"{signer.ss58_address} deregistered as {r.value}"))


def _load_data(model_spec: Any, data: Path | None, digits: str | None, part: str,
               seed: int) -> tuple[NDArray[Any], NDArray[Any]]:
    """Local data: a user's npz/csv file, or a shard of the bundled digits (``I/N``)."""
    from decentralml_client.ml import data as mldata

    if data is not None:
        return mldata.load_file(data, model_spec)
    if digits is None:
        fail("give your data with --data FILE (or --digits-shard I/N for the example)", Exit.USAGE)
    try:
        i, n = (int(v) for v in digits.split("/"))
        assert 0 <= i < n
    except (ValueError, AssertionError):
        fail(f"--digits-shard must look like I/N with 0 <= I < N, not {digits!r}", Exit.USAGE)
    x_tr, y_tr, x_te, y_te = mldata.load_digits_split(seed=seed)
    x, y = (x_tr, y_tr) if part == "train" else (x_te, y_te)
    shards = mldata.partition_iid(x, y, n, seed=seed)
    return shards[i]


def _context(st: State, signer: Any, chain: Any, stop: threading.Event, verbose: bool
             ) -> RoleContext:
    """The role's context; its events (all from the round driver) print as plain-text lines,
    or as JSON lines with --json, on stdout as they happen (a log file too)."""
    from decentralml_client.roles.common import RoleContext

    def on_event(kind: str, info: dict[str, Any]) -> None:
        if st.json:
            sys.stdout.write(json.dumps({"event": kind, **info}, default=str) + "\n")
        else:
            line = event_line(kind, info, verbose)
            if line is None:
                return
            sys.stdout.write(f"{time.strftime('%H:%M:%S')} {line}\n")
        sys.stdout.flush()

    return RoleContext(chain=chain, store=open_store(st), account=signer,
                       data_dir=st.settings.data_dir, stop=stop.is_set, on_event=on_event)


def _short(value: Any) -> str:
    text = str(value)
    return text if len(text) <= 20 else f"{text[:14]}…{text[-4:]}"


def _at(info: dict[str, Any]) -> str:
    return f" (block {info['block']})" if info.get("block") is not None else ""


_LINES: dict[str, Callable[[dict[str, Any]], str | None]] = {
    "joined": lambda i: f"joined task {i['task']} as {i['role']}",
    "waiting": lambda i: (f"round {i['round']}: waiting for {i['phase']} to end at block "
                          f"{i['ends_at']} (head {i['head']}, "
                          f"{max(0, int(i['ends_at']) - int(i['head']))} blocks left)"),
    "training": lambda i: f"round {i['round']}: training on {i['examples']} examples",
    "prepare:saved": lambda i: (f"round {i['round']}: uploaded update {_short(i['manifest_cid'])}"
                                f" ({i['update_bytes']} bytes)"),
    "prepare": lambda i: f"round {i['round']}: committed update {_short(i['cid'])}{_at(i)}",
    "commit": lambda i: f"round {i['round']}: committed update {_short(i['cid'])}{_at(i)}",
    "reveal": lambda i: f"round {i['round']}: revealed update{_at(i)}",
    "judge:saved": lambda i: (f"round {i['round']}: judged {len(i['verdicts'])} update(s), "
                              f"{sum(1 for v in i['verdicts'] if v[1])} accepted"),
    "judge": lambda i: f"round {i['round']}: committed sealed vote{_at(i)}"
    if i.get("vote_committed") else f"round {i['round']}: no vote ({i.get('missed')})",
    "commit_vote": lambda i: f"round {i['round']}: committed sealed vote{_at(i)}",
    "reveal_vote": lambda i: f"round {i['round']}: revealed vote{_at(i)}",
    "attest:saved": lambda i: None,
    "attest": lambda i: (f"round {i['round']}: attested aggregate {_short(i['hash'])}, "
                         f"accuracy {int(i['score']) / 100:.2f}%{_at(i)}") if i.get("attested")
    else f"round {i['round']}: did not attest ({i.get('reason', 'already done')})",
    "finalized": lambda i: f"round {i['round']}: finalised",
    "missed": lambda i: f"round {i['round']}: {i['step']} refused ({i['reason']}); sat out",
    "recovered": lambda i: f"round {i['round']}: found on chain what was sent before a restart",
    "abstained": lambda i: f"round {i['round']}: abstained: {i['reason']}",
    "storage_unavailable": lambda i: (f"round {i['round']}: storage unavailable, retrying in "
                                      f"{i['retry_in']} s ({i['blocks_left']} blocks left)"),
    "reconnecting": lambda i: f"lost the node at {i['node']} ({i['error']}); reconnecting",
    "resending": lambda i: f"a transaction was not included; sending it again ({i['attempt']})",
    "finished": lambda i: f"task {i['task']} ended; {i['role']}: " + ", ".join(
        f"{k} {v}" for k, v in i.items() if k not in ("task", "role")),
}


def event_line(kind: str, info: dict[str, Any], verbose: bool = False) -> str | None:
    """One plain-text line for a role event (None: not worth a line)."""
    if info.get("already"):
        return f"round {info['round']}: {kind} was already on chain"
    line = _LINES.get(kind)
    if line is not None:
        return line(info)
    details = " ".join(f"{k}={v}" for k, v in info.items()
                       if k not in ("verdicts", "reasons") or verbose)
    return f"{kind} {details}"


def _finish(st: State, summary: dict[str, Any]) -> None:
    """The role's result: one JSON line with --json; in plain text the ``finished`` line has
    said it already."""
    if st.json:
        sys.stdout.write(json.dumps(summary, default=str) + "\n")


@contextmanager
def _role_session(st: State, key: str | None, dev: str | None, password_file: Path | None
                  ) -> Iterator[tuple[Any, Any, Any]]:
    """(signer, chain, role context) for a long-running role, stopped by SIGINT/SIGTERM."""
    stop = _stop_on_signals()
    with signed_connection(st, key, dev, password_file) as (signer, chain):
        yield signer, chain, _context(st, signer, chain, stop, False)


_STOP = threading.Event()


def _stop_on_signals() -> threading.Event:
    """The process's stop flag, set by SIGINT/SIGTERM. The main thread installs the handlers
    (and clears the flag); role loops hosted in threads (``host``) share the flag."""
    if threading.current_thread() is threading.main_thread():
        _STOP.clear()
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: _STOP.set())
    return _STOP


RESTARTED_CODES = (Exit.FAILED, Exit.UNREACHABLE, Exit.REFUSED)
"""Exit codes of a hosted role that ``host`` restarts: a failure that may pass (a node or
IPFS gone for a while, a refusal after a restart). Usage and key errors, an interrupt and
success are final."""


def run_hosted(entries: list[dict[str, Any]], run_one: Any, stop: threading.Event, *,
               max_restarts: int = 3, backoff: float = 2.0,
               log: Any = None) -> dict[str, int]:
    """Run ``run_one(entry) -> exit code`` for every entry, a thread each, until all end.

    A role that fails (an exception, or a code in :data:`RESTARTED_CODES`) is started again
    from its journal, up to ``max_restarts`` times, ``backoff`` × restart seconds apart, with
    a log line each time; the others keep running. Only a signal (``stop``) stops them all.
    Returns each role's last exit code."""
    say = log or (lambda text: console.print(text, highlight=False))
    codes: dict[str, int] = {}

    def run(entry: dict[str, Any]) -> None:
        name = str(entry["name"])
        restarts = 0
        while True:
            try:
                code = run_one(entry)
                error = f"exit code {code}"
            except Exception as exc:  # reported like the CLI would
                code, error = Exit.FAILED, f"{exc.__class__.__name__}: {exc}"
            code = int(code) if isinstance(code, int) else 0
            codes[name] = code
            if code not in RESTARTED_CODES or stop.is_set():
                return
            if restarts >= max_restarts:
                say(f"[red]{name}: failed ({error}); not restarted again after "
                    f"{restarts} restart(s)[/]")
                return
            restarts += 1
            delay = backoff * restarts
            say(f"[yellow]{name}: failed ({error}); restarting it in {delay:.0f} s "
                f"(restart {restarts} of {max_restarts})[/]")
            if stop.wait(delay):
                return

    threads = [threading.Thread(target=run, args=(e,), name=str(e["name"]), daemon=True)
               for e in entries]
    for t in threads:
        t.start()
    for t in threads:
        while t.is_alive():
            t.join(0.5)
    return codes


def root_command(ctx: typer.Context) -> Any:
    """The whole ``decentralml`` command, which hosted roles run (found from the context, so
    that this module need not import ``cli.main``, which imports it)."""
    return ctx.find_root().command


def host(ctx: typer.Context,
         plan: Path = typer.Argument(..., dir_okay=False, help="JSON list of role commands."),
         wait: float = typer.Option(600.0, help="Seconds to wait for PLAN to appear."),
         restarts: int = typer.Option(3, help="Times a failed role is started again."),
         ) -> None:
    """Run several role commands in one process, a thread each (one TensorFlow start-up for
    all). ``PLAN`` lists ``{"name": ..., "args": [global options..., command, options...]}``;
    each entry's ``--config`` gives it its own data directory (journal, cache). A role that
    fails is started again from its journal (up to RESTARTS times, with a log line), while
    the others go on; a signal stops them all. The exit code is the first non-zero one. If
    PLAN does not exist yet, the host loads TensorFlow meanwhile and starts when PLAN
    appears."""
    stop = _stop_on_signals()
    if not plan.exists():
        import decentralml_client.ml.evaluate
        import decentralml_client.ml.tff_runtime  # noqa: F401 (loaded ahead of the roles)

        deadline = time.monotonic() + wait
        while not plan.exists():
            if stop.is_set():
                raise typer.Exit(Exit.INTERRUPTED)
            if time.monotonic() > deadline:
                fail(f"{plan} did not appear within {wait:.0f} s", Exit.USAGE)
            time.sleep(0.1)
    entries = json.loads(plan.read_text())
    command = root_command(ctx)

    def run_one(entry: dict[str, Any]) -> int:
        try:
            code = command.main(list(entry["args"]), prog_name="decentralml",
                                standalone_mode=False)
        except SystemExit as exc:
            code = exc.code
        return int(code) if isinstance(code, int) else 0

    codes = run_hosted(entries, run_one, stop, max_restarts=restarts)
    failed = [c for c in codes.values() if c]
    if failed:
        raise typer.Exit(failed[0])


def _ensure_member(chain: Any, signer: Any, task_id: int, role: Any) -> None:
    """Join the task in ``role`` unless the account already has."""
    from decentralml_client.chain import DecentralMl, PalletError
    from decentralml_client.chain.errors import Kind

    dml = DecentralMl(chain)
    if signer.ss58_address not in dml.members(task_id):
        try:
            dml.join_task(signer.keypair, task_id, role, task_bond(dml, task_id, role))
        except PalletError as exc:
            if exc.kind is not Kind.DONE:  # done: already a member
                raise


def contribute(
    ctx: typer.Context,
    task_id: int = typer.Option(..., "--task", help="Task to train for."),
    data: Path = typer.Option(None, "--data", exists=True, dir_okay=False,
                              help="Your local data (.npz with x, y or .csv)."),
    digits_shard: str = typer.Option(None, help="Example data: shard I/N of bundled digits."),
    encoding: str = typer.Option("f32", help="Update encoding: f32, f16 or int8."),
    topk: float = typer.Option(None, help="Keep only this fraction of the largest changes."),
    attack: str = typer.Option(None, hidden=True, help="Poison updates (demos of defences)."),
    seed: int = typer.Option(0, help="Seed of the local training's batch order (the same seed "
                             "and data give the same update bytes)."),
    rounds: int = typer.Option(None, help="Stop after this many rounds."),
    key: str = KeyOpt, dev: str = DevOpt, password_file: Path = PasswordFileOpt,
) -> None:
    """Train on your data every round: upload, commit, reveal. Resumable after a restart."""
    from decentralml_client.chain import Role
    from decentralml_client.ml.attacks import ATTACKS
    from decentralml_client.roles.contributor import ContributorOptions, run_contributor

    st = state(ctx)
    if attack is not None and attack not in ATTACKS:
        fail(f"--attack must be one of {ATTACKS}", Exit.USAGE)
    if encoding not in ("f32", "f16", "int8"):
        fail("--encoding must be f32, f16 or int8", Exit.USAGE)
    with _role_session(st, key, dev, password_file) as (signer, chain, rc):
        x, y = _load_data(rc.model_spec(rc.task(task_id)), data, digits_shard, "train", 0)
        _ensure_member(chain, signer, task_id, Role.CONTRIBUTOR)
        from decentralml_client.ml.tff_runtime import tff_session

        with tff_session():  # one TFF worker for the role's lifetime, not one per round
            summary = run_contributor(
                rc, task_id, x, y, ContributorOptions(encoding=encoding, topk=topk, attack=attack,
                                                      seed=seed, max_rounds=rounds))
    _finish(st, summary)


def validate(
    ctx: typer.Context,
    task_id: int = typer.Option(..., "--task", help="Task to validate."),
    data: Path = typer.Option(None, "--data", exists=True, dir_okay=False,
                              help="Your held-out data (.npz or .csv)."),
    digits_holdout: str = typer.Option(
        None, help="Example data: shard I/N of the digits test split."),
    strategy: str = typer.Option("honest", hidden=True,
                                 help="Play a deviating validator (demos of the incentives)."),
    rounds: int = typer.Option(None, help="Stop after voting in this many rounds."),
    key: str = KeyOpt, dev: str = DevOpt, password_file: Path = PasswordFileOpt,
) -> None:
    """Verify and evaluate every update, seal and reveal one vote per round, attest the
    aggregate."""
    from decentralml_client.chain import Role
    from decentralml_client.ml.validators import STRATEGIES
    from decentralml_client.roles.validator import ValidatorOptions, run_validator

    st = state(ctx)
    if strategy not in STRATEGIES:
        fail(f"--strategy must be one of {STRATEGIES}", Exit.USAGE)
    with _role_session(st, key, dev, password_file) as (signer, chain, rc):
        x, y = _load_data(rc.model_spec(rc.task(task_id)), data, digits_holdout, "test", 0)
        _ensure_member(chain, signer, task_id, Role.VALIDATOR)
        summary = run_validator(rc, task_id, x, y, ValidatorOptions(
            strategy=strategy, max_rounds=rounds))
    _finish(st, summary)


def aggregate(
    ctx: typer.Context,
    task_id: int = typer.Option(..., "--task", help="Task whose rounds to finalise."),
    key: str = KeyOpt, dev: str = DevOpt, password_file: Path = PasswordFileOpt,
) -> None:
    """Finalise the task's rounds that end at their deadline (a round whose whole electorate
    attests is finalised by the chain in that block). Anyone may run it, with a key of its
    own."""
    from decentralml_client.roles.aggregator import run_aggregator

    st = state(ctx)
    with _role_session(st, key, dev, password_file) as (_, _, rc):
        summary = run_aggregator(rc, task_id)
    _finish(st, summary)


def finalize(
    ctx: typer.Context,
    task_id: int = typer.Option(..., "--task", help="Task whose round to finalise."),
    round_: int = typer.Option(None, "--round", help="Round to finalise (default: current)."),
    key: str = KeyOpt, dev: str = DevOpt, password_file: Path = PasswordFileOpt,
) -> None:
    """Finalise a round once its model is adopted or its deadline has passed."""
    from decentralml_client.chain import DecentralMl

    st = state(ctx)
    with signed_connection(st, key, dev, password_file) as (signer, chain):
        dml = DecentralMl(chain)
        task = dml.task(task_id)
        if task is None:
            fail(f"task {task_id} does not exist")
        r = task.round if round_ is None else round_
        receipt = dml.finalize_round(signer.keypair, task_id, r)
    events = [e.qualname for e in receipt.events if e.pallet == "DecentralMl"]
    emit(st, {"task_id": task_id, "round": r, "events": events},
         lambda: out.print(f"finalised round {r} of task {task_id}: {', '.join(events)}"))
