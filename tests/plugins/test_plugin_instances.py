"""Built-in policy plugins are instances with their own state: two hubs in one process never share it.

Each hub is built from its own configuration on its own SQLite file; the second is configured
before the first processes anything, so a setting kept in a module global would leak into the
first hub's decisions (it did: hub 2's webinar points turned hub 1's score of 10 into 99).
"""

from __future__ import annotations

import ast
import importlib
import pkgutil
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

import plugins
from connectors.file import import_file
from hub.decisions import MatchOutcome, QualifyDecision, SlaActionKind
from hub.runtime import Hub
from hub.schema import (
    Account,
    Activity,
    Company,
    Contact,
    Inquiry,
    Lead,
    LeadStatus,
    SourceRecord,
    utcnow,
)
from plugins.matching import InMemoryAccounts
from plugins.scoring import ScoringPlugin

CSV = """Email,First Name,Last Name,Company,Website,Country,Product,Activity,Notes
bob@acme.com,Bob,Ray,Acme,acme.com,US,widgets,webinar,
dina@initech.io,Dina,Ng,Initech,initech.io,US,widgets,contact_sales,
"""

#: Hub 1 and hub 2: different points, bar, matching thresholds, routing and SLA.
SETTINGS: tuple[dict[str, Any], dict[str, Any]] = (
    {"plugins": {"scoring": {"points": {"webinar": 10}}},
     "pipeline": {"qualify_score": 30},
     "routing": {"strategy": "round_robin", "sla_minutes": 30}},
    {"plugins": {"scoring": {"points": {"webinar": 99}},
                 "matching": {"match_threshold": 0.99, "review_threshold": 0.5}},
     "pipeline": {"qualify_score": 35},
     "routing": {"strategy": "default_owner", "default_owner": "omar", "sla_minutes": 90}},
)


@pytest.fixture
def hubs(tmp_path: Path, hub_factory: Callable[..., Hub]) -> tuple[Hub, Hub]:
    """Hub 1 then hub 2, each on its own SQLite file; both configured before any record moves."""
    one, two = (hub_factory(f"sqlite:///{tmp_path / f'hub{n}.db'}", **overrides)
                for n, overrides in enumerate(SETTINGS, 1))
    return one, two


def leads_by_account(hub: Hub) -> dict[str, Lead]:
    with hub.store.engine.connect() as conn:
        rows = hub.store.leads_page(conn, limit=10)
        found = {r["account_name"]: hub.store.get_lead(conn, r["id"]) for r in rows}
    return {name: lead for name, lead in found.items() if lead is not None}


def reasons(hub: Hub, lead: Lead, action: str) -> list[str]:
    with hub.store.engine.connect() as conn:
        return [e["reason"] for e in hub.store.audit_trail(conn, lead.id) if e["action"] == action]


def inquiry(company: str, email: str) -> Inquiry:
    return Inquiry(source=SourceRecord(connector="webform", stream="form:demo", external_id="1", payload={}),
                   company=Company(name=company), contact=Contact(email=email), activity=Activity(kind="webinar"))


def test_each_hub_has_its_own_plugin_instances(hubs: tuple[Hub, Hub]) -> None:
    one, two = hubs
    for name in ("plugins.normalize", "plugins.matching", "plugins.scoring", "plugins.qualify",
                 "plugins.routing", "plugins.sla"):
        first, second = one.plugins.pm.get_plugin(name), two.plugins.pm.get_plugin(name)
        assert first is not None and second is not None and first is not second, name
        assert type(first) is type(second) and not isinstance(first, type(plugins)), f"{name} is a module"


def test_two_hubs_score_qualify_and_route_by_their_own_settings(hubs: tuple[Hub, Hub], tmp_path: Path) -> None:
    one, two = hubs  # both configured before either processes a record
    (tmp_path / "leads.csv").write_text(CSV, encoding="utf-8")
    for hub in (one, two):
        import_file(tmp_path / "leads.csv", hub.intake, source="fair")
    one.process_pending()
    two.process_pending()

    first, second = leads_by_account(one), leads_by_account(two)
    assert first["Acme"].score == 10 and second["Acme"].score == 99
    assert first["Acme"].status == LeadStatus.NURTURE
    assert reasons(one, first["Acme"], "status") == ["nurture: score 10 is below the bar of 30"]
    assert second["Acme"].status == LeadStatus.ROUTED and second["Acme"].owner_id == "omar"
    assert reasons(two, second["Acme"], "status") == ["qualified: score 99 reaches the bar of 35"]
    # Routing: hub 1 rotates, hub 2 sends everything to its default owner.
    assert "round robin" in reasons(one, first["Initech"], "route")[0]
    assert reasons(two, second["Initech"], "route")[0].count("default owner Omar Haddad") == 1

    # The built-in hub_qualify of each hub, asked directly: its own bar.
    account = Account(name="Acme")
    asked = [hub.plugins.pm.hook.hub_qualify(lead=lead, account=account)
             for hub, lead in ((one, first["Acme"]), (two, second["Acme"]))]
    assert asked == [QualifyDecision(False, "nurture: score 10 is below the bar of 30"),
                     QualifyDecision(True, "qualified: score 99 reaches the bar of 35")]

    # Hub 1 scores a new webinar with its own points, after hub 2 has scored with 99.
    more = tmp_path / "more.csv"
    more.write_text(CSV.splitlines()[0] + "\nzoe@globex.com,Zoe,Li,Globex,globex.com,US,widgets,webinar,\n",
                    encoding="utf-8")
    import_file(more, one.intake, source="later")
    one.process_pending()
    assert leads_by_account(one)["Globex"].score == 10


