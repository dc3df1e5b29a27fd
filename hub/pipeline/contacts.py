"""Contacts in the engine: one contact per person per account, and candidate duplicates.

A contact is found by its *match key* within its account (``hub_contact_key``; built in: the
canonical e-mail), so two spellings of one address are one contact. A new contact (no key
match) is compared with the stored contacts that share a *blocking key*, found through indexes
only, never by reading an account's contacts:

- the same account's contacts with the same :func:`name_key` (normalised full name);
- any account's contacts with the same :func:`phone_key` (the phone's digits).

Each pair is scored by ``hub_contact_duplicate``; a pair that ``is_candidate`` is recorded in
``contact_duplicates`` and audited, and a person merges it or keeps it apart
(``leadhub contacts``, :mod:`hub.review.contacts`). The engine never merges on a score.

:class:`ContactCache` is the batch's view of all this (a part of :class:`hub.pipeline.batch.BatchWork`):
lookups are read once per batch, in bulk where the engine can say in advance what it will ask
(``prefetch``/``prefetch_candidates``), and see the contacts the batch itself created.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from hub.decisions import ContactRecord
from hub.schema import Contact, Lead, new_id, utcnow

if TYPE_CHECKING:
    from sqlalchemy import Connection

    from hub.pipeline.batch import BatchWork
    from hub.plugins import HubPlugins
    from hub.store import Store

_WORD = re.compile(r"[^\W_]+")
#: Stored contacts one blocking key may bring in: a switchboard number shared by a whole company
#: must not make every new contact of it cost thousands of comparisons.
PER_KEY = 20


def name_key(first_name: str | None, last_name: str | None) -> str | None:
    """The full name's words without accents, case or punctuation, sorted (swapped names agree).

    >>> name_key("José", "O'Neil-Smith")
    'jose neil o smith'
    """
    words: list[str] = []
    for part in (first_name, last_name):
        if part:
            text = part
            if not text.isascii():  # most names are: no accents to take off
                text = "".join(ch for ch in unicodedata.normalize("NFKD", text) if not unicodedata.combining(ch))
            words += _WORD.findall(text.casefold())
    return " ".join(sorted(words))[:400] or None


def phone_key(phone: str | None) -> str | None:
    """The phone's digits (E.164 already carries the country code); ``None`` under six digits."""
    digits = "".join(ch for ch in phone or "" if ch.isdigit())
    return digits[:40] if len(digits) >= 6 else None


@dataclass(frozen=True)
class PersonKeys:
    """A contact's keys, worked out once per record: match key, name key, phone key."""

    match: str | None
    name: str | None
    phone: str | None


def person_keys(plugins: HubPlugins, contact: Contact) -> PersonKeys:
    return PersonKeys(plugins.contact_key(contact), name_key(contact.first_name, contact.last_name),
                      phone_key(contact.phone))


def record_of(contact_id: str, account_id: str, contact: Contact) -> ContactRecord:
    return ContactRecord(contact_id, account_id, str(contact.email) if contact.email else None,
                         contact.first_name, contact.last_name, contact.phone)


