"""What every command shares: settings, the signer, output (table or JSON) and exit codes."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import typer
from rich.console import Console

from decentralml_client.config import ConfigError, Settings, load_settings, load_settings_given
from decentralml_client.errors import DecentralMLError
from decentralml_client.units import fmt_units as fmt_units

if TYPE_CHECKING:  # imported where used: the CLI starts fast
    from decentralml_client.chain import Chain, Role
    from decentralml_client.keys import Account
    from decentralml_client.storage import IpfsStore

console = Console(stderr=True)
out = Console()


class Exit:
    """Exit codes, documented in docs/cli.md."""

    OK = 0
    FAILED = 1  # the command failed (bad input, refused by the chain, ...)
    USAGE = 2  # wrong arguments (Typer's own)
    UNREACHABLE = 3  # chain or IPFS not reachable
    REFUSED = 4  # the chain refused a transaction with a named error
    AUTH = 5  # wrong keystore password / unknown key
    INTERRUPTED = 130  # stopped by Ctrl-C (SIGINT) or SIGTERM


@dataclass
class State:
    settings: Settings
    json: bool = False


def state(ctx: typer.Context) -> State:
    obj = ctx.find_root().obj
    if obj is None:
        obj = State(settings=load_settings())
        ctx.find_root().obj = obj
    return obj  # type: ignore[no-any-return]


def init_state(ctx: typer.Context, *, config: Path | None, node: str | None, ipfs: str | None,
               keystore: Path | None, json_out: bool) -> None:
    try:
        settings, given = load_settings_given(config, node_url=node, ipfs_api=ipfs,
                                              keystore=keystore)
    except ConfigError as exc:
        fail(str(exc), Exit.USAGE, exc.hint)
    recorded: dict[str, Any] = {k: v for k, v in devnet_endpoints(settings.devnet_dir).items()
                                if k not in given}
    ctx.obj = State(settings=replace(settings, **recorded), json=json_out)


def devnet_endpoints(devnet_dir: Path) -> dict[str, str]:
    """The chain URL (``node_url``) and Kubo API (``ipfs_api``) a running `devnet up` recorded
    in ``devnet_dir`` (services/devnet.py's ``devnet.json``, services/stack.py's
    ``kubo.json``); a recorded process that is gone is left out. Read here without importing
    the launcher, so that every command starts fast."""
    found: dict[str, str] = {}
    for name, setting, field_ in (("devnet.json", "node_url", "url"),
                                  ("kubo.json", "ipfs_api", "api")):
        try:
            info = json.loads((devnet_dir / name).read_text())
            pid, value = int(info["pid"]), str(info[field_])
        except (OSError, ValueError, KeyError, TypeError):
            continue
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            continue
        except PermissionError:  # alive, another user's
            pass
        found[setting] = value
    return found


def plain_flags_in_help() -> None:
    """``--help`` shows no type for an on/off flag (Typer prints ``<bool>`` beside every one,
    as if it took a value): one patch of Typer's option class, so every command gets it."""
    from typer.core import TyperOption

    shown = TyperOption.display_type_rich

    def display_type_rich(self: TyperOption, ctx: Any) -> str | None:
        return None if self.is_flag else shown(self, ctx)

    setattr(TyperOption, "display_type_rich", display_type_rich)  # noqa: B010 (a method)


# The global options (``decentralml --json task list``) and whether each takes a value. They
# may also follow the command (``decentralml task list --json``): see hoist_global_options.
GLOBAL_OPTIONS: dict[str, bool] = {
    "--config": True, "--node": True, "--ipfs": True, "--keystore": True, "--json": False,
}


def hoist_global_options(root: Any, args: list[str]) -> list[str]:
    """``args`` with the global options found after the command moved in front of it.

    ``decentralml demo --malicious 1 --json`` becomes ``decentralml --json demo --malicious 1``
    (``root`` is the CLI's root command group). The command's own options win: an option the
    command itself defines (``simulate --json``) stays where it is, and so does everything
    after ``--``. An unknown command is left for the parser to report.
    """
    i = 0  # the root's own options come first, then the command path through the groups
    while i < len(args) and args[i].startswith("-") and args[i] != "--":
        i += 2 if GLOBAL_OPTIONS.get(args[i], False) else 1
    start, command = i, root
    while (i < len(args) and not args[i].startswith("-")
           and getattr(command, "commands", None) is not None):
        command = command.commands.get(args[i])
        if command is None:
            return args
        i += 1
    options = [p for p in command.params if p.param_type_name == "option"]
    own = {name for p in options for name in (*p.opts, *p.secondary_opts)}
    takes_value = {name for p in options if not p.is_flag and not p.count for name in p.opts}
    hoisted: list[str] = []
    kept = args[start:i]
    while i < len(args):
        token = args[i]
        name, eq, _ = token.partition("=")
        if token == "--":
            kept.extend(args[i:])
            break
        if name in GLOBAL_OPTIONS and name not in own:
            width = 2 if GLOBAL_OPTIONS[name] and not eq else 1
            hoisted.extend(args[i:i + width])
        else:
            width = 2 if token in takes_value else 1
            kept.extend(args[i:i + width])
        i += width
    # After the options already in front: the one written last wins, as anywhere in click.
    return args[:start] + hoisted + kept


