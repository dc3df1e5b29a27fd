"""Benchmark: web form intake under load, end to end into the sandbox Salesforce org.

A load generator on loopback posts forms at a fixed rate while the daemon (uvicorn + workers, one
process, SQLite file) processes, routes and delivers each lead to the sandbox CRM (a subprocess)
through the real Salesforce connector. Latency is measured from just before each POST to the
moment the hub recorded the CRM's confirmation of the upsert (``outbox.delivered_at``). Then an
open-loop burst finds the intake's sustainable maximum rate (202s per second, 8 clients).
Prints the figures and writes ``bench/results/intake.json``.

    .venv/bin/python bench/intake.py [--rate 50] [--seconds 60] [--burst-seconds 10]
"""

from __future__ import annotations

import argparse
import json
import platform
import socket
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
# Run as a script, bench/ comes first on sys.path, where bench/hubspot.py would shadow the
# hubspot-api-client package: the project root goes first and bench/ last.
sys.path[:] = [str(ROOT)] + [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"] + [str(ROOT / "bench")]

import httpx
import uvicorn
from common import write_results
from sqlalchemy import select

from hub.config import HubConfig
from hub.runtime import build_hub
from hub.server.app import create_app
from hub.store import tables as t
from sandbox.testing import SandboxServer


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))] if ordered else float("nan")


def run(rate: float, seconds: float, burst_seconds: float) -> dict[str, Any]:
    tmp = Path(tempfile.mkdtemp(prefix="leadhub-bench-"))
    with SandboxServer(subprocess=True) as server:
        assert server.control is not None
        rep = next(p for p in server.control.team() if "Integration" not in p["name"])
        config = HubConfig(
            database_url=f"sqlite:///{tmp / 'bench.db'}", mappings_dir=str(ROOT / "mappings"),
            owners=[{"id": "rep", "name": rep["name"], "email": "rep@example.com",
                     "crm_ids": {"salesforce": rep["salesforce_user_id"]}}],
            routing={"strategy": "round_robin", "default_owner": "rep", "destinations": ["salesforce"]},
            server={"max_body_bytes": 65536},
            connectors={
                "salesforce": {"type": "salesforce", "instance_url": server.url, "session_id": server.sf_token,
                               "schedule_seconds": 0},
                "webform": {"type": "webform", "rate_limit": "1000000/minute",
                            "forms": {"demo": {"activity_kind": "demo_request"}}},
            },
        )
        import importlib

        from hub.plugins import DEFAULT_PLUGINS

        extra = tuple(importlib.import_module(m) for m in ("connectors.salesforce", "connectors.webform")
                      if m not in DEFAULT_PLUGINS)
        hub = build_hub(config, extra_plugins=extra)
        port = _port()
        daemon = uvicorn.Server(uvicorn.Config(create_app(hub), host="127.0.0.1", port=port, log_level="warning"))
        thread = threading.Thread(target=daemon.run, daemon=True)
        thread.start()
        deadline = time.monotonic() + 30
        while not daemon.started and time.monotonic() < deadline:
            time.sleep(0.01)
        url = f"http://127.0.0.1:{port}/forms/demo"
        sent: dict[str, datetime] = {}
        failures = 0
        lock = threading.Lock()

        why_failed: dict[str, int] = {}

        def post(i: int, client: httpx.Client) -> None:
            nonlocal failures
            at = datetime.now(UTC)
            reference = None
            why = ""
            try:
                r = client.post(url, json={"email": f"p{i}@company{i}.example", "name": f"Pat Lead{i}",
                                           "company": f"Company {i}", "website": f"https://company{i}.example"})
                if r.status_code == 202:
                    reference = r.json()["reference"]
                else:
                    why = f"HTTP {r.status_code}"
            except Exception as exc:  # noqa: BLE001 - a failed request is counted, whatever the cause
                reference, why = None, type(exc).__name__
            with lock:
                if reference:
                    sent[reference] = at
                else:
                    failures += 1
                    why_failed[why] = why_failed.get(why, 0) + 1

        total = int(rate * seconds)
        started = time.perf_counter()
        # The pool is left first (it waits for every post), then the client is closed.
        limits = httpx.Limits(max_connections=64)
        with httpx.Client(timeout=30, limits=limits) as client, ThreadPoolExecutor(32) as pool:
            for i in range(total):
                target = started + i / rate
                delay = target - time.perf_counter()
                if delay > 0:
                    time.sleep(delay)  # pacing the load generator, not waiting for a result
                pool.submit(post, i, client)
        offered = total / (time.perf_counter() - started)

        def delivered() -> dict[str, datetime]:
            with hub.store.engine.connect() as conn:
                rows = conn.execute(
                    select(t.inbox.c.external_id, t.outbox.c.delivered_at)
                    .join(t.outbox, t.outbox.c.lead_id == t.inbox.c.lead_id)
                    .where(t.outbox.c.destination == "salesforce", t.outbox.c.kind == "lead",
                           t.outbox.c.status == "done")).all()
            return {r[0]: r[1].replace(tzinfo=UTC) if r[1].tzinfo is None else r[1] for r in rows}

        deadline = time.monotonic() + 120
        done = delivered()
        while len(done) < len(sent) and time.monotonic() < deadline:
            time.sleep(0.2)
            done = delivered()
        latencies = [(done[ref] - at).total_seconds() for ref, at in sent.items() if ref in done]
        sf_leads = server.control.counters()["salesforce"]

        # Sustainable maximum: 8 clients posting back to back for burst_seconds.
        burst_ok = 0
        stop_at = time.perf_counter() + burst_seconds

        def hammer(n: int) -> int:
            ok = 0
            with httpx.Client(timeout=10) as c:
                j = 0
                while time.perf_counter() < stop_at:
                    j += 1
                    r = c.post(url, json={"email": f"b{n}-{j}@burst{n}-{j}.example", "company": f"Burst {n}-{j}"})
                    ok += r.status_code == 202
            return ok

        burst_start = time.perf_counter()
        with ThreadPoolExecutor(8) as pool:
            burst_ok = sum(pool.map(hammer, range(8)))
        max_rate = burst_ok / (time.perf_counter() - burst_start)
        daemon.should_exit = True
        thread.join(30)
        hub.close()
    return {
        "benchmark": "intake", "machine": platform.platform(), "python": platform.python_version(),
        "rate_offered_per_s": round(offered, 1), "seconds": seconds, "posted": total, "accepted": len(sent),
        "post_failures": failures, "post_failure_reasons": why_failed, "delivered_to_crm": len(latencies),
        "lost": len(sent) - len(latencies),
        "latency_post_to_crm_upsert_s": {"p50": round(_pct(latencies, 50), 3), "p95": round(_pct(latencies, 95), 3),
                                         "p99": round(_pct(latencies, 99), 3),
                                         "max": round(max(latencies, default=0), 3)},
        "intake_max_rate_per_s": round(max_rate, 1), "sandbox_salesforce_calls": sf_leads,
        "target": "p99 < 1 s at 50/s, no request lost",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rate", type=float, default=50)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--burst-seconds", type=float, default=10)
    args = parser.parse_args()
    result = run(args.rate, args.seconds, args.burst_seconds)
    print(json.dumps(result, indent=2))
    write_results("intake", result)


if __name__ == "__main__":
    main()
