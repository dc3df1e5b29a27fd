"""No mutable module-level state in connectors/: caches, budgets and settings hang off an instance.

Two hubs in one process must never share a rate limit, an API budget or a store handle, so a
connector module may bind at module level only constants (ALL_CAPS names bound to immutable
values), type aliases, and a few objects that hold no state of a hub: loggers, typer apps,
routers, templates, consoles, a compiled validator, SQLAlchemy table definitions, and
process-wide Prometheus metrics (like hub/server/metrics.py's, they count the process).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

CONNECTORS = Path(__file__).resolve().parents[2] / "connectors"
CONSTANT = re.compile(r"^_?[A-Z][A-Z0-9_]*$")

#: Calls that make immutable values (a constant may be bound to them).
IMMUTABLE_CALLS = frozenset({"frozenset", "tuple", "str", "int", "float", "MappingProxyType", "compile",
                             "timedelta", "Path", "TypeVar"})
#: Calls whose result holds no state of a hub: allowed under any name.
STATELESS_CALLS = frozenset({
    "getLogger",  # a logger
    "Typer",  # a CLI group (typer apps register commands once, at import)
    "APIRouter",  # a router
    "Jinja2Templates",  # templates of a package folder
    "Console",  # rich output to stdout / stderr
    "TypeAdapter",  # a compiled validator
    "HTTPBearer",  # FastAPI's description of an auth scheme
    "Table",  # a SQLAlchemy table definition
    "TypeVar",
})
#: Process-wide Prometheus metrics (they take a ``registry=``), as hub/server/metrics.py's.
METRIC_CALLS = frozenset({"Counter", "Gauge", "Histogram", "Summary"})


def _call_name(node: ast.expr) -> str | None:
    if isinstance(node, ast.Call):
        func = node.func
        if isinstance(func, ast.Name):
            return func.id
        if isinstance(func, ast.Attribute):
            return func.attr
    return None


def _immutable(node: ast.expr) -> bool:
    if isinstance(node, ast.Constant):
        return True
    if isinstance(node, ast.Tuple):
        return all(_immutable(e) for e in node.elts)
    if isinstance(node, ast.BinOp):
        return _immutable(node.left) and _immutable(node.right)
    if isinstance(node, ast.UnaryOp):
        return _immutable(node.operand)
    if isinstance(node, (ast.Name, ast.Attribute)):
        return True  # another constant, an enum member, a module attribute such as Path(...).parent
    if isinstance(node, ast.Subscript):
        return True  # a type expression: Literal[...], Annotated[...]
    if isinstance(node, ast.Call):
        return _call_name(node) in IMMUTABLE_CALLS
    return False


def _problem(name: str, value: ast.expr | None) -> str | None:
    if value is None:
        return None  # a bare annotation
    if name == "__all__":
        return None
    call = _call_name(value)
    if call in STATELESS_CALLS:
        return None
    if call in METRIC_CALLS and isinstance(value, ast.Call) and any(k.arg == "registry" for k in value.keywords):
        return None
    if isinstance(value, ast.Subscript):
        return None  # a type alias: ConfigOpt = Annotated[...]
    if CONSTANT.match(name) and _immutable(value):
        return None
    kind = type(value).__name__ if call is None else f"{call}(...)"
    return f"{name} = {kind}"


def _module_bindings(tree: ast.Module) -> list[tuple[int, str, ast.expr | None]]:
    found: list[tuple[int, str, ast.expr | None]] = []

    def walk(body: list[ast.stmt]) -> None:
        for node in body:
            if isinstance(node, ast.Assign):
                for target in node.targets:
                    for name in ast.walk(target):
                        if isinstance(name, ast.Name):
                            found.append((node.lineno, name.id, node.value))
            elif isinstance(node, (ast.AnnAssign, ast.AugAssign)) and isinstance(node.target, ast.Name):
                found.append((node.lineno, node.target.id, node.value))
            elif isinstance(node, ast.If):  # TYPE_CHECKING blocks, version switches
                walk(node.body)
                walk(node.orelse)
            elif isinstance(node, ast.Try):
                walk(node.body)
                for handler in node.handlers:
                    walk(handler.body)
    walk(tree.body)
    return found


#: Mutable containers and locks: shared by every instance when bound on a class.
MUTABLE_CALLS = frozenset({"dict", "list", "set", "OrderedDict", "defaultdict", "deque", "Counter", "Lock",
                           "RLock", "Event", "Condition", "Semaphore"})


def _class_problems(tree: ast.Module, filename: str) -> list[str]:
    problems = []
    for cls in (node for node in ast.walk(tree) if isinstance(node, ast.ClassDef)):
        for node in cls.body:
            value = node.value if isinstance(node, (ast.Assign, ast.AnnAssign)) else None
            if isinstance(value, (ast.Dict, ast.List, ast.Set, ast.DictComp, ast.ListComp, ast.SetComp)) or (
                    value is not None and _call_name(value) in MUTABLE_CALLS):
                problems.append(f"{filename}:{node.lineno}: class {cls.name} shares {ast.unparse(node)[:60]}")
    return problems


def module_state_problems(source: str, filename: str) -> list[str]:
    """Module-level (and class-level) mutable bindings and ``global`` statements, as messages."""
    tree = ast.parse(source, filename)
    problems = [f"{filename}:{node.lineno}: global {', '.join(node.names)}"
                for node in ast.walk(tree) if isinstance(node, ast.Global)]
    for line, name, value in _module_bindings(tree):
        problem = _problem(name, value)
        if problem:
            problems.append(f"{filename}:{line}: {problem}")
    return problems + _class_problems(tree, filename)


def test_no_connector_module_keeps_mutable_state() -> None:
    files = sorted(CONNECTORS.rglob("*.py"))
    assert len(files) > 20, "the walk must see the connector packages"
    problems = [problem for file in files
                for problem in module_state_problems(file.read_text(encoding="utf-8"),
                                                     str(file.relative_to(CONNECTORS.parent)))]
    assert problems == [], ("keep this state on the connector instance or the hub's ConnectorServices:\n"
                            + "\n".join(problems))


@pytest.mark.parametrize("source", [
    "_budgets: dict[str, int] = {}",
    "_lock = threading.Lock()",
    "CACHE = {}",
    "SEEN = set()",
    "QUEUE = collections.OrderedDict()",
    "_settings = {'url': None}",
    "FIELDS = ['a', 'b']",
    "def f():\n    global X\n    X = 1",
    "_secret = secrets.token_urlsafe(32)",
    "class Client:\n    _cache: dict[str, int] = {}",
    "class Client:\n    _lock = threading.Lock()",
])
def test_the_walk_catches_module_state(source: str) -> None:
    assert module_state_problems(source, "x.py"), source


@pytest.mark.parametrize("source", [
    "MAX_FIELDS = 100",
    "SCOPES = ('a', 'b')",
    "NOTES = MappingProxyType({'a': 'b'})",
    "KINDS = frozenset({'a'})",
    "FIELD = re.compile('x')",
    "LEASE = timedelta(minutes=5)",
    "log = logging.getLogger(__name__)",
    "app = typer.Typer()",
    "ConfigOpt = Annotated[Path | None, typer.Option('--config')]",
    "HITS = Counter('x', 'y', registry=REGISTRY)",
    "__all__ = ['A']",
])
def test_the_walk_allows_constants_and_stateless_objects(source: str) -> None:
    assert module_state_problems(source, "x.py") == [], source