def fail(message: str, code: int = Exit.FAILED, hint: str = "") -> NoReturn:
    report(message, hint)
    raise typer.Exit(code)


def emit(st: State, data: Any, human: Callable[[], None] | None = None) -> None:
    """Print ``data`` as JSON on stdout with --json, else call ``human`` (or pretty-print)."""
    if st.json:
        sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")
    elif human is not None:
        human()
    else:
        out.print_json(json.dumps(data, default=str))


def _exit_code(exc: DecentralMLError) -> int:
    """The exit code of a project error (see :class:`Exit`)."""
    from decentralml_client.chain.errors import ChainUnreachable, PalletError, TransactionRejected
    from decentralml_client.demo_cancel import DemoInterrupted
    from decentralml_client.keys import KeyNotFound, WrongPassword
    from decentralml_client.roles.common import Stopped
    from decentralml_client.storage.errors import StorageUnavailable

    codes: list[tuple[tuple[type[DecentralMLError], ...], int]] = [
        ((ChainUnreachable, StorageUnavailable), Exit.UNREACHABLE),
        ((PalletError, TransactionRejected), Exit.REFUSED),
        ((WrongPassword, KeyNotFound), Exit.AUTH),
        ((ConfigError,), Exit.USAGE),
        ((Stopped, DemoInterrupted), Exit.INTERRUPTED),
    ]
    for kinds, code in codes:
        if isinstance(exc, kinds):
            return code
    return Exit.FAILED


def report(message: str, hint: str = "") -> None:
    """Print ``error: message`` and, unless the message already says it, ``what to do: hint``."""
    console.print(f"[bold red]error:[/] {message}", highlight=False)
    if hint and hint not in message:
        console.print(f"[bold]what to do:[/] {hint}", highlight=False)


@contextmanager
def errors_to_exit() -> Iterator[None]:
    """Turn the project's exceptions into a message, a hint and an exit code, no traceback.

    Every :class:`DecentralMLError` maps to an :class:`Exit` code; a file the command could not
    read or write exits :attr:`Exit.FAILED`; Ctrl-C exits :attr:`Exit.INTERRUPTED` (130).
    """
    try:
        yield
    except DecentralMLError as exc:
        # A bare ``raise Stopped`` has no message: its docstring says what happened.
        report(str(exc) or (type(exc).__doc__ or type(exc).__name__).strip(), exc.hint)
        raise typer.Exit(_exit_code(exc)) from None
    except KeyboardInterrupt:
        report("interrupted", "run the command again; roles resume from their journal.")
        raise typer.Exit(Exit.INTERRUPTED) from None
    except OSError as exc:  # a file named on the command line: missing, unreadable, ...
        report(str(exc), "check the path and its permissions.")
        raise typer.Exit(Exit.FAILED) from None


def password(prompt_name: str, *, confirm: bool = False, password_file: Path | None = None) -> str:
    """The keystore password: --password-file, $DML_PASSWORD_FILE, $DML_PASSWORD, or a prompt."""
    if password_file is None and os.environ.get("DML_PASSWORD_FILE"):
        password_file = Path(os.environ["DML_PASSWORD_FILE"])
    if password_file is not None:
        return password_file.read_text().rstrip("\n")
    env = os.environ.get("DML_PASSWORD")
    if env:
        return env
    if not sys.stdin.isatty():
        fail("no password: pass --password-file or set DML_PASSWORD (no terminal to ask on)",
             Exit.AUTH)
    return str(typer.prompt(f"Password for key '{prompt_name}'", hide_input=True,
                            confirmation_prompt=confirm))


def load_signer(st: State, key: str | None, dev: str | None,
                password_file: Path | None) -> Account:
    """The account that signs: a keystore key (``--key``) or a dev account (``--dev``)."""
    from decentralml_client.keys import Keystore, dev_account

    if dev:
        return dev_account(dev)
    if not key:
        fail("choose the signing account with --key NAME (see `decentralml keys list`) "
             "or, on the dev chain, --dev alice", Exit.USAGE)
    ks = Keystore(st.settings.keystore)
    return ks.load(key, password(key, password_file=password_file))


