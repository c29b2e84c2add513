"""``decentralml keys``: the encrypted keystore."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.table import Table

from decentralml_client.cli._common import (
    Exit,
    PasswordFileOpt,
    console,
    emit,
    errors_to_exit,
    fail,
    out,
    password,
    state,
    stdin_line,
)

if TYPE_CHECKING:
    from decentralml_client.keys import Keystore

app = typer.Typer(help="Create, restore, list, import and export keys (ed25519, encrypted at "
                       "rest).",
                  no_args_is_help=True)


KeyNameArg = typer.Argument(..., help="Name of the key in the keystore.")


def _store(ctx: typer.Context) -> Keystore:
    from decentralml_client.keys import Keystore

    return Keystore(state(ctx).settings.keystore)


@app.command("new")
def new(ctx: typer.Context, name: str = typer.Argument(..., help="Name of the new key."),
        words: int = typer.Option(12, "--words", help="Words of the recovery phrase: 12, 15, "
                                  "18, 21 or 24."),
        password_file: Path = PasswordFileOpt) -> None:
    """Create a new key, encrypted with a password (argon2id + SecretBox), and show its
    recovery phrase (BIP-39) once: with it, `decentralml keys restore` recreates the key on
    any machine (polkadot.js and subkey derive the same ed25519 account from it)."""
    if words not in (12, 15, 18, 21, 24):
        fail("--words must be 12, 15, 18, 21 or 24", Exit.USAGE)
    with errors_to_exit():
        store = _store(ctx)
        pw = password(name, confirm=True, password_file=password_file)
        info, phrase = store.create_with_mnemonic(name, pw, words=words)
    # The phrase goes to the terminal (stderr) only: never into --json output or a log file.
    console.print(f"recovery phrase of [bold]{info.name}[/] (shown once, stored nowhere; "
                  "write it down and keep it offline):", highlight=False, soft_wrap=True)
    console.print(f"  [bold yellow]{phrase}[/]", highlight=False, soft_wrap=True)
    emit(state(ctx), info.as_dict(), lambda: out.print(
        f"created [bold]{info.name}[/] {info.ss58_address}"))


@app.command("restore")
def restore(ctx: typer.Context, name: str = typer.Argument(..., help="Name of the restored key."),
            password_file: Path = PasswordFileOpt) -> None:
    """Recreate a key from its recovery phrase (asked for, never echoed; read from stdin when
    there is no terminal), encrypted with a new password."""
    import sys

    with errors_to_exit():
        store = _store(ctx)
        if store.exists(name):
            from decentralml_client.keys import KeyExists

            raise KeyExists(f"a key named {name!r} exists")
        if sys.stdin.isatty():
            phrase = str(typer.prompt("Recovery phrase", hide_input=True))
        else:
            phrase = stdin_line()
        if not phrase.split():
            fail("no recovery phrase given", Exit.USAGE)
        from decentralml_client.keys import mnemonic_to_seed

        seed = mnemonic_to_seed(phrase)  # checked before a password is asked for
        del phrase
        info = store.create(name, password(name, confirm=True, password_file=password_file),
                            seed=seed)
    emit(state(ctx), info.as_dict(),
         lambda: out.print(f"restored [bold]{info.name}[/] {info.ss58_address}"))


@app.command("import")
def import_(ctx: typer.Context, name: str = KeyNameArg,
            secret_file: Path = typer.Option(..., "--secret-file", exists=True, dir_okay=False,
                                             help="File with a 32-byte hex seed or a mnemonic."),
            password_file: Path = PasswordFileOpt) -> None:
    """Import a key from a seed or mnemonic kept in a file (never on the command line)."""
    with errors_to_exit():
        info = _store(ctx).import_seed(name, secret_file.read_text().strip(),
                                       password(name, confirm=True, password_file=password_file))
    emit(state(ctx), info.as_dict(),
         lambda: out.print(f"imported [bold]{name}[/] {info.ss58_address}"))


@app.command("list")
def list_(ctx: typer.Context) -> None:
    """List the keystore's keys (public parts only)."""
    infos = _store(ctx).list()

    def human() -> None:
        t = Table("name", "address", "x25519 public key")
        for i in infos:
            t.add_row(i.name, i.ss58_address, i.x25519_public_hex)
        out.print(t)

    emit(state(ctx), [i.as_dict() for i in infos], human)


@app.command("export")
def export(ctx: typer.Context, name: str = KeyNameArg) -> None:
    """Print a key's public parts (address, public key, X25519 key). Secrets never leave."""
    with errors_to_exit():
        info = _store(ctx).export_public(name)
    emit(state(ctx), info.as_dict())
