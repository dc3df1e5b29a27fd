"""Routing benchmark: decisions per second, and the replay of stored leads.

    .venv/bin/python bench/routing.py                    # 20,000 decisions, replay of 100,000 leads
    .venv/bin/python bench/routing.py -d 5000 -r 10000   # quicker

Decisions: 50 rules (country, employees, industry, product line, source, score, partner), 10 teams
of 10 owners (100 owners) with weights, working hours in 8 time zones, holidays, capacity caps
and a few people away; each lead is routed through the hub's plugin manager (``hub_route``, as the
engine asks it) with an in-memory ledger that records every assignment, the clock moving a
minute per lead. (Qualification is asked too, through ``hub_qualify``; scoring needs an inquiry
and is the scoring benchmark's.) Replay: a SQLite store filled with N routed leads and their
assignments, replayed by ``leadhub routing replay``'s function under a changed configuration.
Prints and writes bench/results/routing.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:] = [str(ROOT)] + [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"] + [str(ROOT / "bench")]

from hub.config import HubConfig
from hub.decisions import RoutingContext
from hub.pipeline.ledger import MemoryLedger
from hub.schema import Account, Company, Lead, LeadStatus

COUNTRIES = ["US", "GB", "DE", "FR", "NL", "CA", "AU", "ES", "JP", "BR"]
ZONES = ["America/New_York", "America/Los_Angeles", "Europe/London", "Europe/Berlin", "Asia/Tokyo",
         "Australia/Sydney", "America/Sao_Paulo", "Asia/Singapore"]
HOLIDAYS = ["US", "GB", "DE", "FR", "NL", "CA", "AU", "ES", "JP", "BR"]
INDUSTRIES = ["Banking", "Retail", "Software", "Healthcare", "Manufacturing", "Energy"]
PRODUCTS = ["analytics", "payments", "platform"]
SOURCES = ["webform", "salesforce", "hubspot", "partner", "tradeshow"]
START = datetime(2026, 3, 2, 0, 0, tzinfo=UTC)  # a Monday


def configuration(rnd: random.Random) -> dict[str, Any]:
    owners = []
    for i in range(100):
        team = i // 10
        owners.append({"id": f"o{i}", "name": f"Owner {i}", "max_open": 400, "max_per_day": 60})
        if i % 10 == 0:
            owners[-1]["timezone"] = ZONES[(team + 3) % len(ZONES)]  # one member per team elsewhere
    teams = [{"name": f"t{t}", "members": {f"o{t * 10 + m}": rnd.choice([0.5, 1, 1, 1, 2]) for m in range(10)},
              "timezone": ZONES[t % len(ZONES)], "working_hours": "07:00-21:00",
              "working_days": ["mon", "tue", "wed", "thu", "fri", "sat"], "holidays": HOLIDAYS[t],
              "overflow": f"t{(t + 1) % 10}"} for t in range(10)]
    rules = []
    for r in range(49):
        rule: dict[str, Any] = {"name": f"r{r}", "team": f"t{r % 10}"}
        kind = r % 5
        if kind == 0:
            rule["country"] = rnd.sample(COUNTRIES, 2)
            rule["employees_min"] = rnd.choice([100, 500, 1000])
        elif kind == 1:
            rule["industry"] = rnd.sample(INDUSTRIES, 2)
            rule["product_line"] = [rnd.choice(PRODUCTS)]
        elif kind == 2:
            rule["source"] = [rnd.choice(SOURCES)]
            rule["score_min"] = rnd.choice([40, 60, 80])
        elif kind == 3:
            rule["country"] = [rnd.choice(COUNTRIES)]
            rule["region"] = ["North", "West"]
        else:
            rule["domains"] = [f"d{rnd.randint(0, 999)}.com" for _ in range(20)]
        rules.append(rule)
    rules.append({"name": "default", "team": "t0"})
    return {"owners": owners, "routing": {"teams": teams, "rules": rules, "overflow": "o0"}}


def leads(n: int, rnd: random.Random) -> list[tuple[Lead, Account, Company]]:
    out = []
    for i in range(n):
        country = rnd.choice(COUNTRIES)
        company = Company(name=f"Co {i}", domain=f"d{rnd.randint(0, 5000)}.com", country=country,
                          region=rnd.choice(["North", "South", "East", "West"]),
                          employees=rnd.choice([10, 50, 200, 800, 3000, 20000]), industry=rnd.choice(INDUSTRIES))
        account = Account(name=company.name or "", country=country, domains=[company.domain or ""])
        lead = Lead(account_id=account.id, product_line=rnd.choice(PRODUCTS), score=rnd.randint(0, 100),
                    status=LeadStatus.QUALIFIED, source_connector=rnd.choice(SOURCES))
        out.append((lead, account, company))
    return out


def bench_decisions(n: int) -> dict[str, Any]:
    from hub.plugins import load_plugins

    rnd = random.Random(11)
    config = HubConfig(**configuration(rnd))
    plugins = load_plugins([])
    plugins.configure(config)
    strategies = plugins.routing_strategies()
    owners = config.owner_list()
    ledger = MemoryLedger()
    for i in range(0, 100, 17):
        ledger.aways[f"o{i}"].append((START, START + timedelta(days=5), "vacation"))
    turns: dict[str, int] = {}

    def rotate(name: str, k: int) -> int:
        turns[name] = turns.get(name, 0) + 1
        return turns[name] % k

    batch = leads(n, rnd)
    now, routed, waited = START + timedelta(hours=12), 0, 0
    t0 = time.perf_counter()
    for lead, account, company in batch:
        plugins.qualify(lead, account)
        ctx = RoutingContext(lead=lead, account=account, parent_account=None, owners=owners, settings={},
                             strategies=strategies, rotate=rotate, now=now, company=company, ledger=ledger)
        decision = plugins.route(ctx)
        if decision is None:
            waited += 1
        else:
            routed += 1
            ledger.record(lead.id, decision.owner_id, decision.team, decision.rule, now)
        now += timedelta(minutes=1)
    elapsed = time.perf_counter() - t0
    return {"decisions": n, "routed": routed, "waited": waited, "seconds": round(elapsed, 3),
            "decisions_per_s": round(n / elapsed)}


def bench_replay(n: int, folder: Path) -> dict[str, Any]:
    from sqlalchemy import insert

    from hub.review.routing import replay
    from hub.runtime import build_hub
    from hub.store import tables as t

    rnd = random.Random(5)
    data = configuration(rnd)
    url = f"sqlite:///{folder / 'replay.db'}"
    hub = build_hub(HubConfig(database_url=url, mappings_dir=str(ROOT / "mappings"), **data))
    now = datetime.now(UTC)
    start = now - timedelta(days=29)
    accounts, rows, assigned = [], [], []
    for i in range(n):
        at = start + timedelta(seconds=i * (29 * 86400 / n))
        if i % 3 == 0:
            accounts.append({"id": f"acct_{i}", "name": f"Co {i}", "domain": f"d{i % 5000}.com",
                             "country": rnd.choice(COUNTRIES), "created_at": at, "updated_at": at})
        owner = f"o{rnd.randrange(100)}"
        rows.append({"id": f"lead_{i}", "account_id": f"acct_{i - i % 3}", "product_line": rnd.choice(PRODUCTS),
                     "status": "routed", "score": rnd.randint(0, 100), "owner_id": owner,
                     "source_connector": rnd.choice(SOURCES), "is_open": True, "created_at": at, "updated_at": at})
        assigned.append({"lead_id": f"lead_{i}", "owner_id": owner, "team": f"t{int(owner[1:]) // 10}",
                         "rule": f"r{rnd.randrange(50)}", "at": at})
    with hub.store.engine.begin() as conn:
        conn.execute(insert(t.accounts), accounts)
        conn.execute(insert(t.leads), rows)
        conn.execute(insert(t.routing_assignments), assigned)
    hub.close()
    data["routing"]["teams"][0]["members"]["o1"] = 3  # the change to try: a weight
    data["routing"]["rules"][0]["team"] = "t5"  # and a rule
    hub = build_hub(HubConfig(database_url=url, mappings_dir=str(ROOT / "mappings"), **data), migrate=False)
    t0 = time.perf_counter()
    result = replay(hub, now - timedelta(days=30))
    elapsed = time.perf_counter() - t0
    hub.close()
    return {"leads": result.leads, "changed": len(result.changed), "waited": len(result.waited),
            "seconds": round(elapsed, 2), "leads_per_s": round(result.leads / elapsed) if elapsed else 0}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-d", type=int, default=20_000, help="decisions to time (default 20,000)")
    parser.add_argument("-r", type=int, default=100_000, help="stored leads to replay (default 100,000; 0: skip)")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "routing.json")
    args = parser.parse_args()
    load_before = os.getloadavg()[0]
    decisions = bench_decisions(args.d)
    print(f"decisions: {decisions['decisions']} in {decisions['seconds']} s = {decisions['decisions_per_s']}/s "
          f"({decisions['routed']} routed, {decisions['waited']} waiting); 50 rules, 10 teams, 100 owners")
    replayed: dict[str, Any] = {}
    if args.r:
        with tempfile.TemporaryDirectory(prefix="leadhub-bench-") as tmp:
            replayed = bench_replay(args.r, Path(tmp))
        print(f"replay: {replayed['leads']} stored leads in {replayed['seconds']} s ({replayed['leads_per_s']}/s); "
              f"{replayed['changed']} changed owner, {replayed['waited']} would wait")
    result = {
        "benchmark": "routing",
        "command": f"python bench/routing.py -d {args.d} -r {args.r}",
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "decisions": decisions,
        "replay": replayed,
        "targets": {"decisions_per_s": 20_000, "replay_100k_seconds": 60},
        "load_avg_1m": [round(load_before, 2), round(os.getloadavg()[0], 2)],
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