def test_two_hubs_match_with_their_own_thresholds(hubs: tuple[Hub, Hub]) -> None:
    one, two = hubs
    book = InMemoryAccounts()
    book.add_account("acct_kessler", "Kessler Brothers Tooling Ltd", ["kessler-tooling.co.uk"], country="GB")
    typo = inquiry("Kesler Brothers Toolng Ltd", "ann@gmail.com")
    first, second = one.plugins.match_account(typo, book), two.plugins.match_account(typo, book)
    assert first is not None and second is not None
    assert (first.outcome, first.account_id) == (MatchOutcome.MATCHED, "acct_kessler")
    assert (second.outcome, second.account_id) == (MatchOutcome.UNCERTAIN, "acct_kessler")  # hub 2 wants 0.99


def test_an_escalation_is_due_by_the_sla_plugin_of_its_hub(hubs: tuple[Hub, Hub], tmp_path: Path) -> None:
    (tmp_path / "leads.csv").write_text(CSV, encoding="utf-8")
    now = utcnow() + timedelta(hours=3)
    for hub, minutes in zip(hubs, (30, 90), strict=True):
        import_file(tmp_path / "leads.csv", hub.intake, source="fair")
        hub.process_pending()
        lead = leads_by_account(hub)["Initech"]
        action = hub.plugins.sla_breached(lead, hub.owners, now)
        assert action is not None and action.kind == SlaActionKind.ESCALATE
        assert action.due_at == now + timedelta(minutes=minutes)
        assert hub.pipeline.check_sla(now=now) >= 1
        escalated = leads_by_account(hub)["Initech"]
        assert escalated.status == LeadStatus.ESCALATED
        assert escalated.sla_due_at == now + timedelta(minutes=minutes), "check_sla takes the plugin's due time"


def big_lead(kinds: list[str]) -> Lead:
    return Lead(account_id="acct_1", activities=[Activity(kind=k) for k in kinds])


def test_the_kinds_cache_is_per_instance_and_follows_the_lead() -> None:
    """Scoring a big lead scans only its new activities; the memory of it is the plugin's own."""
    mine, other = ScoringPlugin(), ScoringPlugin()
    account = Account(name="Acme")
    lead = big_lead(["webinar"] * 100)
    ask = inquiry("Acme", "ann@acme.com")

    def kinds(plugin: ScoringPlugin) -> list[str]:
        # The kinds that earned points ("webinar x100 (+1000)"; caps are negative parts).
        return [p.reason.split(" (")[0].split(" x")[0] for p in plugin.hub_score(lead, ask, account) if p.points > 0]

    assert kinds(mine) == ["webinar"]
    lead.activities.append(Activity(kind="demo_request"))  # appended: the cached prefix still holds
    assert kinds(mine) == ["webinar", "demo request"]
    assert kinds(other) == ["webinar", "demo request"], "a fresh instance scans the lead itself"
    lead.activities = [Activity(kind="newsletter")] * 80  # replaced: the cache must not be trusted
    assert kinds(mine) == ["newsletter"]


# -- no mutable state at module level ----------------------------------------------------------

#: Calls that build mutable containers or locks.
MUTABLE_CALLS = frozenset({"dict", "list", "set", "bytearray", "OrderedDict", "defaultdict", "deque", "Counter",
                           "Lock", "RLock", "Condition", "Semaphore", "BoundedSemaphore", "Event", "local"})
#: Calls whose result holds no state: immutable containers and stateless helpers.
SAFE_CALLS = frozenset({"frozenset", "tuple", "MappingProxyType", "compile", "TypeVar", "attrgetter", "itemgetter",
                        "getLogger"})
MUTABLE_NODES = (ast.Dict, ast.List, ast.Set, ast.DictComp, ast.ListComp, ast.SetComp)


def _called(node: ast.expr) -> str:
    func = node.func if isinstance(node, ast.Call) else None
    if isinstance(func, ast.Name):
        return func.id
    return func.attr if isinstance(func, ast.Attribute) else ""


def _is_constant_name(name: str) -> bool:
    return name.lstrip("_").isupper()


def _immutable(node: ast.expr) -> bool:
    if isinstance(node, ast.Constant):
        return True
    if isinstance(node, ast.Tuple):
        return all(_immutable(e) for e in node.elts)
    if isinstance(node, ast.UnaryOp):
        return _immutable(node.operand)
    if isinstance(node, ast.BinOp):
        return _immutable(node.left) and _immutable(node.right)
    if isinstance(node, ast.Name):
        return _is_constant_name(node.id)  # another constant
    return isinstance(node, ast.Call) and _called(node) in SAFE_CALLS


