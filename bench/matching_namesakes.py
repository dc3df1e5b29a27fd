"""A namesake-rich account book for bench/matching.py (issue 17), and inquiries tagged by scenario.

bench/matching_data.py gives every account a unique normalised name. Real books do not: several
"Smith Ltd" in one CRM, a parent and its subsidiary that normalise to the same name ("Acme
Corporation" and "Acme (UK) Ltd"), restaurant or dealer branches with one name in many cities.
:class:`NamesakeGenerator` builds such a book from the same vocabulary:

- about one account in eight reuses the name of an earlier, unrelated account (a namesake), with
  its own domain and phone, in the same country half of the time;
- about one in twenty is a branch of a chain: "Brand (City)", its own phone, the chain's domain
  most of the time;
- half of the subsidiaries carry their parent's name with a country or region qualifier
  ("Velkes Logistics (UK) Ltd", "Velkes Logistics Europe"), their own domain half of the time;
- most accounts have a phone, kept in national format (the account's country reads it).

Scenarios (``NAMESAKE_MIX``): ``namesake_domain``, ``namesake_phone`` (the inquiry names a
company that has namesakes and gives its domain or phone), ``namesake_bare`` (the name only:
a person must choose, unless the country tells them apart), ``namesake_new`` (a company not in
the book that shares a name with one that is, with its own domain or phone), ``parent_sub``
(parent or same-named subsidiary, told apart by domain, phone or qualifier, or by nothing),
``branch`` and ``branch_new`` (a known branch by its phone; a branch in a city the book does not
have), ``alias_domain`` and ``typo_domain`` (a domain the account does not have on file: another
TLD, a group form, one slip), ``national_phone`` (a national number and no country), plus the
plain scenarios of bench/matching_data.py against this book.
"""

from __future__ import annotations

import re
import string
from collections import Counter
from collections.abc import Iterator

from faker import Faker
from matching_data import DISPOSABLE, INDUSTRY, LOCALES, WEBMAIL, Case, Generator, SynthAccount, Vocabulary

from hub.schema import Activity, Company, Contact, Inquiry, SourceRecord
from plugins.matching.names import compact, normalize_company_name

NAMESAKE_MIX: dict[str, float] = {
    "namesake_domain": 0.10, "namesake_phone": 0.08, "namesake_bare": 0.05, "namesake_new": 0.10,
    "parent_sub": 0.10, "branch": 0.08, "branch_new": 0.05, "alias_domain": 0.06, "typo_domain": 0.05,
    "national_phone": 0.06, "normal_domain": 0.10, "legal_form": 0.06, "net_new": 0.06, "net_new_lookalike": 0.05,
}
#: Qualifiers a same-named subsidiary carries, by locale (a country, its code, a region).
_QUALIFIED = {"en_US": ("USA", "US", "America"), "en_GB": ("UK", "Great Britain", "Europe"),
              "de_DE": ("Deutschland", "Germany", "DACH"), "fr_FR": ("France", "Europe"),
              "es_ES": ("España", "Spain", "Iberia"), "it_IT": ("Italia", "Italy"),
              "nl_NL": ("Nederland", "Netherlands", "Benelux")}
_CCTLD = {"US": "us", "GB": "co.uk", "DE": "de", "FR": "fr", "ES": "es", "IT": "it", "NL": "nl"}
#: National numbers by city, so a branch in another city has another area code (US numbers already
#: vary theirs).
_AREA_FORMATS = {
    "GB": ("020 7### ####", "0121 ### ####", "0161 ### ####", "0113 ### ####", "0141 ### ####", "0117 ### ####"),
    "DE": ("030 ########", "040 ########", "089 ########", "069 ########", "0221 #######", "0711 #######"),
    "FR": ("01 ## ## ## ##", "02 ## ## ## ##", "03 ## ## ## ##", "04 ## ## ## ##", "05 ## ## ## ##"),
    "ES": ("91 ### ## ##", "93 ### ## ##", "95 ### ## ##", "96 ### ## ##"),
    "IT": ("02 #### ####", "06 #### ####", "011 ### ####", "055 ### ####", "081 ### ####"),
    "NL": ("020 ### ####", "010 ### ####", "070 ### ####", "030 ### ####", "040 ### ####"),
}


