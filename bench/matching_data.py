"""Seeded synthetic B2B data for bench/matching.py: accounts, and inquiries tagged by scenario.

Accounts are companies in seven locales (Faker's surnames and cities, coined brand words,
industry words, each locale's legal forms, national phone numbers), 10% of them subsidiaries of
another account (sharing its domain half of the time). Inquiries are generated per scenario with
the account they truly belong to (``None`` for a company that has no account yet):

normal_domain, webmail, disposable, legal_form, typo, subsidiary, partner_rep, cross_crm, phone,
net_new, net_new_lookalike. ``NORMAL_MIX`` weights them as an inbound day might.
"""

from __future__ import annotations

import random
import re
import string
from collections.abc import Iterator
from dataclasses import dataclass

from cleanco.clean import normalized as _fold
from faker import Faker

from hub.schema import Activity, Company, Contact, Inquiry, SourceRecord
from plugins.matching.names import compact, normalize_company_name

LOCALES: dict[str, tuple[str, str, list[str]]] = {
    "en_US": ("US", "com", ["Inc.", "LLC", "Corp.", "Corporation", "Co.", "Inc"]),
    "en_GB": ("GB", "co.uk", ["Ltd", "Limited", "plc", "Ltd."]),
    "de_DE": ("DE", "de", ["GmbH", "AG", "GmbH & Co. KG", "KG"]),
    "fr_FR": ("FR", "fr", ["SARL", "SA", "SAS", "S.A."]),
    "es_ES": ("ES", "es", ["S.L.", "S.A."]),
    "it_IT": ("IT", "it", ["S.r.l.", "S.p.A."]),
    "nl_NL": ("NL", "nl", ["B.V.", "N.V."]),
}
INDUSTRY = ["Logistics", "Tooling", "Systems", "Analytics", "Foods", "Textiles", "Robotics", "Software", "Consulting", "Energy", "Medical", "Pharma", "Capital", "Partners", "Labs", "Networks", "Solutions", "Engineering", "Marine", "Aviation", "Plastics", "Chemicals", "Security", "Media", "Studios", "Foods", "Farms", "Brewing", "Optics", "Sensors", "Metals", "Motors", "Dynamics", "Instruments", "Packaging", "Printing", "Travel", "Health", "Insurance", "Finance", "Learning", "Retail", "Fashion", "Furniture", "Lighting", "Acoustics", "Biotech", "Materials", "Water", "Solar", "Wind", "Freight", "Shipping", "Builders", "Architects", "Design"]
_SYLLABLES = ["vel", "tri", "nor", "wind", "kes", "ler", "ax", "on", "bri", "ta", "zen", "ko", "mar", "lo", "qui", "fa", "ro", "sta", "dex", "ly", "ven", "ora", "pix", "tal", "mek", "sol", "aria", "cor", "vix", "nex", "bel", "gra", "dor", "fin", "hel", "ixo", "jun", "kal", "mir", "nov", "pol", "rad", "sen", "tor", "ul", "var", "wex", "yan", "zor"]
WEBMAIL = ["gmail.com", "yahoo.com", "outlook.com", "hotmail.com", "web.de", "gmx.de", "orange.fr",
           "libero.it", "icloud.com", "aol.com"]
DISPOSABLE = ["mailinator.com", "10minutemail.com", "guerrillamail.com", "yopmail.com"]
_PHONE_FORMATS = {"US": "(2##) ###-####", "GB": "020 7### ####", "DE": "030 ########",
                  "FR": "01 ## ## ## ##", "ES": "91 ### ## ##", "IT": "02 #### ####", "NL": "020 ### ####"}
NORMAL_MIX: dict[str, float] = {
    "normal_domain": 0.30, "webmail": 0.08, "disposable": 0.02, "legal_form": 0.10, "typo": 0.06,
    "subsidiary": 0.05, "partner_rep": 0.05, "cross_crm": 0.10, "phone": 0.04, "net_new": 0.14,
    "net_new_lookalike": 0.06,
}
SOURCES = {"partner_rep": "partner", "cross_crm": None}  # None: salesforce or hubspot