def module_state_problems(source: str) -> list[str]:
    """Module-level state in ``source``: ``global`` statements, mutable containers and locks,
    objects built by other calls (a settings model, a client, a cache), and ALL_CAPS constants
    bound to anything but literals, tuples, frozensets and ``MappingProxyType``."""
    tree = ast.parse(source)
    problems = [f"line {n.lineno}: global {', '.join(n.names)}" for n in ast.walk(tree) if isinstance(n, ast.Global)]
    top: list[ast.stmt] = []
    pending = list(tree.body)
    while pending:  # module level includes the bodies of top-level if/try/with/for
        stmt = pending.pop()
        top.append(stmt)
        if not isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            for field in ("body", "orelse", "finalbody"):
                pending += getattr(stmt, field, [])
            pending += [s for h in getattr(stmt, "handlers", []) for s in h.body]
    for stmt in top:
        if isinstance(stmt, ast.AugAssign):
            problems.append(f"line {stmt.lineno}: {ast.unparse(stmt.target)} is changed at module level")
            continue
        if isinstance(stmt, ast.Assign):
            targets, value = stmt.targets, stmt.value
        elif isinstance(stmt, ast.AnnAssign) and stmt.value is not None:
            targets, value = [stmt.target], stmt.value
        else:
            continue
        names = ", ".join(n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name))
        shown = f"line {stmt.lineno}: {names} = {ast.unparse(value)[:40]}"
        if names == "__all__":
            continue
        if isinstance(value, MUTABLE_NODES) or _called(value) in MUTABLE_CALLS:
            problems.append(f"{shown} is mutable")
        elif isinstance(value, ast.Call) and _called(value) not in SAFE_CALLS:
            problems.append(f"{shown} may hold state: make it immutable or keep it on the plugin instance")
        elif any(_is_constant_name(n) for n in names.split(", ")) and not _immutable(value):
            problems.append(f"{shown} is not a literal, tuple, frozenset or MappingProxyType")
    return problems


#: Module-level objects that are not constants by the rule above but hold no hub's state. (An
#: ``lru_cache`` on a pure function of its arguments, such as company-name normalisation, is not an
#: assignment and is allowed: it can make a hub faster, never change its decisions.)
STATELESS = {
    # The bundled public-suffix list, read-only after its first use, the same for every hub.
    ("plugins.matching.keys", "_EXTRACT"),
    # A frozen dataclass of fitted weights (its tables are frozen in __post_init__).
    ("plugins.matching.contacts", "DEFAULT_WEIGHTS"),
}


def test_no_module_in_plugins_keeps_mutable_state() -> None:
    found: dict[str, list[str]] = {}
    modules = [plugins.__name__] + [m.name for m in pkgutil.walk_packages(plugins.__path__, "plugins.")]
    assert {"plugins.scoring", "plugins.matching", "plugins.matching.names"} <= set(modules)
    for name in modules:
        module = importlib.import_module(name)
        assert module.__file__ is not None
        problems = [p for p in module_state_problems(Path(module.__file__).read_text(encoding="utf-8"))
                    if not any(f": {obj} = " in p for mod, obj in STATELESS if mod == name)]
        if problems:
            found[name] = problems
    assert found == {}


@pytest.mark.parametrize(("source", "problem"), [
    ("_settings = None\ndef hub_configure(config):\n    global _settings\n", "global _settings"),
    ("from collections import OrderedDict\n_SEEN = OrderedDict()\n", "_SEEN = OrderedDict() is mutable"),
    ("import threading\n_lock = threading.Lock()\n", "_lock = threading.Lock() is mutable"),
    ("POINTS = {'webinar': 10}\n", "POINTS = {'webinar': 10} is mutable"),
    ("try:\n    CACHE: list[int] = []\nexcept ImportError:\n    pass\n", "CACHE = [] is mutable"),
    ("KINDS = sorted(['a'])\n", "KINDS = sorted(['a']) may hold state"),
    ("_settings = MatchingSettings()\n", "_settings = MatchingSettings() may hold state"),
    ("LIMIT = other\n", "LIMIT = other is not a literal"),
    ("COUNT = 0\nCOUNT += 1\n", "COUNT is changed at module level"),
])
def test_the_module_state_check_catches(source: str, problem: str) -> None:
    assert any(problem in p for p in module_state_problems(source))


def test_the_module_state_check_allows_constants() -> None:
    source = """
from types import MappingProxyType
__all__ = ["x"]
DEFAULT_POINTS = MappingProxyType({"webinar": 10})
_KINDS = frozenset({"a"})
LEVELS = ("exact", "differ")
_MASK = (1 << 22) - 1
CLOSE, SIMILAR = 0.92, 0.85
_SPACE = re.compile(r"\\s+")
log = logging.getLogger(__name__)
"""
    assert module_state_problems(source) == []
