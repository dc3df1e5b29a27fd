"""An in-memory :class:`hub.decisions.AccountLookup` for tests, the benchmark and tools.

The store's lookup (SQL, indexed match keys) is the production one; this one answers the same
question the same way (accounts sharing a key, the most keys shared first) and holds a million
accounts in a few hundred MB: postings are one sorted ``array('q')`` of ``hash(key) << 22 | row``
searched with :mod:`bisect`, plus a small dict for keys added since the last merge. A hash
collision only adds a candidate that scoring then rejects.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left
from collections import defaultdict
from collections.abc import Iterable

from hub.decisions import AccountCandidate, AccountMatch, MatchKey, MatchOutcome
from plugins.matching.keys import account_keys

_ROW_BITS = 22  # up to 4,194,304 accounts
_HASH_MASK = (1 << (63 - _ROW_BITS)) - 1
_KEY_SEP, _PART_SEP = "\x1e", "\x1f"
#: A key shared by more accounts than this (a common name prefix) only contributes its first ones.
MAX_POSTINGS_PER_KEY = 300
_MERGE_EVERY = 200_000


def _key_hash(key: MatchKey) -> int:
    return hash(f"{key.kind}{_PART_SEP}{key.value}") & _HASH_MASK


class InMemoryAccounts:
    """Accounts indexed by match keys, in memory."""

    def __init__(self) -> None:
        self._ids: list[str] = []
        self._names: list[str] = []
        self._keys: list[str] = []  # each account's keys, packed in one string
        self._parents: list[str | None] = []
        self._countries: list[str | None] = []
        self._row_of: dict[str, int] = {}
        self._sorted = array("q")
        self._recent: dict[int, list[int]] = defaultdict(list)
        self._recent_count = 0
        self._next_id = 0

    def __len__(self) -> int:
        return len(self._ids)

    # -- writing -------------------------------------------------------------------------------
    def add(
        self,
        account_id: str,
        name: str,
        keys: Iterable[MatchKey],
        parent_id: str | None = None,
        country: str | None = None,
    ) -> None:
        """Add an account indexed under ``keys``; an existing id raises ``ValueError``."""
        if account_id in self._row_of:
            raise ValueError(f"account {account_id} exists; use index() to add keys to it")
        row = len(self._ids)
        if row >= 1 << _ROW_BITS:
            raise ValueError(f"InMemoryAccounts holds at most {1 << _ROW_BITS} accounts")
        self._row_of[account_id] = row
        self._ids.append(account_id)
        self._names.append(name)
        self._keys.append("")
        self._parents.append(parent_id)
        self._countries.append(country.upper() if country else None)
        self.index(account_id, keys)

    def add_account(
        self,
        account_id: str,
        name: str,
        domains: Iterable[str] = (),
        phones: Iterable[str] = (),
        parent_id: str | None = None,
        country: str | None = None,
    ) -> None:
        """Add an account from its plain fields, computing its keys as the matcher would."""
        self.add(account_id, name, account_keys(name, tuple(domains), tuple(phones)), parent_id, country)

    def index(self, account_id: str, keys: Iterable[MatchKey]) -> None:
        """Index ``account_id`` under more keys (what the engine does after a match)."""
        row = self._row_of[account_id]
        known = set(self._unpack(self._keys[row]))
        fresh = [k for k in dict.fromkeys(keys) if k not in known]
        if not fresh:
            return
        packed = _KEY_SEP.join(f"{k.kind}{_PART_SEP}{k.value}" for k in fresh)
        self._keys[row] = f"{self._keys[row]}{_KEY_SEP}{packed}" if self._keys[row] else packed
        for key in fresh:
            self._recent[_key_hash(key)].append(row)
        self._recent_count += len(fresh)
        if self._recent_count >= _MERGE_EVERY:
            self._merge()

    def apply(self, match: AccountMatch) -> str:
        """Do with a verdict what the engine does: index a match, or open a new account."""
        if match.outcome is MatchOutcome.MATCHED and match.account_id:
            self.index(match.account_id, match.keys)
            return match.account_id
        self._next_id += 1
        account_id = f"acct_mem_{self._next_id}"
        while account_id in self._row_of:
            self._next_id += 1
            account_id = f"acct_mem_{self._next_id}"
        self.add(account_id, match.new_account_name, match.keys)
        return account_id

    def _merge(self) -> None:
        merged = list(self._sorted)
        for hashed, rows in self._recent.items():
            merged.extend((hashed << _ROW_BITS) | row for row in rows)
        merged.sort()
        self._sorted = array("q", merged)
        self._recent.clear()
        self._recent_count = 0

    # -- reading -------------------------------------------------------------------------------
    @staticmethod
    def _unpack(packed: str) -> list[MatchKey]:
        if not packed:
            return []
        return [MatchKey(*item.split(_PART_SEP, 1)) for item in packed.split(_KEY_SEP)]

    def _rows(self, key: MatchKey) -> list[int]:
        hashed = _key_hash(key)
        lo = bisect_left(self._sorted, hashed << _ROW_BITS)
        hi = bisect_left(self._sorted, (hashed + 1) << _ROW_BITS, lo, min(len(self._sorted), lo + MAX_POSTINGS_PER_KEY))
        mask = (1 << _ROW_BITS) - 1
        rows = [v & mask for v in self._sorted[lo:hi]]
        recent = self._recent.get(hashed)
        if recent:
            rows.extend(recent[: MAX_POSTINGS_PER_KEY - len(rows)])
        return rows

    def candidates(self, keys: list[MatchKey], limit: int = 50) -> list[AccountCandidate]:
        """Accounts sharing any of ``keys``: the most keys shared first, then the rarest key.

        A rare key ("kessler") says more than a common one ("tooling"), as in text search.
        """
        shared: dict[int, list[int]] = {}
        for key in keys:
            rows = self._rows(key)
            for row in rows:
                hit = shared.setdefault(row, [0, len(rows)])
                hit[0] += 1
                hit[1] = min(hit[1], len(rows))
        best = sorted(shared.items(), key=lambda item: (-item[1][0], item[1][1], item[0]))[:limit]
        return [self.get_row(row) for row, _ in best]

    def get_row(self, row: int) -> AccountCandidate:
        return AccountCandidate(
            account_id=self._ids[row],
            name=self._names[row],
            keys=tuple(self._unpack(self._keys[row])),
            parent_id=self._parents[row],
            country=self._countries[row],
        )

    def get(self, account_id: str) -> AccountCandidate:
        """The account ``account_id`` (``KeyError`` if unknown)."""
        return self.get_row(self._row_of[account_id])
