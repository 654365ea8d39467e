"""The simulator's layout (issue 11): one package per venue, nothing imported from the client
side, no import circles, no class over ~400 lines, helpers in one place."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

SIM_DIR = Path(__file__).resolve().parents[2] / "python" / "hftpy" / "sim"
VENUES = ("kraken", "binance", "backpack", "upbit")
MAX_CLASS_LINES = 420  # "no class over ~400 lines"


def _module_name(path: Path) -> str:
    parts = path.relative_to(SIM_DIR.parent.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, ast.Module]:
    return {
        _module_name(path): ast.parse(path.read_text(), str(path))
        for path in sorted(SIM_DIR.rglob("*.py"))
    }


def _imports(module: str, tree: ast.Module, is_package: bool) -> Iterator[str]:
    """Absolute names of what `module` imports at import time (not under TYPE_CHECKING)."""
    package = module if is_package else module.rpartition(".")[0]
    for node in tree.body:
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            continue
        for sub in ast.walk(node):
            if isinstance(sub, ast.Import):
                yield from (alias.name for alias in sub.names)
            elif isinstance(sub, ast.ImportFrom):
                if sub.level == 0:
                    base = sub.module or ""
                else:
                    base = ".".join(package.split(".")[: len(package.split(".")) - sub.level + 1])
                    if sub.module:
                        base = f"{base}.{sub.module}"
                if sub.module:  # `from . import x` loads x, not (again) the package
                    yield base
                yield from (f"{base}.{alias.name}" for alias in sub.names)


def _graph() -> dict[str, set[str]]:
    trees = _modules()
    packages = {_module_name(p) for p in SIM_DIR.rglob("__init__.py")}
    return {
        name: {dep for dep in _imports(name, tree, name in packages) if dep in trees}
        for name, tree in trees.items()
    }


def test_simulator_imports_nothing_from_the_client_side() -> None:
    """sim/ is an independent implementation: inside hftpy it imports only hftpy.sim."""
    for name, tree in _modules().items():
        is_package = (SIM_DIR.parent.parent / name.replace(".", "/") / "__init__.py").exists()
        for dep in _imports(name, tree, is_package):
            if dep == "hftpy" or dep.startswith("hftpy."):
                assert dep.startswith("hftpy.sim"), f"{name} imports {dep}"


def test_one_package_per_venue() -> None:
    for venue in VENUES:
        assert (SIM_DIR / venue / "__init__.py").is_file(), f"sim/{venue}/ is not a package"
    flat = {p.stem for p in SIM_DIR.glob("*.py")}
    leftovers = sorted(n for n in flat if any(n.startswith(v) for v in VENUES))
    assert not leftovers, f"venue modules outside their package: {leftovers}"


def test_no_import_circles() -> None:
    graph = _graph()
    state: dict[str, int] = {}  # 1: on the path, 2: done

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for dep in sorted(graph[node]):
            if state.get(dep) == 1:
                cycle = [*path[path.index(dep) :], dep] if dep in path else [node, dep]
                pytest.fail("import circle: " + " -> ".join(cycle))
            if dep not in state:
                visit(dep, [*path, dep])
        state[node] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])


def test_no_class_is_over_400_lines() -> None:
    too_long = []
    for path in sorted(SIM_DIR.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.ClassDef) and node.end_lineno is not None:
                lines = node.end_lineno - node.lineno + 1
                if lines > MAX_CLASS_LINES:
                    too_long.append(f"{path.relative_to(SIM_DIR)}:{node.name} ({lines} lines)")
    assert not too_long, too_long


def test_one_venue_error_and_no_private_copies_of_the_wire_helpers() -> None:
    """Every refusal is a VenueError; number text, JSON answers and key renaming come from
    wire.py (a venue's own `_json`, `_units`, `_rename`, `_plain`, `_money` was a copy)."""
    copied = {"_json", "_units", "_rename", "_plain", "_money", "_amount_text", "_ms"}
    found = []
    for path in sorted(SIM_DIR.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            is_error = isinstance(node, ast.ClassDef) and node.name.endswith("Error")
            if is_error and node.name != "VenueError":
                found.append(f"{path.relative_to(SIM_DIR)}: class {node.name}")
            if isinstance(node, ast.FunctionDef) and node.name in copied:
                found.append(f"{path.relative_to(SIM_DIR)}: def {node.name}")
    assert not found, found


def test_readme_names_every_venue() -> None:
    text = (SIM_DIR / "README.md").read_text()
    for venue in VENUES:
        assert f"## {venue.capitalize()}" in text or f"## {venue}" in text
