"""The house rules of DESIGN.md that code can check: import arrows point one way,
and the dependency pins that protect users are really in force."""

from __future__ import annotations

import ast
import importlib.metadata
import site
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# room -> top-level packages it must never import. benchmarks/perf/ is exempt: the
# performance benchmarks measure every room, so they may import any of them.
EXEMPT = {"benchmarks/perf"}
FORBIDDEN = {
    "archive": {"dgm", "sandbox", "benchmarks"},
    "sandbox": {"dgm", "archive", "benchmarks"},
    "benchmarks": {"dgm", "archive"},
}


def imported_roots(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    roots = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots.add(node.module.split(".")[0])
    return roots


@pytest.mark.parametrize("room", sorted(FORBIDDEN))
def test_lower_rooms_do_not_import_upper_rooms(room: str) -> None:
    offenders = []
    for path in (ROOT / room).rglob("*.py"):
        if any(path.relative_to(ROOT).as_posix().startswith(e + "/") for e in EXEMPT):
            continue
        bad = imported_roots(path) & FORBIDDEN[room]
        if bad:
            offenders.append(f"{path.relative_to(ROOT)} imports {sorted(bad)}")
    assert offenders == []


def test_litellm_is_the_vetted_pin() -> None:
    # 1.82.7 and 1.82.8 were published by an attacker; the lock pins 1.82.6 exactly.
    assert importlib.metadata.version("litellm") == "1.82.6"
    lock = (ROOT / "requirements.lock").read_text()
    assert "\nlitellm==1.82.6 \\\n" in lock


def test_no_startup_hooks_planted_in_site_packages() -> None:
    # The compromised litellm 1.82.8 ran its payload from a .pth file at every start.
    dirs = {Path(p) for p in site.getsitepackages() + [sys.prefix]}
    pth = [p.name for d in dirs if d.is_dir() for p in d.glob("*.pth")]
    suspicious = [n for n in pth if "litellm" in n.lower()]
    assert suspicious == []


# -- import circles ----------------------------------------------------------------------
# Every import counts, wherever it stands: a function's deferred import and an
# `if TYPE_CHECKING:` one too. A circle that only a deferred import keeps from failing at
# start-up is still two modules that cannot be read (or changed) one without the other.
CIRCLE_EXEMPT = ("benchmarks/perf/", "archive/migrations/", "/shipped/", "/swe_mini/repos/")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def room_modules() -> dict[str, Path]:
    found = {}
    for room in ("dgm", *FORBIDDEN):
        for path in (ROOT / room).rglob("*.py"):
            rel = "/" + path.relative_to(ROOT).as_posix()
            if not any(e in rel or rel.startswith("/" + e) for e in CIRCLE_EXEMPT):
                found[module_name(path)] = path
    return found


def imported_modules(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """The modules of `modules` that `name` imports: `from a import b` is a.b when that is
    a module, else a."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name in modules}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                up = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(up + ([node.module] if node.module else []))
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                found |= {sub} if sub in modules else ({base} if base in modules else set())
    return found - {name}


def import_circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected groups of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    circles = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while not group or group[-1] != v:
                group.append(stack.pop())
            if len(group) > 1:
                circles.append(sorted(group))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return circles


def test_import_circles_are_found() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": set()}
    assert import_circles(graph) == [["a", "b", "c"]]


def test_no_import_circles_in_the_rooms() -> None:
    modules = room_modules()
    assert {"dgm.session", "archive.store", "sandbox", "benchmarks.problems"} <= set(modules)
    graph = {name: imported_modules(name, path, modules) for name, path in modules.items()}
    assert sum(map(len, graph.values())) > 300  # the graph is really read
    assert import_circles(graph) == []


def test_nothing_below_the_cli_imports_it() -> None:
    offenders = [
        name
        for name, path in room_modules().items()
        if not name.startswith("dgm.cli")
        and any(m == "dgm.cli" or m.startswith("dgm.cli.") for m in imported_modules_all(path))
    ]
    assert offenders == []


def imported_modules_all(path: Path) -> set[str]:
    """Every module name `path` imports, by its absolute name."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names |= {node.module} | {f"{node.module}.{a.name}" for a in node.names}
    return names