class ContactCache:
    """Contact lookups and writes of one batch; undone with the record that made them.

    It shares the batch's containers (buffered rows, the undo log, the accounts it opened) but
    holds no reference to the :class:`~hub.pipeline.batch.BatchWork` itself: a cycle would keep a whole
    batch alive after it ends, for the cyclic collector to find (see ``paused_gc``).
    """

    def __init__(self, store: Store, conn: Connection, inserts: dict[str, list[dict[str, Any]]],
                 undo: list[Callable[[], None]], new_accounts: set[str], new_leads: set[str]) -> None:
        self.store, self.conn, self.inserts, self.undo = store, conn, inserts, undo
        self.new_accounts, self.new_leads = new_accounts, new_leads
        self.by_key: dict[tuple[str, str], str | None] = {}  # (account, match key) -> contact id
        self._keys_read: set[str] = set()  # match keys whose stored contacts were all read
        #: Contact ids on each lead, so a merge asks "is this person on it already?" in O(1).
        self.lead_people: dict[str, set[str]] = {}
        self._names: dict[tuple[str, str], list[ContactRecord]] = {}  # stored, by (account, name key)
        self._phones: dict[str, list[ContactRecord]] = {}  # stored, by phone key
        self._new_names: dict[tuple[str, str], list[ContactRecord]] = {}  # created in this batch
        self._new_phones: dict[str, list[ContactRecord]] = {}

    # -- by key ------------------------------------------------------------------------------
    def prefetch(self, keys: Iterable[str]) -> None:
        """Read every stored contact with one of these match keys, whatever its account."""
        wanted = [k for k in set(keys) if k and k not in self._keys_read]
        if not wanted:
            return
        for pair, contact_id in self.store.contacts_by_keys(self.conn, wanted).items():
            self.by_key.setdefault(pair, contact_id)
        self._keys_read.update(wanted)

    def find(self, account_id: str, key: str | None) -> str | None:
        """The contact of this account with this match key (one merged away: its survivor)."""
        if not key:
            return None
        pair = (account_id, key)
        if pair not in self.by_key:
            if account_id in self.new_accounts or key in self._keys_read:
                return None
            self.by_key[pair] = self.store.find_contact(self.conn, account_id, key)
        return self.by_key[pair]

    # -- candidates --------------------------------------------------------------------------
    def prefetch_candidates(self, names: set[tuple[str, str]], phones: set[str]) -> None:
        """Read the stored contacts under these (account, name key) pairs and phone keys at once."""
        names = {p for p in names if p not in self._names and p[0] not in self.new_accounts}
        phones = {p for p in phones if p not in self._phones}
        if not names and not phones:
            return
        by_name, by_phone = self.store.contact_candidates(self.conn, names, phones, PER_KEY)
        for pair in names:
            self._names[pair] = by_name.get(pair, [])
        for phone in phones:
            self._phones[phone] = by_phone.get(phone, [])

    def candidates(self, account_id: str, name: str | None, phone: str | None) -> list[ContactRecord]:
        """Contacts that may be the person with these blocking keys (stored and of this batch)."""
        pair = (account_id, name) if name else None
        if (pair and pair not in self._names and account_id not in self.new_accounts) or (
                phone and phone not in self._phones):  # not prefetched (a record processed on its own)
            self.prefetch_candidates({pair} if pair else set(), {phone} if phone else set())
        found: dict[str, ContactRecord] = {}
        if pair:
            for rec in self._names.get(pair, []) + self._new_names.get(pair, []):
                found.setdefault(rec.id, rec)
        if phone:
            for rec in self._phones.get(phone, []) + self._new_phones.get(phone, []):
                found.setdefault(rec.id, rec)
        return list(found.values())[:2 * PER_KEY]

    # -- writes ------------------------------------------------------------------------------
    def add(self, record: ContactRecord, contact: Contact, keys: PersonKeys) -> None:
        """Buffer a new contact and index it for the rest of the batch."""
        key, name, phone = keys.match, keys.name, keys.phone
        self.inserts["contacts"].append({
            "id": record.id, "account_id": record.account_id, "created_at": utcnow(),
            **contact.model_dump(mode="json"), "match_key": key, "name_key": name, "phone_key": phone})
        if key:
            self._set_key((record.account_id, key), record.id)
        if name:
            self._append(self._new_names, (record.account_id, name), record)
        if phone:
            self._append(self._new_phones, phone, record)

    def _set_key(self, pair: tuple[str, str], contact_id: str) -> None:
        by_key, had, old = self.by_key, pair in self.by_key, self.by_key.get(pair)
        by_key[pair] = contact_id

        def undo() -> None:
            if had:
                by_key[pair] = old
            else:
                by_key.pop(pair, None)

        self.undo.append(undo)

    def _append(self, index: dict[Any, list[ContactRecord]], key: Any, record: ContactRecord) -> None:
        index.setdefault(key, []).append(record)
        self.undo.append(lambda: index[key].remove(record))

    def add_duplicate(self, row: dict[str, Any]) -> None:
        self.inserts["contact_duplicates"].append({"status": "open", "created_at": utcnow(), "details": {},
                                                        **row})

    # -- a lead's people ---------------------------------------------------------------------
    def lead_has(self, lead_id: str, contact_id: str) -> bool:
        """Whether the contact is on the lead already (the batch's latest state of it).

        By contact id, which the match key resolved (a contact merged away resolves to its
        survivor): one person is on a lead once, whichever of their addresses wrote.
        """
        people = self.lead_people.get(lead_id)
        if people is None:  # not read with the lead (prefetch_leads fills this)
            people = set() if lead_id in self.new_leads else self.store.lead_contact_ids(self.conn, lead_id)
            self.lead_people[lead_id] = people
        return contact_id in people

    def add_to_lead(self, lead_id: str, contact_id: str) -> None:
        people = self.lead_people.setdefault(lead_id, set())
        if contact_id not in people:
            people.add(contact_id)
            self.undo.append(lambda: people.discard(contact_id))


def place_contact(work: BatchWork, plugins: HubPlugins, account_id: str, lead: Lead, contact: Contact,
                  keys: PersonKeys, audit: Callable[..., None]) -> str | None:
    """Find or create the inquiry's contact and put it on ``lead`` once; returns its id.

    ``keys`` are :func:`person_keys` of ``contact``; ``audit(action, reason, **details)`` writes
    to the lead's trail. A new contact is compared with its candidates and every pair worth a
    person's look is recorded.
    """
    people = work.people
    key = keys.match
    contact_id = people.find(account_id, key)
    if contact_id is None and (contact.email or contact.last_name or contact.first_name or contact.phone):
        contact_id = new_id("ct")
        record = record_of(contact_id, account_id, contact)
        others = people.candidates(account_id, keys.name, keys.phone)
        people.add(record, contact, keys)
        for other in others:
            score = plugins.contact_duplicate(record, other)
            if score is None or not score.is_candidate:
                continue
            people.add_duplicate({"contact_id": contact_id, "other_id": other.id,
                                  "confidence": score.confidence, "reason": score.reason})
            where = "" if other.account_id == account_id else f" of account {other.account_id}"
            audit("contact", f"possible duplicate: new contact {record.display} ({contact_id}) may be "
                             f"{other.display} ({other.id}){where}: {score.reason} (confidence "
                             f"{score.confidence:.2f}); decide with `leadhub contacts merge {other.id} {contact_id}` "
                             f"or `leadhub contacts keep-apart {other.id} {contact_id}`",
                  contact_id=contact_id, other_id=other.id, confidence=score.confidence)
    if contact_id is not None and not people.lead_has(lead.id, contact_id):
        lead.contacts.append(contact)
        people.add_to_lead(lead.id, contact_id)
        work.link_contact(lead.id, contact_id, len(lead.contacts) - 1)
    return contact_id