KeyOpt = typer.Option(None, "--key", "-k", help="Keystore key that signs.")
DevOpt = typer.Option(None, "--dev",
                      help="Well-known dev account (alice, bob, ...): dev chain only.")
PasswordFileOpt = typer.Option(None, "--password-file", help="File holding the key's password.",
                               exists=True, dir_okay=False)


def connect(st: State) -> Chain:
    """The chain at the configured URL, checked against pallet-abi/."""
    from decentralml_client.chain import Chain

    return Chain(st.settings.node_url)


@contextmanager
def signed_connection(st: State, key: str | None, dev: str | None,
                      password_file: Path | None) -> Iterator[tuple[Account, Chain]]:
    """The signing account and a connection to the node, for a command that sends
    transactions; a project error inside ends the command with its message and exit code."""
    with errors_to_exit():
        signer = load_signer(st, key, dev, password_file)
        with connect(st) as chain:
            yield signer, chain


YesOpt = typer.Option(False, "--yes", "-y",
                      help="Send without asking to confirm (the fee is still shown).")


def call_fee(chain: Chain, signer: Account, call: str, params: dict[str, Any], *,
             pallet: str = "DecentralMl") -> int | None:
    """The fee ``signer`` would pay for ``pallet.call(params)`` now (the node's
    ``payment_queryInfo``), or None when the node cannot say."""
    try:
        composed = chain.substrate.compose_call(pallet, call, params)
        info = chain.substrate.get_payment_info(composed, signer.keypair)
        return int(info.get("partial_fee", info.get("partialFee")))
    except Exception:  # a fee estimate is advice: the transaction itself is checked by the node
        return None


def confirm_send(chain: Chain, signer: Account, what: str, call: str, params: dict[str, Any],
                 *, yes: bool, pallet: str = "DecentralMl") -> None:
    """Show what a value-moving transaction does and its fee; unless ``yes``, ask before
    sending (the answer is read from the terminal, or from stdin when there is none; no
    answer is a no). Stops the command when the answer is no."""
    fee = call_fee(chain, signer, call, params, pallet=pallet)
    console.print(f"{what}; fee {fmt_units(fee) if fee is not None else 'unknown'} "
                  f"(paid by {signer.name or signer.ss58_address})", highlight=False)
    if yes:
        return
    if sys.stdin.isatty():
        try:
            ok = typer.confirm("Send it?", default=False, err=True)
        except typer.Abort:  # Ctrl-D
            ok = False
    else:
        console.print("Send it? [y/N]: ", end="", highlight=False, markup=False)
        ok = stdin_line().strip().lower() in ("y", "yes")
    if not ok:
        fail("not sent", Exit.FAILED, "answer y to send it, or pass --yes.")


def stdin_line() -> str:
    """One line of standard input, read without buffering ahead: commands that read their
    answers from a pipe (a script answering ``y`` to several commands in turn) take only
    their own line and leave the rest to the next command. "" at the end of input."""
    try:
        fd = sys.stdin.fileno()
    except (OSError, ValueError):  # not a file (a test's in-memory input): nothing to share
        return sys.stdin.readline()
    data = bytearray()
    while not data.endswith(b"\n"):
        chunk = os.read(fd, 1)
        if not chunk:
            break
        data += chunk
    return data.decode(errors="replace")


def open_store(st: State) -> IpfsStore:
    """IPFS at the configured API, with the local content cache under the data dir."""
    from decentralml_client.storage import IpfsStore

    store = IpfsStore(st.settings.ipfs_api, cache_dir=st.settings.data_dir / "cache")
    if not store.is_available():
        from decentralml_client.storage.errors import StorageUnavailable

        raise StorageUnavailable(
            f"no IPFS API answers at {st.settings.ipfs_api}: start one with "
            "`decentralml devnet up`, or set --ipfs / DML_IPFS_API"
        )
    return store


def parse_units(text: str) -> int:
    """``"12.5"`` DML → plancks."""
    from decimal import Decimal, InvalidOperation

    from decentralml_client.chain import UNIT

    try:
        value = Decimal(text)
    except InvalidOperation:
        fail(f"{text!r} is not an amount (use e.g. 10 or 2.5)", Exit.USAGE)
    if value < 0:
        fail("amounts cannot be negative", Exit.USAGE)
    return int(value * UNIT)


def parse_role(text: str) -> Role:
    """``contributor`` or ``validator`` (any prefix of at least ``contrib``/``valid``)."""
    from decentralml_client.chain import Role

    t = text.strip().lower()
    if t.startswith("contrib"):
        return Role.CONTRIBUTOR
    if t.startswith("valid"):
        return Role.VALIDATOR
    fail(f"role must be contributor or validator, not {text!r}", Exit.USAGE)
