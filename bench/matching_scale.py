"""The scale step of the matching harness (issue 7): N inquiries against M accounts.

Run in its own process (bench/matching.py starts it) so its peak RSS is the matcher's alone, not
that of the splink and pandas runs before it.

    .venv/bin/python bench/matching_scale.py --accounts 1000000 --inquiries 100000 --threshold 0.93
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# As in bench/matching.py: the project root first, bench/ last (bench/hubspot.py shadows hubspot).
sys.path[:] = [str(ROOT)] + [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"] + [str(ROOT / "bench")]

import argparse
import gc
import json
import os
import resource
import time
from typing import Any

from matching_common import REPORT_SEED, load_accounts
from matching_data import Generator, Vocabulary

from hub.decisions import MatchOutcome
from hub.schema import Inquiry
from plugins.matching import MatchingSettings, match_account


# -- scale --------------------------------------------------------------------------------------
def peak_rss_mb() -> float:
    """This process's peak RSS since it started (``VmHWM``).

    Not ``getrusage``'s ``ru_maxrss``: Linux carries that over from the parent through fork and
    exec, so a step started by bench/matching.py after its splink runs reported their peak.
    """
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # not Linux: the best there is


def scale(n_accounts: int, n_cases: int, vocab: Vocabulary, threshold: float) -> dict[str, Any]:
    gen = Generator(REPORT_SEED + 1, vocab)
    start = time.perf_counter()
    book, _ = load_accounts(gen, n_accounts)
    load_seconds = time.perf_counter() - start
    # The account book and the generator's state live to the end: out of the collector's way, as
    # the hub's long-running commands freeze their start-up objects (a full collection would
    # otherwise walk them all again and again while the inquiries are matched).
    gc.collect()
    gc.freeze()
    settings = MatchingSettings(match_threshold=threshold, review_threshold=min(threshold, 0.75))
    matched = 0
    busy = cpu = 0.0
    chunk: list[Inquiry] = []

    def flush() -> None:
        nonlocal matched, busy, cpu
        t0, c0 = time.perf_counter(), time.process_time()
        for inquiry in chunk:
            matched += match_account(inquiry, book, settings).outcome is MatchOutcome.MATCHED
        busy += time.perf_counter() - t0
        cpu += time.process_time() - c0
        chunk.clear()

    for case in gen.cases(n_cases):  # generated in chunks so the inquiries do not count in RSS
        chunk.append(case.inquiry)
        if len(chunk) == 2000:
            flush()
    flush()
    # records/s is wall time; the CPU figure tells a slow run from a machine shared with others.
    return {"accounts": n_accounts, "inquiries": n_cases, "load_seconds": round(load_seconds, 1),
            "match_seconds": round(busy, 2), "records_per_second": round(n_cases / busy),
            "records_per_cpu_second": round(n_cases / cpu), "matched": matched,
            "peak_rss_mb": round(peak_rss_mb()), "load_average": round(os.getloadavg()[0], 2)}


def main() -> int:
    parser = argparse.ArgumentParser(description="Match N inquiries against M accounts: records/s and peak RSS.")
    parser.add_argument("--accounts", type=int, default=1_000_000)
    parser.add_argument("--inquiries", type=int, default=100_000)
    parser.add_argument("--threshold", type=float, default=0.93, help="match threshold (bench/matching.py tunes it)")
    parser.add_argument("--json", action="store_true", help="print the result as one JSON line last")
    args = parser.parse_args()
    result = scale(args.accounts, args.inquiries, Vocabulary(REPORT_SEED), args.threshold)
    if args.json:
        print(json.dumps(result))
    else:
        print(f"{result['inquiries']:,} inquiries vs {result['accounts']:,} accounts: "
              f"{result['records_per_second']:,} records/s ({result['records_per_cpu_second']:,} per CPU second), "
              f"peak RSS {result['peak_rss_mb']:,} MB, accounts loaded in {result['load_seconds']} s "
              f"(load average {result['load_average']})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
