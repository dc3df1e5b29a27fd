"""An in-memory :class:`hub.decisions.AccountLookup` for tests, the benchmark and tools.

The store's lookup (SQL, indexed match keys) is the production one; this one answers the same
question the same way (accounts sharing a key, the most keys shared first) and holds a million
accounts in about 200 MB, without a Python object per account or per key:

- each account is one record (id, name, parent, the keys scoring reads) in a :class:`_Strings`
  column: one ``bytearray`` and one ``array`` of offsets;
- postings (key -> rows) are 65,536 sorted ``array('q')`` buckets of ``hash << 22 | row``,
  found by the key's hash and searched with :mod:`bisect`; account ids are posted the same way
  (no dict of a million ids). A hash collision only adds a candidate that scoring then rejects;
- a key shared by :data:`MAX_POSTINGS_PER_KEY` accounts stops taking more (a word in thousands of
  names tells nothing; the SQL store likewise reads only the first 50 of a key's accounts).

Blocking keys (:data:`plugins.matching.keys.BLOCKING_KINDS`) are posted but not stored with the
account: scoring never reads them, so :meth:`InMemoryAccounts.candidates` hands back only the
keys that identify (domain, phone, name, e-mail).
"""

from __future__ import annotations

from array import array
from bisect import bisect_left
from collections.abc import Iterable
from operator import itemgetter
from types import MappingProxyType

from hub.api import AccountCandidate, AccountMatch, MatchKey, MatchOutcome
from plugins.matching.keys import BLOCKING_KINDS, account_keys

_ROW_BITS = 22  # up to 4,194,304 accounts
_ROW_MASK = (1 << _ROW_BITS) - 1
_BUCKET_BITS = 16
_BUCKET_MASK = (1 << _BUCKET_BITS) - 1
_HASH_MASK = (1 << (63 - _ROW_BITS + _BUCKET_BITS)) - 1
_FIELD_SEP, _KEY_SEP, _PART_SEP = "\x1d", "\x1e", "\x1f"
_NO_SEPARATORS = MappingProxyType(str.maketrans({_FIELD_SEP: " ", _KEY_SEP: " ", _PART_SEP: " "}))
_ID_KIND = "\x00id"  # account ids are posted like keys, under a kind no key has
#: A key shared by this many accounts (a common word) takes no more: it names only its first ones,
#: as many as the SQL store reads per key (hub.store.repo.PER_KEY).
MAX_POSTINGS_PER_KEY = 50
#: Candidates whose shared keys weigh less than this share of the best candidate's are left out.
WEAK_SHARE = 0.1


def _key_hash(kind: str, value: str) -> int:
    return hash((kind, value)) & _HASH_MASK


class _Strings:
    """An append-only column of strings: UTF-8 in one ``bytearray``, offsets in an ``array``."""

    def __init__(self) -> None:
        self._blob = bytearray()
        self._ends = array("q")

    def append(self, text: str) -> None:
        self._blob += text.encode()
        self._ends.append(len(self._blob))

    def __getitem__(self, row: int) -> str:
        start = self._ends[row - 1] if row else 0
        return self._blob[start : self._ends[row]].decode()

    def __len__(self) -> int:
        return len(self._ends)