class NamesakeGenerator(Generator):
    """:class:`matching_data.Generator` with namesakes, same-named subsidiaries and branches."""

    def __init__(self, seed: int, vocabulary: Vocabulary | None = None) -> None:
        super().__init__(seed, vocabulary)
        self.by_name: dict[str, list[SynthAccount]] = {}
        self.branches: list[SynthAccount] = []
        self.chains: dict[str, list[SynthAccount]] = {}  # a chain's head account id -> its branches
        self.same_named_subs: list[SynthAccount] = []
        self._cities: dict[str, list[str]] = {}
        self._labels: set[str] = set()

    def _city(self, locale: str) -> str:
        if locale not in self._cities:
            fake = Faker(locale)
            fake.seed_instance(7)
            self._cities[locale] = sorted({fake.city() for _ in range(300)})
        return self.rng.choice(self._cities[locale])

    def _domain(self, core: str, tld: str) -> str:
        """The name's label under ``tld`` if free (namesakes in two countries may both have
        theirs), else a numbered label no company has under any TLD ("acme2" is one namesake's,
        not another's under another TLD)."""
        base = re.sub(r"[^a-z0-9]", "", compact(normalize_company_name(core)))[:30] or "co"
        domain, n = f"{base}.{tld}", 2
        if domain not in self._domains:
            self._domains.add(domain)
            return domain
        while f"{base}{n}" in self._labels:
            n += 1
        self._labels.add(f"{base}{n}")
        self._domains.add(f"{base}{n}.{tld}")
        return f"{base}{n}.{tld}"

    def phone(self, country: str) -> str:
        formats = _AREA_FORMATS.get(country)
        if formats is None:
            return super().phone(country)
        return "".join(self.rng.choice(string.digits) if ch == "#" else ch for ch in self.rng.choice(formats))

    def _add(self, account: SynthAccount) -> SynthAccount:
        self.by_name.setdefault(normalize_company_name(account.name), []).append(account)
        return account

    def new_account(self, index: int, parent: SynthAccount | None = None) -> SynthAccount:
        rng = self.rng
        earlier = self.accounts
        r = rng.random()
        if parent is not None and rng.random() < 0.5:
            return self._add(self._same_named_sub(index, parent))
        if parent is None and earlier and r < 0.12:
            return self._add(self._namesake(index, rng.choice(earlier[-5000:])))
        if parent is None and earlier and r < 0.17:
            return self._add(self._branch(index, rng.choice(earlier[-5000:])))
        account = super().new_account(index, parent)
        if rng.random() < 0.8 and account.phone is None:
            account = SynthAccount(account.id, account.name, account.domain, self.phone(account.country),
                                   account.country, account.locale, account.parent_id)
        return self._add(account)

    def _namesake(self, index: int, other: SynthAccount) -> SynthAccount:
        """An unrelated company with ``other``'s name (another legal form, maybe another country)."""
        rng = self.rng
        locale = other.locale if rng.random() < 0.5 else rng.choice(list(LOCALES))
        country, tld, forms = LOCALES[locale]
        core = normalize_company_name(other.name).title()
        return SynthAccount(id=f"acct_{index:07d}", name=f"{core} {rng.choice(forms)}",
                            domain=self._domain(core, tld), phone=self.phone(country) if rng.random() < 0.85 else None,
                            country=country, locale=locale)

    def _branch(self, index: int, head: SynthAccount) -> SynthAccount:
        """A branch of ``head``'s chain in a city of its own: "Brand (City)", its own phone."""
        rng = self.rng
        country, _, _ = LOCALES[head.locale]
        core = normalize_company_name(head.name).title()
        branches = self.chains.setdefault(head.id, [])
        taken = {b.name for b in branches}
        city = self._city(head.locale)
        if f"{core} ({city})" in taken:
            city = f"{city} {rng.choice(['Nord', 'Sud', 'Centre', 'West', 'East'])}"
        domain = head.domain if rng.random() < 0.7 else self._domain(f"{core} {city}", LOCALES[head.locale][1])
        account = SynthAccount(id=f"acct_{index:07d}", name=f"{core} ({city})", domain=domain,
                               phone=self.phone(country), country=country, locale=head.locale,
                               parent_id=head.id if rng.random() < 0.5 else None)
        branches.append(account)
        self.branches.append(account)
        return account

    def _same_named_sub(self, index: int, parent: SynthAccount) -> SynthAccount:
        """A subsidiary with its parent's normalised name and a country or region qualifier."""
        rng = self.rng
        locale = rng.choice(list(LOCALES))
        country, _tld, forms = LOCALES[locale]
        core = normalize_company_name(parent.name).title()
        qualifier = rng.choice(_QUALIFIED[locale])
        name = f"{core} ({qualifier}) {rng.choice(forms)}" if rng.random() < 0.6 else f"{core} {rng.choice(forms)}"
        own = rng.random() < 0.5
        domain = self._domain(core, _CCTLD[country]) if own else parent.domain
        account = SynthAccount(id=f"acct_{index:07d}", name=name, domain=domain, phone=self.phone(country),
                               country=country, locale=locale, parent_id=parent.id)
        self.same_named_subs.append(account)
        return account

    def namesake_share(self) -> float:
        """The share of accounts whose normalised name another account also has."""
        counts = Counter({name: len(accounts) for name, accounts in self.by_name.items()})
        total = sum(counts.values())
        return sum(c for c in counts.values() if c > 1) / total if total else 0.0

    # -- variants --------------------------------------------------------------------------------
    def alias_domain(self, domain: str) -> str:
        """Another domain of the same company, one no account has."""
        for _ in range(10):
            alias = self._alias(domain)
            if alias not in self._domains:
                return alias
        return f"{domain.partition('.')[0]}-hq.{domain.partition('.')[2]}"

    def _alias(self, domain: str) -> str:
        label, _, tld = domain.partition(".")
        choice = self.rng.randrange(4)
        if choice == 0:
            return f"{label}.{self.rng.choice([t for t in ('com', 'eu', 'de', 'co.uk', 'net') if t != tld])}"
        if choice == 1:
            return f"{label}-group.{tld}"
        if choice == 2:
            return f"{label}{self.rng.choice(['hq', 'online', 'global'])}.{tld}"
        return f"get{label}.{tld}"

    def typo_domain(self, domain: str) -> str:
        """The domain with one slip, one no account has."""
        for _ in range(10):
            typo = self._typo(domain)
            if typo not in self._domains:
                return typo
        return typo

    def _typo(self, domain: str) -> str:
        label, _, tld = domain.partition(".")
        chars = list(label)
        i = self.rng.randrange(1, max(2, len(chars) - 1))
        kind = self.rng.randrange(3)
        if kind == 0:
            chars[i] = self.rng.choice(string.ascii_lowercase)
        elif kind == 1 and len(chars) > 4:
            del chars[i]
        elif i + 1 < len(chars):
            chars[i], chars[i + 1] = chars[i + 1], chars[i]
        typo = "".join(chars)
        return f"{typo}.{tld}" if typo != label else f"{label}{label[-1]}.{tld}"

    def _namesaked(self) -> SynthAccount:
        shared = [a for name, group in self.by_name.items() if len(group) > 1 for a in group]
        return self.rng.choice(shared) if shared else self.rng.choice(self.accounts)

    def _inquiry(self, serial: int, source: str, target: SynthAccount, company: dict[str, object],
                 email: str | None) -> Inquiry:
        first, last = self._person(target.locale)
        return Inquiry(
            source=SourceRecord(connector=source, stream="bench", external_id=str(serial), payload={}),
            contact=Contact(email=email, first_name=first, last_name=last),
            company=Company(**company),  # type: ignore[arg-type]
            activity=Activity(kind="form"),
        )

    def _local(self, locale: str) -> str:
        first, last = self._person(locale)
        return re.sub(r"[^a-z0-9.]", "", f"{first}.{last}".lower()) or "someone"

    def case(self, scenario: str, serial: int) -> Case:
        if scenario in ("normal_domain", "legal_form", "net_new", "net_new_lookalike", "webmail", "disposable"):
            return super().case(scenario, serial)
        rng = self.rng
        source = rng.choice(["webform", "webform", "hubspot", "salesforce"])
        company: dict[str, object] = {}
        email: str | None = None
        if scenario in ("namesake_domain", "namesake_phone", "namesake_bare", "namesake_new"):
            target = self._namesaked()
        elif scenario == "parent_sub":
            sub = rng.choice(self.same_named_subs) if self.same_named_subs else self._namesaked()
            parent = next((a for a in self.by_name.get(normalize_company_name(sub.name), ()) if a.id == sub.parent_id),
                          None)
            target = parent if parent is not None and rng.random() < 0.4 else sub
        elif scenario in ("branch", "branch_new"):
            target = rng.choice(self.branches) if self.branches else self._namesaked()
        else:
            target = rng.choice(self.accounts)
        truth: str | None = target.id
        local = self._local(target.locale)
        webmail = f"{local}{rng.randrange(99)}@{rng.choice(WEBMAIL)}"
        name = self.legal_variant(target.name, target.locale)
        if scenario == "namesake_domain":
            company = {"name": name}
            email = f"{local}@{target.domain}"
        elif scenario == "namesake_phone":
            company = {"name": name, "phone": target.phone or self.phone(target.country)}
            if target.phone is None:
                company = {"name": name}
            email = webmail
            if rng.random() < 0.5:
                company["country"] = target.country
        elif scenario == "namesake_bare":
            company, email = {"name": name}, webmail
        elif scenario == "namesake_new":
            truth = None
            locale = rng.choice(list(LOCALES))
            country, tld, forms = LOCALES[locale]
            core = normalize_company_name(target.name).title()
            company = {"name": f"{core} {rng.choice(forms)}"}
            if rng.random() < 0.7:
                domain = self._domain(core, tld)
                email = f"{local}@{domain}"
                if rng.random() < 0.3:
                    company["website"] = f"https://{domain}/"
            else:
                email = webmail
                company["phone"] = self.phone(country)
                company["country"] = country
        elif scenario == "parent_sub":
            company = {"name": target.name if rng.random() < 0.5 else name}
            tell = rng.random()
            if tell < 0.45:
                email = f"{local}@{target.domain}"
            elif tell < 0.85 and target.phone:
                company["phone"], company["country"], email = target.phone, target.country, webmail
            else:
                email = webmail
        elif scenario == "branch":
            brand = target.name.split(" (")[0]
            company = {"name": target.name if rng.random() < 0.4 else brand, "phone": target.phone}
            email = f"{local}@{target.domain}" if rng.random() < 0.6 else webmail
            if rng.random() < 0.5:
                company["country"] = target.country
        elif scenario == "branch_new":
            truth = None
            brand = target.name.split(" (")[0]
            known = {b.name.split(" (", 1)[-1].rstrip(")") for b in self.branches if b.name.startswith(brand)}
            city = self._city(target.locale)
            for _ in range(20):
                if not any(set(city.lower().split()) & set(k.lower().split()) for k in known):
                    break
                city = self._city(target.locale)
            company = {"name": f"{brand} ({city})", "phone": self.phone(target.country)}
            email = f"{local}@{target.domain}" if rng.random() < 0.5 else webmail
        elif scenario == "alias_domain":
            company = {"name": name}
            email = f"{local}@{self.alias_domain(target.domain)}"
        elif scenario == "typo_domain":
            company = {"name": name}
            if rng.random() < 0.5:
                company["website"] = f"www.{self.typo_domain(target.domain)}"
                email = webmail
            else:
                email = f"{local}@{self.typo_domain(target.domain)}"
        elif scenario == "national_phone":
            phone_target = target if target.phone else next((a for a in self.accounts if a.phone), target)
            target, truth = phone_target, phone_target.id
            words = normalize_company_name(target.name).title().split()
            company = {"name": " ".join(words[: max(1, len(words) - 1)]), "phone": target.phone}
            email = webmail if rng.random() < 0.5 else f"{local}@{rng.choice(DISPOSABLE)}"
        else:
            raise ValueError(f"unknown scenario {scenario!r}")
        return Case(self._inquiry(serial, source, target, company, email), truth, scenario, source)

    def cases(self, n: int, mix: dict[str, float] = NAMESAKE_MIX) -> Iterator[Case]:
        return super().cases(n, mix)


__all__ = ["INDUSTRY", "NAMESAKE_MIX", "NamesakeGenerator"]
