"""The user-facing package documents itself: every public method and property of every
public class has a docstring (the simulator, `hftpy.sim`, aside), and every field of the
event and response dataclasses has a `#:` comment or a mention in its class docstring.

Read from the source with `ast`, so the check needs nothing imported and names the file and
line of each gap."""

from __future__ import annotations

import ast
import dataclasses
from pathlib import Path

import pytest

from hftpy.exchange.orders import Fill, OrderUpdate
from hftpy.exchange.ws_api import WsResponse

PACKAGE = Path(__file__).resolve().parent.parent / "python" / "hftpy"
#: The Rust extension's stub: its classes are the market-data events and book views.
STUB = PACKAGE / "_core.pyi"


def _sources() -> list[Path]:
    files = [p for p in sorted(PACKAGE.rglob("*.py")) if "sim" not in p.relative_to(PACKAGE).parts]
    return [*files, STUB]


def _is_overload(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    return any(isinstance(d, ast.Name) and d.id == "overload" for d in fn.decorator_list)


def _is_setter(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    return any(isinstance(d, ast.Attribute) and d.attr == "setter" for d in fn.decorator_list)


def _public_classes(path: Path) -> list[ast.ClassDef]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    return [n for n in ast.walk(tree) if isinstance(n, ast.ClassDef) and not n.name.startswith("_")]


def test_public_methods_and_properties_have_docstrings() -> None:
    missing = []
    classes = 0
    for path in _sources():
        for cls in _public_classes(path):
            classes += 1
            for fn in cls.body:
                if not isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef):
                    continue
                if fn.name.startswith("_") or _is_overload(fn) or _is_setter(fn):
                    continue
                if ast.get_docstring(fn) is None:
                    where = path.relative_to(PACKAGE.parent)
                    missing.append(f"{where}:{fn.lineno} {cls.name}.{fn.name}")
    assert classes > 50, f"found only {classes} public classes under {PACKAGE}"
    assert not missing, f"{len(missing)} public methods/properties without a docstring:\n" + (
        "\n".join(missing)
    )


def test_public_classes_and_functions_have_docstrings() -> None:
    missing = []
    for path in _sources():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in tree.body:
            if not isinstance(node, ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            if node.name.startswith("_") or (
                not isinstance(node, ast.ClassDef) and _is_overload(node)
            ):
                continue
            if ast.get_docstring(node) is None:
                missing.append(f"{path.relative_to(PACKAGE.parent)}:{node.lineno} {node.name}")
    assert not missing, f"{len(missing)} public classes/functions without a docstring:\n" + (
        "\n".join(missing)
    )


@pytest.mark.parametrize(
    ("cls", "path"),
    [
        (OrderUpdate, PACKAGE / "exchange" / "orders.py"),
        (Fill, PACKAGE / "exchange" / "orders.py"),
        (WsResponse, PACKAGE / "exchange" / "ws_api.py"),
    ],
    ids=lambda value: getattr(value, "__name__", ""),
)
def test_event_and_response_fields_are_documented(cls: type, path: Path) -> None:
    """A field is documented by a `#:` comment on the line right above it, or by its name in
    backquotes in the class docstring."""
    lines = path.read_text(encoding="utf-8").splitlines()
    (node,) = [c for c in _public_classes(path) if c.name == cls.__name__]
    docstring = ast.get_docstring(node) or ""
    fields = {
        stmt.target.id: stmt.lineno
        for stmt in node.body
        if isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name)
    }
    # Every dataclass field is seen in the source (the check cannot pass on nothing).
    assert set(fields) == {f.name for f in dataclasses.fields(cls)}
    missing = [
        f"{path.name}:{lineno} {cls.__name__}.{name}"
        for name, lineno in fields.items()
        if not lines[lineno - 2].strip().startswith("#:") and f"`{name}`" not in docstring
    ]
    assert not missing, "fields without a `#:` comment or a docstring mention:\n" + "\n".join(
        missing
    )
