"""Write docs/cli.md from the CLI's own definitions (run: uv run python scripts/gen_cli_doc.py)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import typer.main

from decentralml_client.cli.main import app

HEADER = """# CLI reference

Generated from the command definitions by `scripts/gen_cli_doc.py`; `decentralml COMMAND
--help` shows the same. Global options go before or after the command
(`decentralml --json task list` or `decentralml task list --json`).

Exit codes: `0` success, `1` failure, `2` bad usage, `3` chain or IPFS unreachable,
`4` refused by the chain (a named pallet error), `5` unknown key or wrong password, `130`
stopped by Ctrl-C (a role stops cleanly, its journal intact). Every error prints `error: …`
and `what to do: …`, never a traceback. With `--json`, results go to stdout as JSON and
progress to stderr. The role commands (`contribute`, `validate`, `aggregate`) print a line
as each thing happens: the task they joined, the phase they wait for (its end block and the
head), each step and its result (`round 1: committed update bafy… (block 190)`); with
`--json`, one JSON object per line instead.

Settings come from defaults, then the config file (`--config`, `$DML_CONFIG` or
`~/.config/decentralml/config.toml`), then the environment (`DML_NODE_URL`, `DML_IPFS_API`,
`DML_KEYSTORE`, `DML_DATA_DIR`), then the options. Signing commands take `--key NAME` (a
keystore key; password from `--password-file`, `DML_PASSWORD_FILE`, `DML_PASSWORD` or a
prompt) or `--dev NAME` (well-known dev accounts, dev chain only).
"""


def _params(cmd: Any) -> list[str]:
    rows = []
    panel = None
    for p in sorted(cmd.params, key=lambda p: _panel_order(cmd, p)):
        if p.hidden if hasattr(p, "hidden") else False:
            continue
        if getattr(p, "rich_help_panel", None) != panel:  # the groups --help shows
            panel = getattr(p, "rich_help_panel", None)
            rows.append(f"| **{panel or 'Options'}** | | |")
        if getattr(p, "param_type_name", "") == "argument":
            name = f"`{p.name.upper()}`"
        else:
            name = ", ".join(f"`{o}`" for o in p.opts + p.secondary_opts)
        shown = getattr(p, "show_default", None)
        if isinstance(shown, str):  # a default said in words ("66.7 %", "--min-validators")
            default = f"`{shown}`"
        else:
            default = "" if p.default is None or p.default is False or callable(p.default) \
                else f"`{p.default}`"
        help_ = (getattr(p, "help", "") or "").replace("|", "\\|")
        envvar = getattr(p, "envvar", None)
        if envvar and getattr(p, "show_envvar", False):
            help_ += f" Env: `{envvar}`."
        rows.append(f"| {name} | {help_} | {default} |")
    return rows


def _panel_order(cmd: Any, param: Any) -> int:
    """Options grouped by help panel, the panels in order of first appearance."""
    panels: list[Any] = []
    for p in cmd.params:
        if getattr(p, "rich_help_panel", None) not in panels:
            panels.append(getattr(p, "rich_help_panel", None))
    return panels.index(getattr(param, "rich_help_panel", None))


def _walk(cmd: Any, path: list[str], out: list[str]) -> None:
    if hasattr(cmd, "commands"):
        if path:
            out.append(f"## `decentralml {' '.join(path)}`\n\n{(cmd.help or '').strip()}\n")
        for name in sorted(cmd.commands):
            _walk(cmd.commands[name], [*path, name], out)
        return
    out.append(f"{'##' if len(path) == 1 else '###'} `decentralml {' '.join(path)}`\n")
    out.append((cmd.help or "").strip() + "\n")
    rows = _params(cmd)
    if rows:
        out += ["| option | meaning | default |", "|---|---|---|", *rows, ""]


TARGET = Path(__file__).resolve().parent.parent / "docs" / "cli.md"


def render() -> str:
    """The text of docs/cli.md, from the CLI's command definitions."""
    root = typer.main.get_command(app)
    out = [HEADER, "## Global options\n", "| option | meaning | default |", "|---|---|---|",
           *_params(root), ""]
    _walk(root, [], out)
    return "\n".join(out).rstrip() + "\n"


def main() -> int:
    target = TARGET
    target.write_text(render())
    print(f"wrote {target}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
