"""Every ``decentralml ...`` line the README and docs/ quote parses against the real CLI.

The lines are taken from fenced code blocks (whole command lines, which must be complete) and
inline code spans (which name commands and options: they may leave out required inputs, or
name an option without its value, e.g. ``decentralml devnet up --port``). Each is parsed
by the CLI's own parser, as ``decentralml`` would, with resilient parsing off; no command runs.
Placeholders (``TASK``, ``<id>``, ``$k``, ``K``, ``a|b|c``, ``[--opt X]``, ``up/status/down``)
become sample values first.
"""

from __future__ import annotations

import itertools
import re
import shlex
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import typer.main
from typer.testing import CliRunner

from decentralml_client.cli._common import Exit, hoist_global_options
from decentralml_client.cli.main import app
from decentralml_client.config import REPO_ROOT

ROOT = typer.main.get_command(app)
DOCS = [REPO_ROOT / "README.md", *sorted((REPO_ROOT / "docs").glob("*.md"))]
FENCE = re.compile(r"^\s*(```|~~~)")
INLINE = re.compile(r"`([^`]+)`")
START = re.compile(r"^(?:\$\s+)?(?:do\s+)?(?:uv run\s+)?(decentralml\s.*|decentralml)$")
PLACEHOLDER = re.compile(r"^(?:[A-Z][A-Z0-9_]*|<[^>]+>|\$\w+|σ)$")
SAMPLE_COMMAND = "demo"  # for ``decentralml COMMAND --help``


@dataclass(frozen=True)
class Documented:
    source: str  # file:line
    text: str  # the command line as written
    inline: bool  # from an inline code span (may end with an option named without a value)

    def __str__(self) -> str:
        return f"{self.source}: {self.text}"


def _commands_in(segment: str) -> Iterator[str]:
    """The ``decentralml ...`` commands in one shell line (after ``;``, ``&&``, ``do``)."""
    for part in re.split(r";|&&|\|\|", segment):
        m = START.match(part.strip())
        if m:
            yield m.group(1).strip().removesuffix("&").strip()


def documented_lines() -> list[Documented]:
    found: list[Documented] = []
    for path in DOCS:
        name = path.relative_to(REPO_ROOT)
        lines = path.read_text().splitlines()
        fenced, prose = False, []
        i = 0
        while i < len(lines):
            line, number = lines[i], i + 1
            if FENCE.match(line):
                fenced = not fenced
                prose.append("")
                i += 1
                continue
            if not fenced:
                prose.append(line)
                i += 1
                continue
            prose.append("")
            while line.rstrip().endswith("\\") and i + 1 < len(lines):  # continuation lines
                i += 1
                line = line.rstrip()[:-1] + " " + lines[i].strip()
                prose.append("")
            code = re.sub(r"(^|\s)#.*$", "", line)  # shell comment
            found += [Documented(f"{name}:{number}", c, False) for c in _commands_in(code)]
            i += 1
        text = "\n".join(prose)
        for m in INLINE.finditer(text):
            span = " ".join(m.group(1).split())
            number = text.count("\n", 0, m.start()) + 1
            found += [Documented(f"{name}:{number}", c, True) for c in _commands_in(span)
                      if c != "decentralml"]  # the runtime's spec name, not a command line
    return found


DOCUMENTED = documented_lines()


def _token(token: str) -> str:
    token = token.removeprefix("[").removesuffix("]")
    if token == "COMMAND":
        return SAMPLE_COMMAND
    if PLACEHOLDER.match(token):
        return "1"
    if "|" in token and not token.startswith("-"):
        return token.split("|")[0]
    return token


def _variants(tokens: list[str]) -> Iterator[list[str]]:
    """``devnet up/status/down`` is three commands; everything else one."""
    command: Any = ROOT
    for i, token in enumerate(tokens):
        commands = getattr(command, "commands", None)
        if commands is None or token.startswith("-"):
            continue
        if token not in commands and "/" in token and all(t in commands
                                                          for t in token.split("/")):
            for alternative in token.split("/"):
                yield from _variants([*tokens[:i], alternative, *tokens[i + 1:]])
            return
        command = commands.get(token, command)
    yield tokens


