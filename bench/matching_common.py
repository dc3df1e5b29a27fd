"""What the matching harness's parts share: seeds, metrics and loading an account book."""

from __future__ import annotations

from matching_data import Generator, SynthAccount

from plugins.matching import InMemoryAccounts
from plugins.matching.keys import phone_e164

TUNE_SEED, REPORT_SEED = 11, 23


def prf(tp: int, fp: int, fn: int) -> dict[str, float]:
    p = tp / (tp + fp) if tp + fp else 1.0
    r = tp / (tp + fn) if tp + fn else 1.0
    return {"precision": round(p, 4), "recall": round(r, 4), "f1": round(2 * p * r / (p + r) if p + r else 0.0, 4)}


def link_metrics(truth: list[str | None], predicted: list[str | None]) -> dict[str, float]:
    """Record-to-account metrics: a wrong account is a false positive and a false negative."""
    tp = sum(1 for t, p in zip(truth, predicted) if p is not None and p == t)
    fp = sum(1 for t, p in zip(truth, predicted) if p is not None and p != t)
    fn = sum(1 for t, p in zip(truth, predicted) if t is not None and p != t)
    new = [p for t, p in zip(truth, predicted) if t is None]
    out = prf(tp, fp, fn)
    out["false_match_rate_net_new"] = round(sum(p is not None for p in new) / len(new), 4) if new else 0.0
    return out


def load_accounts(generator: Generator, n: int) -> tuple[InMemoryAccounts, list[SynthAccount]]:
    book = InMemoryAccounts()
    kept: list[SynthAccount] = []
    for account in generator.make_accounts(n):
        phone = phone_e164(account.phone, account.country)
        book.add_account(account.id, account.name, [account.domain], [phone] if phone else [],
                         account.parent_id, account.country)
        if n <= 200_000:
            kept.append(account)
    return book, kept
