"""The package keeps the structure docs/architecture.md draws (pure ast: nothing is imported).

* Layers: cli → dashboard, the demo → roles, services → chain | ml | storage → protocol, keys
  → the top-level helpers. A module imports only from its own package or from a lower layer;
  packages of one layer do not import each other (the top-level helpers aside).
* No import circles, between packages or between modules (imports for type checking only
  aside).
* Only ``chain/`` (and ``keys/account.py``, which signs with substrate-interface's ``Keypair``)
  imports substrate-interface, scalecodec or ``websocket``.
* No pallet error name is compared as a string above ``chain/``: roles decide on error kinds.
* No function over 120 lines (its parameter list aside), no file over 500.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "decentralml_client"
NAME = "decentralml_client"

#: Layer of each package (or top-level module); a module may import its own package and
#: anything of a lower layer.
LAYERS: dict[str, int] = {
    **dict.fromkeys(("config", "errors", "canonical", "hashing", "files", "units", "__init__",
                     "__main__"), 0),
    **dict.fromkeys(("keys", "protocol"), 1),
    **dict.fromkeys(("chain", "ml", "storage"), 2),
    **dict.fromkeys(("roles", "services"), 3),
    **dict.fromkeys(("dashboard", "demo"), 4),
    "cli": 5,
}

TRANSPORT = ("substrateinterface", "scalecodec", "websocket")
TRANSPORT_ALLOWED = {"chain", "keys/account.py"}

MAX_FUNCTION_LINES = 120
MAX_FILE_LINES = 500

# Functions allowed over the limit for now, as "path:name", each with the reason (none left).
FUNCTION_ALLOW: set[str] = set()


def modules() -> Iterator[tuple[str, Path]]:
    for path in sorted(PACKAGE.rglob("*.py")):
        yield path.relative_to(PACKAGE).as_posix(), path


def _dotted(rel: str) -> str:
    parts = rel.removesuffix(".py").split("/")
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join([NAME, *parts])


DOTTED = {_dotted(rel): rel for rel, _ in modules()}


def _type_only(tree: ast.Module) -> set[int]:
    """Ids of the import nodes under ``if TYPE_CHECKING:``."""
    out: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            out.update(id(n) for b in node.body for n in ast.walk(b))
    return out


def _imports(rel: str, tree: ast.Module, *, runtime: bool = False
             ) -> Iterator[tuple[str, int]]:
    """(imported module, line) for every import of the file (``runtime``: leaving out those
    for type checking only), resolved to a module of the package where it names one (``from
    pkg import name`` may name a module or an attribute)."""
    here = _dotted(rel).split(".")
    if not rel.endswith("__init__.py"):
        here = here[:-1]
    skip = _type_only(tree) if runtime else set()
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(here[: len(here) - node.level + 1] + ([base] if base else []))
            for alias in node.names:
                full = f"{base}.{alias.name}"
                yield (full if full in DOTTED else base), node.lineno


#: Top-level modules that form one unit.
UNITS = {"demo_run": "demo", "demo_cancel": "demo", "demo_network": "demo"}


def _unit(module: str) -> str | None:
    """The layer unit of a package module: its subpackage, or its top-level module name."""
    if not module.startswith(NAME + "."):
        return None
    name = module.split(".")[1]
    return UNITS.get(name, name)


def _graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for rel, path in modules():
        tree = ast.parse(path.read_text())
        me = _dotted(rel)
        graph[me] = set()
        for target, _ in _imports(rel, tree, runtime=True):
            while target not in DOTTED and "." in target:
                target = target.rsplit(".", 1)[0]
            if target in DOTTED and target != me and target != NAME:
                graph[me].add(target)
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one node (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_every_package_has_a_layer() -> None:
    units = {_unit(_dotted(rel)) for rel, _ in modules()} - {None}
    assert sorted(units - set(LAYERS)) == []


def test_imports_go_down_the_layers() -> None:
    wrong = []
    for rel, path in modules():
        mine = _unit(_dotted(rel))
        for target, line in _imports(rel, ast.parse(path.read_text())):
            theirs = _unit(target)
            if mine is None or theirs is None or theirs == mine:
                continue
            if LAYERS[theirs] > LAYERS[mine] or LAYERS[theirs] == LAYERS[mine] > 0:
                wrong.append(f"{rel}:{line} imports {target} ({mine} may not import {theirs})")
    assert wrong == []


def test_no_import_circles_between_modules_or_packages() -> None:
    graph = _graph()
    assert _cycles(graph) == []
    packages: dict[str, set[str]] = {}
    for module, targets in graph.items():
        a = _unit(module) or module
        for t in targets:
            b = _unit(t) or t
            if a != b:
                packages.setdefault(a, set()).add(b)
    assert _cycles(packages) == []


def test_only_the_chain_api_sees_the_transport() -> None:
    wrong = []
    for rel, path in modules():
        if rel.split("/")[0] in TRANSPORT_ALLOWED or rel in TRANSPORT_ALLOWED:
            continue
        for target, line in _imports(rel, ast.parse(path.read_text())):
            if target.split(".")[0] in TRANSPORT:
                wrong.append(f"{rel}:{line} imports {target}")
    assert wrong == []


def test_no_pallet_error_name_is_compared_as_a_string() -> None:
    """``exc.name == "WrongPhase"`` / ``exc.name in (...)`` above chain/: use ``exc.kind``."""
    wrong = []
    for rel, path in modules():
        if rel.startswith("chain/"):
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Compare) and isinstance(node.left, ast.Attribute) \
                    and node.left.attr == "name" and isinstance(node.left.value, ast.Name) \
                    and node.left.value.id in ("exc", "err", "error"):
                values = [c for c in node.comparators
                          if (isinstance(c, ast.Constant) and isinstance(c.value, str))
                          or isinstance(c, (ast.Tuple, ast.List, ast.Set))]
                if values:
                    wrong.append(f"{rel}:{node.lineno}")
    assert wrong == []


def _functions(tree: ast.Module) -> Iterator[ast.FunctionDef | ast.AsyncFunctionDef]:
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            yield node


def _length(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> int:
    """A function's lines from its ``def`` to its end, without the parameter list (a command's
    options are declarations, one or two lines each, not logic)."""
    return (fn.end_lineno or fn.lineno) - fn.body[0].lineno + 2


def test_no_function_is_over_120_lines() -> None:
    long = []
    for rel, path in modules():
        for fn in _functions(ast.parse(path.read_text())):
            lines = _length(fn)
            if lines > MAX_FUNCTION_LINES and f"{rel}:{fn.name}" not in FUNCTION_ALLOW:
                long.append(f"{rel}:{fn.name} ({lines} lines)")
    assert long == []


@pytest.mark.parametrize("rel", [rel for rel, _ in modules()])
def test_no_file_is_over_500_lines(rel: str) -> None:
    assert len((PACKAGE / rel).read_text().splitlines()) <= MAX_FILE_LINES
