"""Pipeline benchmark: import and process N synthetic leads to a file destination on SQLite.

    .venv/bin/python bench/pipeline.py              # N = 100,000
    .venv/bin/python bench/pipeline.py -n 20000     # quicker

The mix is realistic: companies repeat (a few large accounts, a long tail), several contacts per
company, a fifth of the people write from personal (webmail) addresses, three product lines,
activity kinds from newsletters to demo requests. Prints and writes bench/results/pipeline.json:
intake leads/s, processing leads/s, delivery leads/s, and peak RSS of this process, measured at
N/10 and at N to show whether memory grows with N (it should not: streaming, batched
transactions).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import random
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
# Run as a script, bench/ comes first on sys.path, where bench/hubspot.py would shadow the
# hubspot-api-client package: the project root goes first and bench/ last.
sys.path[:] = [str(ROOT)] + [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"] + [str(ROOT / "bench")]

from connectors.file import import_file
from hub.config import HubConfig
from hub.runtime import build_hub, settle_start_up_memory

ACTIVITIES = [("newsletter", 30), ("content_download", 20), ("webinar", 20), ("form", 15),
              ("pricing_page", 7), ("demo_request", 5), ("contact_sales", 3)]
PRODUCTS = ["analytics", "payments", "platform"]
WEBMAIL = ["gmail.com", "yahoo.com", "outlook.com", "hotmail.com", "gmx.de", "icloud.com"]
COUNTRIES = ["US", "GB", "DE", "FR", "NL", "CA", "AU", "ES"]


def generate(path: Path, n: int, seed: int = 7) -> None:
    from faker import Faker

    fake = Faker(["en_US", "en_GB", "de_DE", "fr_FR"])
    Faker.seed(seed)
    rnd = random.Random(seed)
    n_companies = max(n // 4, 10)
    companies = []
    seen_domains: set[str] = set()
    while len(companies) < n_companies:
        name = fake.company()
        slug = "".join(ch for ch in name.lower() if ch.isalnum())[:20] or "co"
        domain = f"{slug}{rnd.randint(1, 999)}.{rnd.choice(['com', 'io', 'co.uk', 'de', 'net'])}"
        if domain in seen_domains:
            continue
        seen_domains.add(domain)
        companies.append((name, domain, rnd.choice(COUNTRIES)))
    first = [fake.first_name() for _ in range(2000)]
    last = [fake.last_name() for _ in range(2000)]
    kinds = [k for k, _ in ACTIVITIES]
    weights = [w for _, w in ACTIVITIES]
    with path.open("w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh)
        out.writerow(["Email", "First Name", "Last Name", "Company", "Website", "Country", "Product", "Activity"])
        for i in range(n):
            # Zipf-like: a few big accounts, a long tail.
            big = rnd.random() < 0.3  # a few large accounts, a long tail
            c = min(int(rnd.paretovariate(1.2)) - 1, n_companies - 1) if big else rnd.randrange(n_companies)
            name, domain, country = companies[c]
            fn, ln = rnd.choice(first), rnd.choice(last)
            local = f"{fn}.{ln}{rnd.randint(1, 99)}".lower().replace(" ", "")
            local = "".join(ch for ch in local if ch.isascii() and (ch.isalnum() or ch == ".")) or f"user{i}"
            mail_domain = rnd.choice(WEBMAIL) if rnd.random() < 0.2 else domain
            out.writerow([f"{local}@{mail_domain}", fn, ln, name, f"https://www.{domain}", country,
                          rnd.choice(PRODUCTS), rnd.choices(kinds, weights)[0]])


class PeakRss:
    """Samples this process's RSS every 50 ms in a thread; ``peak`` in MB."""

    def __init__(self) -> None:
        self.proc = psutil.Process()
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.05):
            self.peak = max(self.peak, self.proc.memory_info().rss)

    def __enter__(self) -> PeakRss:
        self.peak = self.proc.memory_info().rss
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self.proc.memory_info().rss)


def run_once(n: int, workdir: Path) -> dict[str, float]:
    data = workdir / f"leads-{n}.csv"
    t0 = time.perf_counter()
    generate(data, n)
    gen_s = time.perf_counter() - t0
    cfg = HubConfig(
        database_url=f"sqlite:///{workdir / f'bench-{n}.db'}",
        mappings_dir=str(ROOT / "mappings"),
        owners=[{"id": f"rep{i}", "name": f"Rep {i}"} for i in range(8)],
        routing={"strategy": "round_robin", "destinations": ["out"]},
        connectors={"out": {"type": "file", "path": str(workdir / f"delivered-{n}.jsonl")}},
        pipeline={"batch_size": 500},
    )
    hub = build_hub(cfg)
    settle_start_up_memory()  # as `leadhub run`, `sync` and `import` do
    load_before = os.getloadavg()[0]
    with PeakRss() as rss:
        t0 = time.perf_counter()
        report = import_file(data, hub.intake, source="bench")
        intake_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        processed = hub.process_pending()
        process_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        delivered = hub.deliverer.deliver_due(max_batches=10_000)
        deliver_s = time.perf_counter() - t0
    hub.close()
    return {
        "n": n,
        "generate_s": round(gen_s, 2),
        "intake_s": round(intake_s, 2),
        "intake_leads_per_s": round(report.new / intake_s),
        "process_s": round(process_s, 2),
        "process_leads_per_s": round(processed.processed / process_s),
        "leads": processed.leads_created,
        "merged": processed.leads_merged,
        "routed": processed.routed,
        "quarantined": processed.quarantined,
        "delivered": delivered.sent,
        "deliver_leads_per_s": round(delivered.sent / deliver_s) if deliver_s else 0,
        "peak_rss_mb": round(rss.peak / 2**20, 1),
        # Other work on the machine slows every figure: the 1-minute load before and after.
        "load_avg_1m": [round(load_before, 2), round(os.getloadavg()[0], 2)],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=100_000, help="leads to generate (default 100,000)")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "pipeline.json")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="leadhub-bench-") as tmp:
        small = run_once(max(args.n // 10, 1000), Path(tmp))
        full = run_once(args.n, Path(tmp))
    result = {
        "benchmark": "pipeline",
        "command": f"python bench/pipeline.py -n {args.n}",
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "load_avg": os.getloadavg()},
        "runs": [small, full],
        "rss_growth_mb": round(full["peak_rss_mb"] - small["peak_rss_mb"], 1),
        "targets": {"process_leads_per_s": 2000, "peak_rss_mb": 300},
    }
    print(f"{'N':>8} {'intake/s':>9} {'process/s':>10} {'deliver/s':>10} {'leads':>7} {'peak RSS MB':>12} "
          f"{'load 1m':>11}")
    for r in (small, full):
        load = "-".join(f"{v:.1f}" for v in r["load_avg_1m"])
        print(f"{r['n']:>8} {r['intake_leads_per_s']:>9} {r['process_leads_per_s']:>10} "
              f"{r['deliver_leads_per_s']:>10} {r['leads']:>7} {r['peak_rss_mb']:>12} {load:>11}")
    print(f"RSS growth from N={small['n']} to N={full['n']}: {result['rss_growth_mb']} MB")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
