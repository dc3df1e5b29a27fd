"""Fodor's and Zagat's restaurant guides: a public business-entity set with ground truth (issue 17).

The set ships inside the ``py-entitymatching`` package (``datasets/end-to-end/restaurants``): 533
Fodor's and 331 Zagat's restaurants (name, address, city, phone, cuisine) and the 112 pairs that
are one restaurant. Zagat's guide is the account book (each restaurant an account in the US, its
phone read as a US number); each Fodor's restaurant is an inquiry naming the restaurant and its
phone as a guide prints it ("310/246-1501"), with no country: the matcher reads the phone in the
country it infers (here, the candidate's). 421 of the 533 are in no Zagat book: they must come
out new. Peers get the same two columns, the name normalised and the phone in E.164 read as US.

The package builds C extensions and pins old build tools; only its data files are read, found
without importing it (``importlib.util.find_spec``). Missing package: the set is skipped.
"""

from __future__ import annotations

import csv
import importlib.util
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pandas as pd
from matching_common import link_metrics

from hub.schema import Activity, Company, Inquiry, SourceRecord
from plugins.matching import InMemoryAccounts
from plugins.matching.keys import phone_e164
from plugins.matching.names import normalize_company_name

Raw = list[tuple[str | None, float, bool]]
Runner = Callable[[pd.DataFrame, pd.DataFrame, list[str]], tuple[dict[str, str], float]]


def data_dir() -> Path | None:
    """Where py-entitymatching keeps the restaurant set, or ``None`` if it is not installed."""
    spec = importlib.util.find_spec("py_entitymatching")
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(next(iter(spec.submodule_search_locations))) / "datasets" / "end-to-end" / "restaurants"
    return folder if (folder / "matches_fodors_zagats.csv").exists() else None


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", errors="replace", newline="") as handle:
        return list(csv.DictReader(handle))


def restaurants_set(run_ours: Callable[[list[Inquiry], InMemoryAccounts], tuple[Raw, float]],
                    decide: Callable[[Raw, float], list[str | None]], threshold: float,
                    peers: Sequence[tuple[str, Runner]]) -> dict[str, Any]:
    folder = data_dir()
    if folder is None:
        print("restaurants: py-entitymatching is not installed (pip install --no-deps py-entitymatching); skipped")
        return {"skipped": "py-entitymatching not installed", "methods": {}}
    zagat, fodors = _rows(folder / "zagats.csv"), _rows(folder / "fodors.csv")
    pairs = {row["fodors_id"]: f"z{row['zagats_id']}" for row in _rows(folder / "matches_fodors_zagats.csv")}
    book = InMemoryAccounts()
    account_rows = []
    for row in zagat:
        phone = phone_e164(row["phone"], "US")
        book.add_account(f"z{row['id']}", row["name"], phones=[phone] if phone else [], country="US")
        account_rows.append({"unique_id": f"z{row['id']}", "name": normalize_company_name(row["name"]) or None,
                             "phone": phone})
    inquiries = [
        Inquiry(source=SourceRecord(connector="guide", stream="bench", external_id=row["id"], payload={}),
                company=Company(name=row["name"], phone=row["phone"]), activity=Activity(kind="form"))
        for row in fodors
    ]
    truth = [pairs.get(row["id"]) for row in fodors]
    raw, elapsed = run_ours(inquiries, book)
    result: dict[str, Any] = {"accounts": len(zagat), "inquiries": len(fodors), "true_pairs": len(pairs),
                              "methods": {"ours": {**link_metrics(truth, decide(raw, threshold)),
                                                   "seconds": round(elapsed, 2)}}}
    queries = pd.DataFrame([{"unique_id": f"q{i}", "name": normalize_company_name(row["name"]) or None,
                             "phone": phone_e164(row["phone"], "US")} for i, row in enumerate(fodors)])
    accounts = pd.DataFrame(account_rows)
    started = time.perf_counter()
    for label, runner in peers:
        best, seconds = runner(accounts, queries, ["name", "phone"])
        predicted = [best.get(f"q{i}") for i in range(len(fodors))]
        result["methods"][label] = {**link_metrics(truth, predicted), "seconds": round(seconds, 2)}
    result["peer_seconds"] = round(time.perf_counter() - started, 2)
    return result