@dataclass(frozen=True)
class SynthAccount:
    id: str
    name: str
    domain: str
    phone: str | None
    country: str
    locale: str
    parent_id: str | None = None


@dataclass(frozen=True)
class Case:
    """One inquiry with its truth and tags."""

    inquiry: Inquiry
    truth: str | None  # the account it belongs to; None: a company with no account yet
    scenario: str
    source: str


class Vocabulary:
    """Words to build company names from, drawn once from Faker per locale."""

    def __init__(self, seed: int) -> None:
        self.surnames: dict[str, list[str]] = {}
        self.cities: dict[str, list[str]] = {}
        for locale in LOCALES:
            fake = Faker(locale)
            fake.seed_instance(seed)
            for provider in fake.providers:
                # Faker's it_IT city list is built from a set, its order changing with the hash
                # seed of each run: sorted, the vocabulary (and every case) is the same each run.
                if isinstance(getattr(provider, "cities", None), list):
                    provider.cities = sorted(provider.cities)
            self.surnames[locale] = sorted({fake.last_name() for _ in range(600)})
            self.cities[locale] = sorted({fake.city().split()[0] for _ in range(200)})


class Generator:
    """A seeded generator of accounts and cases."""

    def __init__(self, seed: int, vocabulary: Vocabulary | None = None) -> None:
        self.rng = random.Random(seed)
        self.vocab = vocabulary or Vocabulary(seed)
        self.accounts: list[SynthAccount] = []
        self.subsidiaries: list[SynthAccount] = []
        self.partners: list[SynthAccount] = []
        self._names: set[str] = set()
        self._domains: set[str] = set()

    # -- accounts --------------------------------------------------------------------------------
    def _brand(self) -> str:
        return "".join(self.rng.choice(_SYLLABLES) for _ in range(self.rng.choice((2, 2, 3)))).capitalize()

    def _core(self, locale: str) -> str:
        r, rng = self.rng.random(), self.rng
        if r < 0.45:
            return f"{self._brand()} {rng.choice(INDUSTRY)}"
        if r < 0.65:
            return f"{rng.choice(self.vocab.surnames[locale])} {rng.choice(INDUSTRY)}"
        if r < 0.78:
            return f"{rng.choice(self.vocab.surnames[locale])} & {rng.choice(self.vocab.surnames[locale])}"
        if r < 0.9:
            return f"{rng.choice(self.vocab.cities[locale])} {rng.choice(INDUSTRY)} {self._brand()}"
        return f"{self._brand()} {self._brand()}"

    def _unique_core(self, locale: str) -> str:
        while True:
            core = self._core(locale)
            if normalize_company_name(core) not in self._names:
                return core

    def _domain(self, core: str, tld: str) -> str:
        base = re.sub(r"[^a-z0-9]", "", compact(normalize_company_name(core)))[:30] or "co"
        domain, n = f"{base}.{tld}", 1
        while domain in self._domains:
            n += 1
            domain = f"{base}{n}.{tld}"
        self._domains.add(domain)
        return domain

    def phone(self, country: str) -> str:
        return "".join(self.rng.choice(string.digits) if ch == "#" else ch for ch in _PHONE_FORMATS[country])

    def new_account(self, index: int, parent: SynthAccount | None = None) -> SynthAccount:
        rng = self.rng
        locale = parent.locale if parent else rng.choice(list(LOCALES))
        country, tld, forms = LOCALES[locale]
        if parent:
            parent_core = parent.name.rsplit(" ", 1)[0] if " " in parent.name else parent.name
            core = f"{normalize_company_name(parent_core).title()} {rng.choice(INDUSTRY + ['Europe', 'Services'])}"
            if normalize_company_name(core) in self._names:
                core = f"{core} {self._brand()}"
        else:
            core = self._unique_core(locale)
        self._names.add(normalize_company_name(core))
        domain = parent.domain if parent and rng.random() < 0.5 else self._domain(core, tld)
        account = SynthAccount(
            id=f"acct_{index:07d}", name=f"{core} {rng.choice(forms)}", domain=domain,
            phone=self.phone(country) if rng.random() < 0.5 else None, country=country, locale=locale,
            parent_id=parent.id if parent else None,
        )
        return account

    def make_accounts(self, n: int) -> Iterator[SynthAccount]:
        """``n`` accounts, about 10% subsidiaries of an earlier one; 50 of them are also partners."""
        for i in range(n):
            parents = self.accounts
            if parents and self.rng.random() < 0.1:
                account = self.new_account(i, self.rng.choice(parents[-5000:]))
                self.subsidiaries.append(account)
            else:
                account = self.new_account(i)
                if len(self.accounts) < 200_000:  # keep enough for sampling, not all at 1M
                    self.accounts.append(account)
                elif self.rng.random() < 0.2:
                    self.accounts[self.rng.randrange(len(self.accounts))] = account
                if len(self.partners) < 50 and self.rng.random() < 0.01:
                    self.partners.append(account)
            yield account

    # -- name variants ---------------------------------------------------------------------------
    def legal_variant(self, name: str, locale: str) -> str:
        rng = self.rng
        core = name
        for form in sorted(LOCALES[locale][2], key=len, reverse=True):
            if name.endswith(" " + form):
                core = name[: -len(form) - 1]
                break
        choice = rng.randrange(7)
        if choice == 0:
            return core
        if choice == 1:
            return f"{core.upper()} {rng.choice(LOCALES[locale][2]).upper()}"
        if choice == 2:
            return f"The {core} Co. Ltd"
        if choice == 3:
            return f"{core} {rng.choice(LOCALES[locale][2])} ({rng.choice(['Europe', 'HQ', 'UK', 'Sales'])})"
        if choice == 4:
            return core.replace(" & ", " and ") if " & " in core else f"{core}, {rng.choice(LOCALES[locale][2])}"
        if choice == 5:
            return core.lower()
        return f"{core} {rng.choice(LOCALES[locale][2])}"

    def typo(self, name: str) -> str:
        rng = self.rng
        letters = [i for i, ch in enumerate(name) if ch.isalpha() and i > 0]
        chars = list(name)
        for _ in range(1 if len(name) < 18 else 2):
            i = rng.choice(letters[:-1] if len(letters) > 1 else letters)
            kind = rng.randrange(3)
            if kind == 0:
                chars[i] = rng.choice(string.ascii_lowercase)
            elif kind == 1:
                chars[i] = ""
            elif i + 1 < len(chars):
                chars[i], chars[i + 1] = chars[i + 1], chars[i]
        return "".join(chars)

    def lookalike(self, account: SynthAccount) -> str:
        core = normalize_company_name(account.name).title()
        words = core.split()
        # Not "Acme Logistics Logistics" nor "Smith And Logistics" (from "Smith & Jones"): those
        # are no company's name, and a doubled word reads as a slip of the account's own.
        head = words[:-1]
        while head and head[-1].lower() in ("and", "&"):
            head = head[:-1]
        for _ in range(20):
            industry = self.rng.choice([w for w in INDUSTRY if w.lower() not in core.lower().split()])
            # half the time the subset trap: the core with another industry word
            candidate = " ".join(head + [industry]) if self.rng.random() < 0.5 and head else f"{core} {industry}"
            if normalize_company_name(candidate) not in self._names:
                return candidate
        return f"{self._brand()} {self.rng.choice(INDUSTRY)}"

    # -- cases -----------------------------------------------------------------------------------
    def _person(self, locale: str) -> tuple[str, str]:
        return self.rng.choice(self.vocab.surnames["en_US"]), self.rng.choice(self.vocab.surnames[locale])

    def case(self, scenario: str, serial: int) -> Case:
        rng = self.rng
        source = SOURCES.get(scenario, "") or ""
        if scenario == "cross_crm" or not source:
            source = rng.choice(["salesforce", "hubspot"]) if scenario == "cross_crm" else rng.choice(
                ["webform", "webform", "hubspot", "salesforce"])
        target = rng.choice(self.subsidiaries if scenario == "subsidiary" and self.subsidiaries else self.accounts)
        first, last = self._person(target.locale)
        local = re.sub(r"[^a-z0-9.]", "", _fold(f"{first}.{last}")) or "someone"
        company: dict[str, object] = {}
        email: str | None = None
        partner_id = None
        truth: str | None = target.id
        if scenario == "normal_domain":
            company = {"name": self.legal_variant(target.name, target.locale)}
            email = f"{local}@{target.domain}"
        elif scenario in ("webmail", "legal_form", "disposable"):
            name = target.name if scenario == "webmail" else self.legal_variant(target.name, target.locale)
            company = {"name": name}
            domain = rng.choice(DISPOSABLE if scenario == "disposable" else WEBMAIL)
            email = f"{local}{rng.randrange(99)}@{domain}"
        elif scenario == "typo":
            company = {"name": self.typo(self.legal_variant(target.name, target.locale))}
            email = f"{local}@{rng.choice(WEBMAIL)}"
        elif scenario == "subsidiary":
            company = {"name": self.legal_variant(target.name, target.locale)}
            email = f"{local}@{target.domain}" if rng.random() < 0.5 else f"{local}@{rng.choice(WEBMAIL)}"
        elif scenario == "partner_rep":
            partner = rng.choice(self.partners or self.accounts)
            partner_id = f"partner_{partner.id}"
            company = {"name": self.legal_variant(target.name, target.locale)}
            if rng.random() < 0.3:
                company["website"] = f"https://www.{target.domain}/"
            email = f"rep.{local}@{partner.domain}"
        elif scenario == "cross_crm":
            company = {"name": self.legal_variant(target.name, target.locale),
                       ("website" if rng.random() < 0.5 else "domain"): (
                           f"https://www.{target.domain}/about" if rng.random() < 0.5 else target.domain)}
        elif scenario == "phone":
            phone_target = target if target.phone else next((a for a in self.accounts if a.phone), target)
            target, truth = phone_target, phone_target.id
            words = normalize_company_name(target.name).title().split()
            company = {"name": " ".join(words[: max(1, len(words) - 1)]), "country": target.country,
                       "phone": target.phone}
            email = f"{local}@{rng.choice(WEBMAIL)}"
        elif scenario in ("net_new", "net_new_lookalike"):
            truth = None
            locale = target.locale
            core = self.lookalike(target) if scenario == "net_new_lookalike" else self._unique_core(locale)
            name = f"{core} {rng.choice(LOCALES[locale][2])}"
            company = {"name": name}
            tld = LOCALES[locale][1]
            email = (f"{local}@{self._domain(core, tld)}" if rng.random() < 0.6
                     else f"{local}@{rng.choice(WEBMAIL)}")
        else:
            raise ValueError(f"unknown scenario {scenario!r}")
        if "country" not in company and rng.random() < 0.5:
            company["country"] = target.country if truth else LOCALES[target.locale][0]
        inquiry = Inquiry(
            source=SourceRecord(connector=source, stream="bench", external_id=str(serial), payload={}),
            contact=Contact(email=email, first_name=first, last_name=last),
            company=Company(**company),  # type: ignore[arg-type]
            activity=Activity(kind="form"),
            partner_id=partner_id,
        )
        return Case(inquiry, truth, scenario, source)

    def cases(self, n: int, mix: dict[str, float] = NORMAL_MIX) -> Iterator[Case]:
        scenarios, weights = list(mix), list(mix.values())
        for serial in range(n):
            yield self.case(self.rng.choices(scenarios, weights)[0], serial)