def _must_exist(param: Any) -> bool:
    """A path option declared with ``exists=True`` (Typer keeps that in its parameter info)."""
    info = getattr(getattr(param, "type_descriptor", None), "parameter_info", None)
    return bool(getattr(info, "exists", False))


def parse(args: list[str], *, inline: bool, workdir: Path) -> None:
    """Parse ``decentralml ARGS`` down to the leaf command, as the CLI would; run nothing.

    Raises the parser's usage error when the line does not parse.
    """
    args = hoist_global_options(ROOT, args)
    ctx = ROOT.make_context("decentralml", args, resilient_parsing=False)
    command: Any = ROOT
    while getattr(command, "commands", None) is not None:
        # What the group itself hands on to its subcommand (as TyperGroup.invoke does).
        rest = [*ctx._protected_args, *ctx.args]
        if not rest:
            return  # a group alone prints its help
        name, command, rest = command.resolve_command(ctx, rest)
        options = {o: p for p in command.params if p.param_type_name == "option" for o in p.opts}
        if inline and rest and rest[-1] in options and not options[rest[-1]].is_flag:
            rest = rest[:-1]  # ``decentralml dashboard --port``: an option named, no value
        for opt, value in itertools.pairwise(rest):
            param = options.get(opt)
            if param is not None and _must_exist(param):
                (workdir / value).parent.mkdir(parents=True, exist_ok=True)
                (workdir / value).touch()  # a documented input file, e.g. --data my-data.npz
        ctx = command.make_context(name, rest, parent=ctx, resilient_parsing=False)


def test_the_docs_quote_commands() -> None:
    sources = {d.source.split(":")[0] for d in DOCUMENTED}
    assert {"README.md", "docs/quickstart.md", "docs/dashboard.md"} <= sources, sources
    assert len(DOCUMENTED) >= 20


@pytest.mark.parametrize("line", DOCUMENTED, ids=str)
def test_documented_command_parses(line: Documented, tmp_path: Path,
                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    tokens = [_token(t) for t in shlex.split(line.text)[1:]]
    for variant in _variants(tokens):
        try:
            parse(variant, inline=line.inline, workdir=tmp_path)
        except Exception as exc:  # noqa: BLE001 - report the parser's own message
            if exc.__class__.__name__ in ("Exit", "NoArgsIsHelpError"):
                continue  # --help, or a group named alone: both print help
            if line.inline and exc.__class__.__name__ == "MissingParameter":
                continue  # prose names a command (`decentralml task show`) without its inputs
            pytest.fail(f"{line}\n  parsed as: decentralml {shlex.join(variant)}\n"
                        f"  {exc.__class__.__name__}: {exc}")


# -- global options after the command ---------------------------------------------------------

@pytest.mark.parametrize("args, expected", [
    (["demo", "--malicious", "1", "--json"], ["--json", "demo", "--malicious", "1"]),
    (["task", "list", "--json", "--node", "ws://h:1"],
     ["--json", "--node", "ws://h:1", "task", "list"]),
    (["task", "--json", "list"], ["--json", "task", "list"]),
    (["--node", "ws://a:1", "task", "show", "0", "--node=ws://b:1"],
     ["--node", "ws://a:1", "--node=ws://b:1", "task", "show", "0"]),
    (["simulate", "--json"], ["simulate", "--json"]),  # simulate's own --json
    (["keys", "new", "--", "--json"], ["keys", "new", "--", "--json"]),
    (["no-such-command", "--json"], ["no-such-command", "--json"]),
])
def test_global_options_may_follow_the_command(args: list[str], expected: list[str]) -> None:
    assert hoist_global_options(ROOT, args) == expected


def test_global_options_after_the_command_take_effect() -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        url = f"ws://127.0.0.1:{s.getsockname()[1]}"
    result = CliRunner().invoke(app, ["task", "list", "--node", url, "--json"])
    assert result.exit_code == Exit.UNREACHABLE, result.output
    assert url in result.output
    ctx = ROOT.make_context("decentralml", ["demo", "--malicious", "1", "--json"])
    assert ctx.params["json_out"] is True
