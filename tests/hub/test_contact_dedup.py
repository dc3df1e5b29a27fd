"""Contact de-duplication in the engine, on a real SQLite file and a real PostgreSQL database.

The same person is one contact (match key: the canonical e-mail, ``hub_contact_key``); a new
contact with the same name and phone, or the same name at the same account, is recorded as a
candidate duplicate (never merged on its own); a person merges it, keeps it apart, or undoes a
merge. Assertions name ``is_candidate`` and the reasons' key words, never exact confidences (the
scoring belongs to plugins.matching and may be tuned).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from connectors.file import import_file
from hub.cli.main import app
from hub.decisions import AccountMatch, MatchOutcome
from hub.plugins import hookimpl
from hub.review import contacts as contact_review
from hub.runtime import Hub
from hub.schema import Contact, Inquiry
from hub.store import tables as t

HEADER = "Email,First Name,Last Name,Phone,Company,Website,Country,Product,Activity\n"
_n = 0


def feed(hub: Hub, tmp_path: Path, *rows: str) -> None:
    """Import ``rows`` (CSV lines after HEADER) as a new source and process them."""
    global _n
    _n += 1
    path = tmp_path / f"batch{_n}.csv"
    path.write_text(HEADER + "".join(r + "\n" for r in rows), encoding="utf-8")
    import_file(path, hub.intake, source=f"sheet-{_n}")
    result = hub.process_pending()
    assert result.quarantined == 0


def contacts(hub: Hub) -> list[dict[str, Any]]:
    with hub.store.engine.connect() as conn:
        return [dict(r) for r in conn.execute(select(t.contacts).order_by(t.contacts.c.created_at)).mappings()]


def candidates(hub: Hub) -> list[dict[str, Any]]:
    with hub.store.engine.connect() as conn:
        stmt = select(t.contact_duplicates).order_by(t.contact_duplicates.c.id)
        return [dict(r) for r in conn.execute(stmt).mappings()]


def lead_of(hub: Hub, product: str) -> Any:
    with hub.store.engine.connect() as conn:
        lead_id = conn.execute(select(t.leads.c.id).where(t.leads.c.product_line == product)).scalar_one()
        return hub.store.get_lead(conn, lead_id)


def test_canonical_email_makes_one_contact(db_url: str, tmp_path: Path, hub_factory: Callable[..., Hub]) -> None:
    hub = hub_factory(db_url)
    # In one batch, then again in a later batch (read from the store by key).
    feed(hub, tmp_path, "John.Smith+news@GoogleMail.com,John,Smith,,Acme,acme.example,US,widgets,webinar",
         "johnsmith@gmail.com,John,Smith,,Acme,acme.example,US,widgets,newsletter")
    feed(hub, tmp_path, "JOHN.SMITH@gmail.com,John,Smith,,Acme,acme.example,US,widgets,form")
    (person,) = contacts(hub)
    assert person["match_key"] == "johnsmith@gmail.com"
    lead = lead_of(hub, "widgets")
    assert len(lead.contacts) == 1 and len(lead.activities) == 3
    assert candidates(hub) == []


class EveryCompanyIsNew:
    """Account matching out of the way: each inquiry's company is a new account (the matcher
    would also match on the shared phone; here two companies must stay two accounts)."""

    @hookimpl
    def hub_match_account(self, inquiry: Inquiry, lookup: object) -> AccountMatch:
        return AccountMatch(MatchOutcome.NEW, "test: a new company", new_account_name=inquiry.company.name or "?")


def test_same_name_and_phone_is_a_candidate_not_a_merge(
        db_url: str, tmp_path: Path, hub_factory: Callable[..., Hub]) -> None:
    hub = hub_factory(db_url, extra_plugins=(EveryCompanyIsNew(),))
    feed(hub, tmp_path, "ann@acme.example,Ann,Lee,+1 415 555 0100,Acme,acme.example,US,widgets,webinar")
    feed(hub, tmp_path, "ann.lee@globex.example,Ann,Lee,(415) 555-0100,Globex,globex.example,US,widgets,webinar")
    first, second = contacts(hub)
    assert first["account_id"] != second["account_id"]  # two companies: only the phone blocks them together
    assert first["phone_key"] == second["phone_key"] == "14155550100"
    (cand,) = candidates(hub)
    assert (cand["contact_id"], cand["other_id"], cand["status"]) == (second["id"], first["id"], "open")
    assert "phone" in cand["reason"] and "name" in cand["reason"]
    assert 0 < cand["confidence"] <= 1
    with hub.store.engine.connect() as conn:
        lead_id = conn.execute(select(t.lead_contacts.c.lead_id).where(
            t.lead_contacts.c.contact_id == second["id"])).scalar_one()
        trail = hub.store.audit_trail(conn, lead_id)
    noted = [e for e in trail if e["action"] == "contact"]
    assert noted and "possible duplicate" in noted[0]["reason"] and first["id"] in noted[0]["reason"]


def test_same_name_at_the_same_account_is_a_candidate(
        db_url: str, tmp_path: Path, hub_factory: Callable[..., Hub]) -> None:
    hub = hub_factory(db_url)
    # One batch: the second contact is compared with the first, created moments before.
    feed(hub, tmp_path, "ann@acme.example,Ann,Lee,,Acme,acme.example,US,widgets,webinar",
         "a.lee@gmail.com,Ann,Lee,,Acme,acme.example,US,gadgets,webinar")
    # A later batch: found through the stored name key.
    feed(hub, tmp_path, "ann.lee@outlook.com,ANN,LEE,,Acme,acme.example,US,gadgets,form")
    found = candidates(hub)
    assert len(found) == 3  # each new contact against each earlier one
    assert all("account" in c["reason"] and "name" in c["reason"] for c in found)
    assert len(contacts(hub)) == 3


def test_name_only_is_nothing(db_url: str, tmp_path: Path, hub_factory: Callable[..., Hub]) -> None:
    hub = hub_factory(db_url)
    feed(hub, tmp_path, "ann@acme.example,Ann,Lee,,Acme,acme.example,US,widgets,webinar",
         "ann@globex.example,Ann,Lee,,Globex,globex.example,US,widgets,webinar",
         "lee@initech.example,Ann,Lee,+1 212 555 0199,Initech,initech.example,US,widgets,webinar",
         "ann.lee@hooli.example,Ann,Lee,+1 212 555 0142,Hooli,hooli.example,US,widgets,webinar")
    assert len(contacts(hub)) == 4
    assert candidates(hub) == []


class PhoneIsThePerson:
    """A third-party key policy: one person per phone number (decides before the built-in)."""

    @hookimpl
    def hub_contact_key(self, contact: Contact) -> str | None:
        return f"tel:{contact.phone}" if contact.phone else None


def test_a_plugin_sets_the_key_policy_and_rekey_applies_it(
        db_url: str, tmp_path: Path, hub_factory: Callable[..., Hub]) -> None:
    plain = hub_factory(db_url)
    feed(plain, tmp_path, "ann@acme.example,Ann,Lee,+1 415 555 0100,Acme,acme.example,US,widgets,webinar",
         "bo@acme.example,Bo,Ek,+1 415 555 0100,Acme,acme.example,US,widgets,form")
    assert len(contacts(plain)) == 2 and candidates(plain) == []  # the phone alone is no candidate

    hub = hub_factory(db_url, extra_plugins=(PhoneIsThePerson(),))
    report = contact_review.rekey(hub.store, hub.plugins, batch=1)
    assert (report.scanned, report.changed) == (2, 2)
    assert {c["match_key"] for c in contacts(hub)} == {"tel:+14155550100"}
    assert report.candidates == 1  # one person by the new policy, twice: a person decides
    (cand,) = candidates(hub)
    assert "same match key" in cand["reason"] and cand["status"] == "open"
    # New activity with that phone joins the first contact by key: no third contact.
    feed(hub, tmp_path, "annie@acme.example,Annie,Lee,+1 415 555 0100,Acme,acme.example,US,widgets,form")
    assert len(contacts(hub)) == 2


def _two_leads_one_person(db_url: str, tmp_path: Path, hub_factory: Callable[..., Hub]) -> tuple[Hub, str, str]:
    """Ann at Acme on the widgets lead; the same Ann from Gmail on the gadgets lead and the widgets lead."""
    hub = hub_factory(db_url)
    feed(hub, tmp_path, "ann@acme.example,Ann,Lee,,Acme,acme.example,US,widgets,webinar")
    feed(hub, tmp_path, "ann.lee@gmail.com,Ann,Lee,,Acme,acme.example,US,gadgets,webinar",
         "ann.lee@gmail.com,Ann,Lee,,Acme,acme.example,US,widgets,form")
    keep, dup = (c["id"] for c in contacts(hub))
    return hub, keep, dup


def test_merge_keep_apart_and_undo(db_url: str, tmp_path: Path, hub_factory: Callable[..., Hub]) -> None:
    hub, keep, dup = _two_leads_one_person(db_url, tmp_path, hub_factory)
    assert [(c["contact_id"], c["other_id"]) for c in candidates(hub)] == [(dup, keep)]
    assert len(lead_of(hub, "widgets").contacts) == 2

    done = contact_review.merge(hub.store, keep, dup, by="maria", note="same person, personal address")
    assert done.status == "merged" and "maria merged" in done.message
    widgets, gadgets = lead_of(hub, "widgets"), lead_of(hub, "gadgets")
    assert [str(c.email) for c in widgets.contacts] == ["ann@acme.example"]  # one person once
    assert [str(c.email) for c in gadgets.contacts] == ["ann@acme.example"]  # the link moved
    with hub.store.engine.connect() as conn:
        owners = set(conn.execute(select(t.activities.c.contact_id)).scalars())
        trail = hub.store.audit_trail(conn, gadgets.id)
    assert owners == {keep}
    assert any(e["action"] == "contact" and e["actor"] == "maria" and dup in e["reason"] for e in trail)
    # The merged address is still recognised (as the survivor): no new contact, no new candidate.
    feed(hub, tmp_path, "ann.lee@gmail.com,Ann,Lee,,Acme,acme.example,US,gadgets,form")
    assert len(contacts(hub)) == 2 and len(candidates(hub)) == 1
    assert [str(c.email) for c in lead_of(hub, "gadgets").contacts] == ["ann@acme.example"]
    with pytest.raises(ValueError, match="merged into"):
        contact_review.merge(hub.store, keep, dup, by="maria")

    undone = contact_review.unmerge(hub.store, dup, by="omar")
    assert undone.status == "open"
    widgets, gadgets = lead_of(hub, "widgets"), lead_of(hub, "gadgets")
    assert [str(c.email) for c in widgets.contacts] == ["ann@acme.example", "ann.lee@gmail.com"]
    assert {str(c.email) for c in gadgets.contacts} == {"ann.lee@gmail.com", "ann@acme.example"}
    with hub.store.engine.connect() as conn:
        by_kind = dict(conn.execute(select(t.activities.c.kind, t.activities.c.contact_id).where(
            t.activities.c.lead_id == gadgets.id, t.activities.c.kind == "webinar")).all())
        merged_into = conn.execute(select(t.contacts.c.merged_into).where(t.contacts.c.id == dup)).scalar_one()
    assert by_kind == {"webinar": dup} and merged_into is None
    assert [c["status"] for c in candidates(hub)] == ["open"]

    apart = contact_review.keep_apart(hub.store, keep, dup, by="maria", note="two Ann Lees")
    assert apart.status == "kept_apart" and "different people" in apart.message
    assert [c["status"] for c in candidates(hub)] == ["kept_apart"]
    with pytest.raises(ValueError, match="already kept_apart"):
        contact_review.keep_apart(hub.store, keep, dup, by="maria")
    with pytest.raises(LookupError, match="was not merged"):
        contact_review.unmerge(hub.store, dup, by="maria")


def test_contacts_cli_and_leads_show(tmp_path: Path, hub_factory: Callable[..., Hub], sqlite_url: str) -> None:
    hub, keep, dup = _two_leads_one_person(sqlite_url, tmp_path, hub_factory)
    cfg = tmp_path / "hub.toml"
    cfg.write_text(f'[hub]\ndatabase_url = "{sqlite_url}"\n'
                   f'mappings_dir = "{Path(__file__).resolve().parents[2] / "mappings"}"\n')
    runner = CliRunner()

    def run(*args: str) -> Any:
        got = runner.invoke(app, [*args, "--config", str(cfg)])
        assert got.exit_code == 0, got.output
        return got

    (row,) = json.loads(run("contacts", "duplicates", "--json").stdout)
    assert (row["contact"]["id"], row["other"]["id"]) == (dup, keep)
    assert row["other"]["account"] == "Acme" and "Ann Lee" in row["contact"]["name"]
    assert "may be" in run("contacts", "duplicates").stdout

    gadgets = lead_of(hub, "gadgets").id
    shown = run("leads", "show", gadgets).stdout
    assert "candidate duplicate: Ann Lee" in shown and f"contacts merge {keep} {dup}" in shown

    merged = json.loads(run("contacts", "merge", keep, dup, "--by", "maria", "--json").stdout)
    assert merged["status"] == "merged"
    assert json.loads(run("contacts", "duplicates", "--json").stdout) == []
    assert "candidate duplicate:" not in run("leads", "show", gadgets).stdout
    assert "undid the merge" in run("contacts", "unmerge", dup, "--by", "maria").stdout
    assert "different people" in run("contacts", "keep-apart", dup, keep, "--by", "maria").stdout
    (decided,) = json.loads(run("contacts", "duplicates", "--all", "--json").stdout)
    assert decided["status"] == "kept_apart" and decided["decided_by"] == "maria"
    again = runner.invoke(app, ["contacts", "keep-apart", dup, keep, "--config", str(cfg)])
    assert again.exit_code == 1 and "already kept_apart by maria" in again.output

    rekeyed = json.loads(run("contacts", "rekey", "--json").stdout)
    assert rekeyed == {"scanned": 2, "changed": 0, "candidates": 0}


def test_many_contacts_sharing_a_phone_are_compared_a_bounded_number_of_times(
        db_url: str, tmp_path: Path, hub_factory: Callable[..., Hub]) -> None:
    """A switchboard number on every contact of a company: each new one is compared with at most
    PER_KEY stored contacts per key, and a new person is no candidate when only the phone agrees."""
    from hub.pipeline.contacts import PER_KEY

    hub = hub_factory(db_url)
    first = "Ann Bo Carl Dina Eve Finn Gus Hana Ivo Jan Kai Lea Mo Nia Oli Pia Quin Rae Sam Tia Uma Vik Wes Xia Yan"
    last = ["Abbott", "Brook", "Castro", "Dunn", "Eklund", "Fabre", "Garcia", "Holm", "Ito", "Jansen", "Kowalski",
            "Lund", "Moreau", "Nakamura", "Olsen", "Petrov", "Quist", "Rossi", "Silva", "Tanaka", "Ueda", "Varga",
            "Weber", "Xu", "Yilmaz"]
    rows = [f"p{i}@acme.example,{f},{last[i]},+1 415 555 0100,Acme,acme.example,US,widgets,webinar"
            for i, f in enumerate(first.split())]
    assert len(rows) == PER_KEY + 5
    feed(hub, tmp_path, *rows[:PER_KEY + 2])
    feed(hub, tmp_path, *rows[PER_KEY + 2:])
    calls: list[str] = []

    class Counting:
        @hookimpl(hookwrapper=True)
        def hub_contact_duplicate(self, contact: Any, other: Any) -> Any:
            calls.append(other.id)
            yield

    counted = hub_factory(db_url, extra_plugins=(Counting(),))
    feed(counted, tmp_path, "zed@acme.example,Zed,Zimmerman,+1 415 555 0100,Acme,acme.example,US,widgets,webinar")
    assert 0 < len(calls) <= PER_KEY
    zed = next(c["id"] for c in contacts(counted) if c["first_name"] == "Zed")
    assert [c["reason"] for c in candidates(counted) if zed in (c["contact_id"], c["other_id"])] == []
    with counted.store.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(t.contacts)).scalar_one() == PER_KEY + 6