class InMemoryAccounts:
    """Accounts indexed by match keys, in memory."""

    def __init__(self) -> None:
        # One record per account: id, name, parent ("" for none) and the identifying keys it was
        # added with, packed (one decode reads a candidate).
        self._records = _Strings()
        self._more_facts: dict[int, str] = {}  # identifying keys added later by index(), packed
        self._country_of = array("H")  # an index into _countries; 0 is "no country"
        self._countries: list[str | None] = [None]
        self._buckets: list[array[int] | None] = [None] * (1 << _BUCKET_BITS)
        self._next_id = 0

    def __len__(self) -> int:
        return len(self._records)

    # -- postings ------------------------------------------------------------------------------
    def _span(self, hashed: int) -> tuple[array[int] | None, int, int]:
        """The bucket of ``hashed`` and the slice of it that holds the key's rows."""
        bucket = self._buckets[hashed & _BUCKET_MASK]
        if bucket is None:
            return None, 0, 0
        base = (hashed >> _BUCKET_BITS) << _ROW_BITS
        lo = bisect_left(bucket, base)
        return bucket, lo, bisect_left(bucket, base + _ROW_MASK + 1, lo, min(len(bucket), lo + MAX_POSTINGS_PER_KEY))

    def _post(self, hashed: int, row: int) -> bool:
        """Post ``row`` under a key; ``False`` if it was there already."""
        bucket = self._buckets[hashed & _BUCKET_MASK]
        if bucket is None:
            bucket = self._buckets[hashed & _BUCKET_MASK] = array("q")
        entry = ((hashed >> _BUCKET_BITS) << _ROW_BITS) | row
        at = bisect_left(bucket, entry)
        if at < len(bucket) and bucket[at] == entry:
            return False
        base = entry & ~_ROW_MASK
        if bisect_left(bucket, base + _ROW_MASK + 1, at) - bisect_left(bucket, base, 0, at) >= MAX_POSTINGS_PER_KEY:
            return True  # a common key: already names as many accounts as a lookup reads
        bucket.insert(at, entry)
        return True

    def _rows(self, kind: str, value: str) -> list[int]:
        bucket, lo, hi = self._span(_key_hash(kind, value))
        if bucket is None or lo == hi:
            return []
        return [entry & _ROW_MASK for entry in bucket[lo:hi]]

    def _row_of(self, account_id: str) -> int | None:
        for row in self._rows(_ID_KIND, account_id):
            if self._records[row].partition(_FIELD_SEP)[0] == account_id:
                return row
        return None

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
        if self._row_of(account_id) is not None:
            raise ValueError(f"account {account_id} exists; use index() to add keys to it")
        row = len(self._records)
        if row > _ROW_MASK:
            raise ValueError(f"InMemoryAccounts holds at most {_ROW_MASK + 1} accounts")
        self._post(_key_hash(_ID_KIND, account_id), row)
        facts = _KEY_SEP.join(self._post_keys(row, keys))
        # A name is free text from a CRM: the separators become spaces (ids are the hub's own).
        self._records.append(_FIELD_SEP.join((account_id, name.translate(_NO_SEPARATORS), parent_id or "", facts)))
        self._country_of.append(self._country_index(country))

    def _country_index(self, country: str | None) -> int:
        if not country:
            return 0
        code = country.upper()
        try:
            return self._countries.index(code)  # a few hundred countries at most
        except ValueError:
            self._countries.append(code)
            return len(self._countries) - 1

    def _post_keys(self, row: int, keys: Iterable[MatchKey]) -> list[str]:
        """Post ``keys`` for ``row``; the identifying ones not posted before, packed."""
        facts = []
        for key in keys:
            fresh = self._post(_key_hash(key.kind, key.value), row)
            if fresh and key.kind not in BLOCKING_KINDS:
                facts.append(f"{key.kind}{_PART_SEP}{key.value}")
        return facts

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
        row = self._row_of(account_id)
        if row is None:
            raise KeyError(account_id)
        facts = self._post_keys(row, keys)
        if facts:
            known = self._more_facts.get(row)
            self._more_facts[row] = _KEY_SEP.join(([known] if known else []) + facts)

    def apply(self, match: AccountMatch) -> str:
        """Do with a verdict what the engine does: index a match, or open a new account."""
        if match.outcome is MatchOutcome.MATCHED and match.account_id:
            self.index(match.account_id, match.keys)
            return match.account_id
        self._next_id += 1
        account_id = f"acct_mem_{self._next_id}"
        while self._row_of(account_id) is not None:
            self._next_id += 1
            account_id = f"acct_mem_{self._next_id}"
        self.add(account_id, match.new_account_name, match.keys)
        return account_id

    # -- reading -------------------------------------------------------------------------------
    def candidates(self, keys: list[MatchKey], limit: int = 50) -> list[AccountCandidate]:
        """Accounts sharing any of ``keys``, the best first: each shared key counts one over the
        number of accounts it names, so a rare key ("kessler") says more than a common one
        ("tooling"), as in text search, and two rare keys more than one.

        A key at its cap (:data:`MAX_POSTINGS_PER_KEY`) names an arbitrary few of its accounts:
        it counts only when no rarer key found any.
        """
        spans: list[tuple[int, array[int], int, int]] = []
        seen: set[int] = set()
        for key in keys:
            hashed = _key_hash(key.kind, key.value)
            if hashed not in seen:
                seen.add(hashed)
                bucket, lo, hi = self._span(hashed)
                if bucket is not None and hi > lo:
                    spans.append((hi - lo, bucket, lo, hi))
        used = [span for span in spans if span[0] < MAX_POSTINGS_PER_KEY] or spans
        if not used:
            return []
        if len(used) == 1:
            _, bucket, lo, hi = used[0]
            best = [entry & _ROW_MASK for entry in bucket[lo : min(hi, lo + limit)]]
        else:
            used.sort(key=itemgetter(0))  # rarest key first: ties keep the order rows were first seen in
            weight: dict[int, float] = {}
            for size, bucket, lo, hi in used:
                share = 1.0 / size
                for entry in bucket[lo:hi]:
                    row = entry & _ROW_MASK
                    weight[row] = weight.get(row, 0.0) + share
            best = sorted(weight, key=weight.__getitem__, reverse=True)[:limit]
            # An account sharing a tenth of what the best one shares is noise beside it.
            floor = weight[best[0]] * WEAK_SHARE
            best = [row for row in best if weight[row] >= floor]
        return [self.get_row(row) for row in best]

    def get_row(self, row: int) -> AccountCandidate:
        account_id, name, parent_id, packed = self._records[row].split(_FIELD_SEP, 3)
        more = self._more_facts.get(row)
        if more:
            packed = f"{packed}{_KEY_SEP}{more}" if packed else more
        keys = tuple(MatchKey(*item.split(_PART_SEP, 1)) for item in packed.split(_KEY_SEP)) if packed else ()
        return AccountCandidate(account_id, name, keys, parent_id or None, self._countries[self._country_of[row]])

    def get(self, account_id: str) -> AccountCandidate:
        """The account ``account_id`` (``KeyError`` if unknown)."""
        row = self._row_of(account_id)
        if row is None:
            raise KeyError(account_id)
        return self.get_row(row)
