"""Migration 0005 on a database created at 0004 with contacts and leads in it (SQLite and PostgreSQL):
keys backfilled, recycled leads dated from their audit trail, the schema the code declares; then
``rekey`` applies the canonical e-mail and the engine finds the old contact by it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

import connectors.partner.tables  # noqa: F401 - the partner channel's tables share the metadata
from connectors.file import import_file
from hub.review import contacts as contact_review
from hub.runtime import Hub
from hub.store import tables as t
from hub.store.db import alembic_config, normalize_url

T0 = datetime(2026, 1, 1, tzinfo=UTC)
REJECTED_AT = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
CLAWED_AT = datetime(2026, 4, 2, 9, 30, tzinfo=UTC)


def _at_0004(url: str) -> None:
    command.upgrade(alembic_config(url), "0004")
    engine = sa.create_engine(normalize_url(url))
    meta = sa.MetaData()
    meta.reflect(engine, only=["accounts", "account_keys", "contacts", "leads", "audit", "lead_contacts"])
    accounts, keys, contacts, leads, audit, links = (meta.tables[n] for n in (
        "accounts", "account_keys", "contacts", "leads", "audit", "lead_contacts"))
    with engine.begin() as conn:
        conn.execute(accounts.insert(), [{"id": "acct_1", "name": "Acme", "created_at": T0, "updated_at": T0}])
        conn.execute(keys.insert(), [{"kind": kind, "value": "acme", "account_id": "acct_1"}
                                     for kind in ("name", "name_prefix")])
        conn.execute(contacts.insert(), [
            {"id": "ct_1", "account_id": "acct_1", "email": " John.Smith@GMAIL.com ", "first_name": "José",
             "last_name": "Núñez", "phone": "+14155550100", "created_at": T0},
            {"id": "ct_2", "account_id": "acct_1", "email": None, "first_name": "Bo", "last_name": None,
             "phone": None, "created_at": T0},
        ])
        lead = {"account_id": "acct_1", "score": 0, "source_connector": "file", "created_at": T0, "updated_at": T0,
                "version": 1}
        conn.execute(leads.insert(), [
            {**lead, "id": "lead_rejected", "product_line": "a", "status": "nurture", "is_open": True},
            {**lead, "id": "lead_new", "product_line": "b", "status": "nurture", "is_open": True},
            {**lead, "id": "lead_clawed", "product_line": "c", "status": "nurture", "is_open": True},
            {**lead, "id": "lead_won", "product_line": "d", "status": "won", "is_open": False},
        ])
        conn.execute(links.insert(), [{"lead_id": "lead_rejected", "contact_id": "ct_1", "position": 0}])
        entry = {"account_id": "acct_1", "actor": "hub", "details": {}}
        conn.execute(audit.insert(), [
            {**entry, "lead_id": "lead_rejected", "at": T0, "action": "status",
             "reason": "routed -> accepted reported by x"},
            {**entry, "lead_id": "lead_rejected", "at": REJECTED_AT, "action": "status",
             "reason": "accepted -> rejected reported by salesforce (no budget)"},
            {**entry, "lead_id": "lead_rejected", "at": datetime(2026, 3, 2, tzinfo=UTC), "action": "status",
             "reason": "rejected -> nurture reported by hub"},
            {**entry, "lead_id": "lead_new", "at": T0, "action": "status",
             "reason": "nurture: score 5 is below the bar of 30"},
            {**entry, "lead_id": "lead_clawed", "at": CLAWED_AT, "action": "sla",
             "reason": "clawed back to nurture: nobody accepted it"},
            {**entry, "lead_id": "lead_won", "at": T0, "action": "status", "reason": "converted -> won reported by x"},
        ])
    engine.dispose()


def test_upgrade_from_0004_backfills_keys_and_recycling(
        db_url: str, tmp_path: Path, hub_factory: Callable[..., Hub]) -> None:
    _at_0004(db_url)
    command.upgrade(alembic_config(db_url), "head")

    engine = sa.create_engine(normalize_url(db_url))
    try:
        with engine.connect() as conn:
            people = {r["id"]: r for r in conn.execute(sa.select(t.contacts)).mappings()}
            recycled = dict(conn.execute(sa.select(t.leads.c.id, t.leads.c.recycled_at)).all())
            indexes = {i["name"] for i in sa.inspect(conn).get_indexes("contacts")}
            drift = compare_metadata(MigrationContext.configure(conn), t.metadata)
    finally:
        engine.dispose()
    assert (people["ct_1"]["match_key"], people["ct_1"]["name_key"], people["ct_1"]["phone_key"]) == (
        "john.smith@gmail.com", "jose nunez", "14155550100")
    assert (people["ct_2"]["match_key"], people["ct_2"]["name_key"], people["ct_2"]["phone_key"]) == (None, "bo", None)

    def utc(value: datetime | None) -> datetime | None:
        return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value

    assert {k: utc(v) for k, v in recycled.items()} == {
        "lead_rejected": REJECTED_AT, "lead_new": None, "lead_clawed": CLAWED_AT, "lead_won": None}
    assert {"ix_contacts_match_key", "ix_contacts_name_key", "ix_contacts_phone_key"} <= indexes
    assert not {"ix_contacts_email", "ix_contacts_account"} & indexes  # replaced by the two above
    assert drift == [], "the migrated schema differs from hub/store/tables.py"

    # The hub on the upgraded database: rekey applies the canonical e-mail, the engine then finds
    # the old contact by it (Gmail ignores the dot).
    hub = hub_factory(db_url)
    report = contact_review.rekey(hub.store, hub.plugins)
    assert (report.scanned, report.changed) == (2, 1)
    csv = tmp_path / "late.csv"
    csv.write_text("Email,First Name,Last Name,Company,Website,Product,Activity\n"
                   "johnsmith@gmail.com,José,Núñez,Acme,acme.example,a,webinar\n")
    import_file(csv, hub.intake, source="late")
    hub.process_pending()
    with hub.store.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(t.contacts)).scalar_one() == 2
        owner = conn.execute(sa.select(t.activities.c.contact_id)).scalar_one()
    assert owner == "ct_1"
