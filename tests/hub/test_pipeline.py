"""The pipeline end to end on a real SQLite file and a real PostgreSQL database."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import ClassVar

import pytest
from sqlalchemy import func, select

from connectors.file import import_file
from hub.connector import Capability, Connector, DeliveryItem, PushResult
from hub.plugins import hookimpl
from hub.runtime import Hub
from hub.schema import LeadStatus, Outcome, SourceRecord
from hub.store import tables as t

CSV = """Email,First Name,Last Name,Company,Website,Country,Product,Activity,Notes
ann@acme.com,Ann,Lee,Acme Inc,https://www.acme.com,US,widgets,demo_request,hot
bob@acme.com,Bob,Ray,Acme,acme.com,US,widgets,webinar,
bad@@x,Bad,Email,Foo,,US,widgets,form,
carl@globex.co.uk,Carl,Wu,Globex Ltd,globex.co.uk,GB,widgets,newsletter,
dina@initech.io,Dina,Ng,Initech,initech.io,US,widgets,contact_sales,
"""


def write_csv(tmp_path: Path, text: str = CSV, name: str = "leads.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def delivered(tmp_path: Path) -> list[dict[str, object]]:
    path = tmp_path / "delivered.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def count(hub: Hub, table: t.Table, *where: object) -> int:
    with hub.store.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table).where(*where)).scalar_one())


def test_import_process_route_deliver(db_url: str, tmp_path: Path, hub_factory: Callable[..., Hub]) -> None:
    hub = hub_factory(db_url)
    report = import_file(write_csv(tmp_path), hub.intake, source="tradeshow-2026")
    assert (report.rows, report.new, report.quarantined) == (5, 5, 0)

    result = hub.process_pending()
    assert result.processed == 5
    assert result.quarantined == 1  # bad@@x
    assert result.leads_created == 3  # acme, globex, initech
    assert result.leads_merged == 1  # bob joins ann's lead: same account and product line

    with hub.store.engine.connect() as conn:
        leads = {r["account_name"]: r for r in hub.store.leads_page(conn, limit=10)}
    acme = leads["Acme Inc"]
    assert acme["status"] == "routed" and acme["owner_id"] in {"jane", "omar"}
    assert leads["Globex Ltd"]["status"] == "nurture"  # a newsletter is not sales-ready
    assert leads["Initech"]["status"] == "routed"
    assert leads["Acme Inc"]["owner_id"] != leads["Initech"]["owner_id"]  # round robin within the product line

    got = hub.deliverer.deliver_due()
    assert got.sent == 2 and got.dead == 0
    lines = delivered(tmp_path)
    assert sorted(line["lead_id"] for line in lines) == sorted([acme["id"], leads["Initech"]["id"]])
    assert count(hub, t.outbox, t.outbox.c.status == "pending") == 0

    # Two contacts on the merged lead; the owner did not change on merge.
    with hub.store.engine.connect() as conn:
        lead = hub.store.get_lead(conn, acme["id"])
    assert lead is not None
    assert {str(c.email) for c in lead.contacts} == {"ann@acme.com", "bob@acme.com"}
    assert [a.kind for a in lead.activities] == ["demo_request", "webinar"]


def test_audit_explains_match_score_and_route(db_url: str, tmp_path: Path, hub_factory: Callable[..., Hub]) -> None:
    hub = hub_factory(db_url)
    import_file(write_csv(tmp_path), hub.intake, source="fair")
    hub.process_pending()
    with hub.store.engine.connect() as conn:
        lead_id = next(r["id"] for r in hub.store.leads_page(conn) if r["account_name"] == "Acme Inc")
        trail = hub.store.audit_trail(conn, lead_id)
    actions = [e["action"] for e in trail]
    assert actions[:4] == ["match", "score", "status", "route"]
    route = next(e for e in trail if e["action"] == "route")
    assert "routed to" in route["reason"] and "round robin" in route["reason"]
    score = next(e for e in trail if e["action"] == "score")
    assert "demo request" in score["reason"]
    assert "merge" in actions  # bob's webinar joined the lead, and the trail says so


def test_bad_rows_are_quarantined_with_reasons_and_replayable(
    db_url: str, tmp_path: Path, hub_factory: Callable[..., Hub]
) -> None:
    text = (CSV + "too,many,fields,here,a,b,c,d,e,f\n"
            + "eve@umbrella.com,Eve,Ho,,umbrella.com,US,widgets,demo_request,\n")
    hub = hub_factory(db_url)
    report = import_file(write_csv(tmp_path, text), hub.intake, source="fair")
    assert report.quarantined == 1  # the unreadable row never became a record
    hub.process_pending()
    with hub.store.engine.connect() as conn:
        entries = hub.store.quarantined(conn)
    reasons = {e["source_ref"]: e["reason"] for e in entries}
    assert "10 fields but the header has 9" in reasons["leads.csv:7"]
    assert "not a valid e-mail address" in reasons["fair:4"]
    assert "company.name" in reasons["fair:8"] and "missing" in reasons["fair:8"]

    # Replaying without a fix quarantines again (never dropped, never duplicated).
    with hub.store.engine.begin() as conn:
        replayed, skipped = hub.store.replay_quarantine(conn)
    assert replayed == 2 and len(skipped) == 1
    again = hub.process_pending()
    assert again.processed == 2 and again.quarantined == 2
    assert count(hub, t.quarantine, t.quarantine.c.status == "open") == 3


def test_replay_after_mapping_fix(db_url: str, tmp_path: Path, hub_factory: Callable[..., Hub]) -> None:
    """A record quarantined for a field the mapping did not know is processed after the fix."""
    mappings = tmp_path / "mappings"
    mappings.mkdir()
    original = (Path(__file__).resolve().parents[2] / "mappings" / "file.toml").read_text()
    (mappings / "file.toml").write_text(original)
    hub = hub_factory(db_url, mappings_dir=str(mappings))
    csv = "Mail,First Name,Last Name,Company,Activity\nzoe@hooli.com,Zoe,Li,Hooli,demo_request\n"
    import_file(write_csv(tmp_path, csv), hub.intake, source="partner-sheet")
    assert hub.process_pending().quarantined == 1

    (mappings / "file.toml").write_text(original.replace('from = ["Email", "E-mail", "Email Address"]',
                                                         'from = ["Email", "E-mail", "Email Address", "Mail"]'))
    fixed = hub_factory(db_url, mappings_dir=str(mappings))
    with fixed.store.engine.begin() as conn:
        assert fixed.store.replay_quarantine(conn)[0] == 1
    result = fixed.process_pending()
    assert result.quarantined == 0 and result.leads_created == 1
    assert count(fixed, t.quarantine, t.quarantine.c.status == "open") == 0


def test_intake_is_idempotent(db_url: str, tmp_path: Path, hub_factory: Callable[..., Hub]) -> None:
    hub = hub_factory(db_url)
    path = write_csv(tmp_path)
    assert import_file(path, hub.intake, source="fair").new == 5
    assert import_file(path, hub.intake, source="fair").new == 0  # same file twice: nothing new
    hub.process_pending()
    assert count(hub, t.leads) == 3


class FlakyDestination(Connector):
    """A destination that refuses some leads: for retry and dead-letter tests."""

    name = "flaky"
    capabilities = frozenset({Capability.PUSH_LEADS})
    batch_limit = 2
    fail_emails: ClassVar[set[str]] = set()
    transient = True
    calls: ClassVar[list[int]] = []
    batches: ClassVar[list[list[str]]] = []

    def push_leads(self, batch: list[DeliveryItem]) -> list[PushResult]:  # type: ignore[override]
        FlakyDestination.calls.append(len(batch))
        FlakyDestination.batches.append([item.lead.id for item in batch])
        out = []
        for item in batch:
            email = str(item.lead.contacts[0].email) if item.lead.contacts else ""
            if email in self.fail_emails:
                out.append(PushResult(item.key, ok=False, error=f"REQUIRED_FIELD_MISSING for {email}",
                                      retryable=self.transient))
            else:
                out.append(PushResult(item.key, ok=True, external_id=f"X-{item.lead.id}"))
        return out


class FlakyPlugin:
    @hookimpl
    def hub_connector_types(self) -> list[type[Connector]]:
        return [FlakyDestination]


def test_retry_then_dead_letter_then_replay(db_url: str, tmp_path: Path, hub_factory: Callable[..., Hub]) -> None:
    FlakyDestination.fail_emails = {"dina@initech.io"}
    FlakyDestination.calls = []
    hub = hub_factory(
        db_url, extra_plugins=(FlakyPlugin(),),
        connectors={"crm": {"type": "flaky", "schedule_seconds": 0}},
        routing={"destinations": ["crm"]},
        delivery={"max_attempts": 3, "backoff_initial_seconds": 0.001, "backoff_max_seconds": 0.002},
    )
    import_file(write_csv(tmp_path), hub.intake, source="fair")
    hub.process_pending()
    from datetime import timedelta

    from hub.schema import utcnow

    first = hub.deliverer.deliver_due()
    assert first.sent >= 1 and first.retried >= 1
    assert all(n <= FlakyDestination.batch_limit for n in FlakyDestination.calls)
    later = utcnow() + timedelta(minutes=10)  # past any backoff and lease
    for _ in range(3):
        hub.deliverer.deliver_due(now=later)
        later += timedelta(minutes=10)
    with hub.store.engine.connect() as conn:
        dead = hub.store.dead_letters(conn)
    assert len(dead) == 1 and "REQUIRED_FIELD_MISSING" in dead[0]["error"] and dead[0]["attempts"] == 3

    FlakyDestination.fail_emails = set()  # the cause is fixed
    with hub.store.engine.begin() as conn:
        assert hub.store.replay_dead_letters(conn) == 1
    assert hub.deliverer.deliver_due(now=later).sent == 1
    assert count(hub, t.outbox, t.outbox.c.status != "done", t.outbox.c.destination == "crm") == 0
    with hub.store.engine.connect() as conn:
        trail = hub.store.audit_trail(conn, dead[0]["lead_id"])
    assert any(e["action"] == "dead_letter" for e in trail)


def test_permanent_error_dead_letters_at_once(db_url: str, tmp_path: Path, hub_factory: Callable[..., Hub]) -> None:
    FlakyDestination.fail_emails = {"ann@acme.com"}
    FlakyDestination.transient = False
    try:
        hub = hub_factory(db_url, extra_plugins=(FlakyPlugin(),),
                          connectors={"crm": {"type": "flaky"}}, routing={"destinations": ["crm"]})
        import_file(write_csv(tmp_path), hub.intake, source="fair")
        hub.process_pending()
        got = hub.deliverer.deliver_due()
        assert got.dead == 1 and got.sent == 1
    finally:
        FlakyDestination.transient = True


def test_outcome_moves_status_through_legal_steps(db_url: str, tmp_path: Path, hub_factory: Callable[..., Hub]) -> None:
    hub = hub_factory(db_url)
    import_file(write_csv(tmp_path), hub.intake, source="fair")
    hub.process_pending()
    with hub.store.engine.connect() as conn:
        lead_id = next(r["id"] for r in hub.store.leads_page(conn) if r["status"] == "routed")
    lead = hub.pipeline.record_outcome(Outcome(lead_id=lead_id, status=LeadStatus.WON, amount=12000.0,
                                             reported_by="salesforce", reason="Closed Won"))
    assert lead.status == LeadStatus.WON
    with hub.store.engine.connect() as conn:
        trail = [e for e in hub.store.audit_trail(conn, lead_id) if e["action"] == "status"]
        outcomes = hub.store.outcomes_of(conn, lead_id)
    assert [e["details"]["status"] for e in trail][-2:][-1] == "won"
    assert "12,000.00" in trail[-1]["reason"]
    assert outcomes[-1]["amount"] == 12000.0
    # The file destination accepts outcomes: it hears what became of the lead it received.
    hub.deliverer.deliver_due()
    kinds = [line["type"] for line in delivered(tmp_path) if line.get("lead_id") == lead_id]
    assert "outcome" in kinds

    with pytest.raises(Exception, match="cannot move from won to lost"):
        hub.pipeline.record_outcome(Outcome(lead_id=lead_id, status=LeadStatus.LOST, reported_by="x"))


def test_sla_breach_escalates_then_claws_back(db_url: str, tmp_path: Path, hub_factory: Callable[..., Hub]) -> None:
    from datetime import timedelta

    from hub.schema import utcnow

    hub = hub_factory(db_url)
    import_file(write_csv(tmp_path), hub.intake, source="fair")
    hub.process_pending()
    with hub.store.engine.connect() as conn:
        routed = [r for r in hub.store.leads_page(conn) if r["status"] == "routed"]
    first_owner = {r["id"]: r["owner_id"] for r in routed}
    assert hub.pipeline.check_sla(now=utcnow()) == 0  # nobody is late yet
    assert hub.pipeline.check_sla(now=utcnow() + timedelta(hours=1)) == len(routed)
    with hub.store.engine.connect() as conn:
        for lead_id, owner in first_owner.items():
            lead = hub.store.get_lead(conn, lead_id)
            assert lead is not None and lead.status == LeadStatus.ESCALATED and lead.owner_id != owner
    assert hub.pipeline.check_sla(now=utcnow() + timedelta(hours=2)) == len(routed)
    with hub.store.engine.connect() as conn:
        lead = hub.store.get_lead(conn, routed[0]["id"])
        trail = hub.store.audit_trail(conn, routed[0]["id"])
    assert lead is not None and lead.status == LeadStatus.NURTURE and lead.owner_id is None
    assert [e["action"] for e in trail].count("sla") == 2


def test_records_from_unknown_streams_are_quarantined(db_url: str, hub_factory: Callable[..., Hub]) -> None:
    hub = hub_factory(db_url)
    hub.intake.submit([SourceRecord(connector="nowhere", stream="mystery", external_id="1", payload={"a": 1})])
    result = hub.process_pending()
    assert result.quarantined == 1
    with hub.store.engine.connect() as conn:
        (entry,) = hub.store.quarantined(conn)
    assert "no mapping" in entry["reason"] and "nowhere" in entry["reason"]


def test_two_waiting_rows_of_one_lead_are_one_delivery(
    db_url: str, tmp_path: Path, hub_factory: Callable[..., Hub]
) -> None:
    """A CRM refuses a batch naming one external id twice: the deliverer sends each lead once."""
    from hub.schema import utcnow

    FlakyDestination.fail_emails = set()
    FlakyDestination.batches = []
    hub = hub_factory(db_url, extra_plugins=(FlakyPlugin(),), connectors={"crm": {"type": "flaky"}},
                      routing={"destinations": ["crm"]})
    import_file(write_csv(tmp_path), hub.intake, source="fair")
    hub.process_pending()
    with hub.store.engine.begin() as conn:
        lead_id = conn.execute(select(t.outbox.c.lead_id).where(t.outbox.c.destination == "crm")).scalars().first()
        now = utcnow()
        hub.store.insert_rows(conn, t.outbox, [{  # a second row of the same lead, as a later merge adds
            "destination": "crm", "kind": "lead", "lead_id": lead_id, "payload": {}, "status": "pending",
            "attempts": 0, "next_attempt_at": now, "created_at": now}])
    with hub.store.engine.begin() as conn:  # both rows of that lead come first in the next claim
        conn.execute(t.outbox.update().where(t.outbox.c.lead_id == lead_id)
                     .values(next_attempt_at=now.replace(year=2000)))
    got = hub.deliverer.deliver_due()
    assert got.dead == 0 and got.retried == 0
    assert FlakyDestination.batches[0] == [lead_id]  # one item for the lead's two rows
    assert all(len(b) == len(set(b)) for b in FlakyDestination.batches)
    assert count(hub, t.outbox, t.outbox.c.destination == "crm", t.outbox.c.status == "done") == 3


def test_one_company_in_two_crms_is_one_account_and_opens_no_lead(
    db_url: str, tmp_path: Path, hub_factory: Callable[..., Hub]
) -> None:
    hub = hub_factory(db_url)
    hub.intake.submit([
        SourceRecord(connector="salesforce", stream="Account", external_id="001000000000001AAA", version="1",
                     payload={"Id": "001000000000001AAA", "Name": "Acme Inc", "Website": "https://www.acme.example"}),
        SourceRecord(connector="hubspot", stream="companies", external_id="901", version="1",
                     payload={"hs_object_id": "901", "name": "ACME", "domain": "acme.example"}),
    ])
    result = hub.process_pending()
    assert result.quarantined == 0 and result.leads_created == 0
    with hub.store.engine.connect() as conn:
        (account,) = conn.execute(select(t.accounts)).mappings().all()
        acct = hub.store.get_account(conn, account["id"])
    assert acct is not None and acct.xrefs == {"salesforce": "001000000000001AAA", "hubspot": "901"}

    # A person from that company asks: one lead, on that account, routed once.
    csv = ("Email,First Name,Last Name,Company,Website,Activity\n"
           "ann@acme.example,Ann,Lee,Acme,acme.example,demo_request\n")
    import_file(write_csv(tmp_path, csv), hub.intake, source="web")
    again = hub.process_pending()
    assert again.leads_created == 1 and again.routed == 1
    with hub.store.engine.connect() as conn:
        (lead,) = conn.execute(select(t.leads)).mappings().all()
    assert lead["account_id"] == account["id"]
