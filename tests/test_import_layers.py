"""The architecture, enforced: who may import whom, and no import cycles.

- ``hub/`` (the mechanism) imports no module of ``plugins/``, ``connectors/`` or ``sandbox/``;
  the built-ins are named by strings in ``DEFAULT_PLUGINS``.
- ``plugins/``, ``connectors/`` and ``sandbox/`` import ``hub`` only through its public API
  (:mod:`hub.api`, and :mod:`hub.testing` for test kits).
- No two modules import each other, directly or around a loop (imports at module level, outside
  ``if TYPE_CHECKING:``; an import inside a function is a deliberate lazy import and not a cycle).

The imports are read from the source with :mod:`ast`, so the test sees every import, including
those inside functions, without running any module.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("hub", "plugins", "connectors", "sandbox")
PUBLIC_API = ("hub.api", "hub.testing")


@dataclass(frozen=True)
class Import:
    module: str  # the importing module
    target: str  # the module (or package) imported
    line: int
    top_level: bool  # at module level, outside ``if TYPE_CHECKING:``


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def source_files() -> Iterator[Path]:
    for pkg in PACKAGES:
        yield from sorted((ROOT / pkg).rglob("*.py"))


MODULES = {module_name(p): p for p in source_files()}


def _resolve(importer: str, node: ast.ImportFrom, is_package: bool) -> str:
    if not node.level:
        return node.module or ""
    base = importer.split(".") if is_package else importer.split(".")[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def imports_of(path: Path) -> Iterator[Import]:
    name = module_name(path)
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))

    def walk(nodes: list[ast.stmt], top: bool) -> Iterator[Import]:
        for node in nodes:
            if isinstance(node, ast.Import):
                for alias in node.names:
                    yield Import(name, alias.name, node.lineno, top)
            elif isinstance(node, ast.ImportFrom):
                base = _resolve(name, node, path.name == "__init__.py")
                for alias in node.names:
                    full = f"{base}.{alias.name}"
                    yield Import(name, full if full in MODULES else base, node.lineno, top)
            elif isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
                yield from walk(node.body, False)
                yield from walk(node.orelse, top)
            elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                yield from walk(node.body, top and isinstance(node, ast.ClassDef))
            else:
                for field in ("body", "orelse", "finalbody", "handlers"):
                    inner = getattr(node, field, None)
                    if isinstance(inner, list):
                        yield from walk([n for n in inner if isinstance(n, ast.stmt)], top)
                if isinstance(node, ast.Try):
                    for handler in node.handlers:
                        yield from walk(handler.body, top)

    yield from walk(tree.body, True)


ALL_IMPORTS = [imp for path in MODULES.values() for imp in imports_of(path)]


def _top(name: str) -> str:
    return name.split(".")[0]


def test_the_walk_finds_the_packages() -> None:
    assert {"hub.plugins", "hub.pipeline.engine", "plugins.routing", "connectors.salesforce"} <= set(MODULES)
    assert any(i.module == "hub.pipeline.engine" and i.target.startswith("hub.store") for i in ALL_IMPORTS)


def test_hub_imports_no_policy_connector_or_sandbox() -> None:
    bad = sorted({f"{i.module}:{i.line} imports {i.target}" for i in ALL_IMPORTS
           if _top(i.module) == "hub" and _top(i.target) in {"plugins", "connectors", "sandbox"}})
    assert not bad, "hub/ is mechanism only; name built-ins in DEFAULT_PLUGINS instead:\n" + "\n".join(bad)


@pytest.mark.parametrize("package", ["plugins", "connectors", "sandbox"])
def test_outside_hub_only_the_public_api(package: str) -> None:
    bad = sorted({f"{i.module}:{i.line} imports {i.target}" for i in ALL_IMPORTS
           if _top(i.module) == package and _top(i.target) == "hub" and i.target not in PUBLIC_API})
    assert not bad, f"{package}/ may import hub only through {' or '.join(PUBLIC_API)}:\n" + "\n".join(bad)


def test_no_import_cycles() -> None:
    graph: dict[str, set[str]] = {m: set() for m in MODULES}
    for imp in ALL_IMPORTS:
        if imp.top_level and imp.target in MODULES and imp.target != imp.module:
            graph[imp.module].add(imp.target)
    cycles: list[list[str]] = []
    state: dict[str, int] = {}  # 1: on the stack, 2: done
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycles.append(stack[stack.index(nxt):] + [nxt])
            elif nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node)
    assert not cycles, "import cycles:\n" + "\n".join(" -> ".join(c) for c in cycles)
