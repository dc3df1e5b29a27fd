"""The match review queue: accept folds a provisional account into its candidate; reject keeps
them apart; decisions are remembered."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from sqlalchemy import func, select

from connectors.file import import_file
from hub.decisions import AccountMatch, MatchOutcome, ScorePart
from hub.plugins import hookimpl
from hub.review import leads as lead_review
from hub.runtime import Hub
from hub.schema import Inquiry
from hub.store import tables as t


class UnsureAboutAcme:
    """A matcher plugin that is unsure whether 'Acme Corp' is the existing 'Acme Inc'."""

    def __init__(self) -> None:
        self.acme_id: str | None = None

    @hookimpl
    def hub_match_account(self, inquiry: Inquiry, lookup: object) -> AccountMatch | None:
        if inquiry.company.name == "Acme Corp" and self.acme_id:
            return AccountMatch(MatchOutcome.UNCERTAIN, "name 'acme' agrees, domains differ (score 0.82)",
                                account_id=self.acme_id, score=0.82, new_account_name="Acme Corp",
                                new_account_domain="acme-corp.example")
        return None


CSV_1 = ("Email,First Name,Last Name,Company,Website,Product,Activity\n"
         "ann@acme.example,Ann,Lee,Acme Inc,acme.example,widgets,demo_request\n")
CSV_2 = ("Email,First Name,Last Name,Company,Website,Product,Activity\n"
         "bo@acme-corp.example,Bo,Ek,Acme Corp,acme-corp.example,widgets,contact_sales\n")


def setup(tmp_path: Path, hub_factory: Callable[..., Hub], sqlite_url: str) -> tuple[Hub, UnsureAboutAcme]:
    unsure = UnsureAboutAcme()
    hub = hub_factory(sqlite_url, extra_plugins=(unsure,), routing={"destinations": []})
    (tmp_path / "a.csv").write_text(CSV_1)
    import_file(tmp_path / "a.csv", hub.intake, source="s1")
    hub.process_pending()
    with hub.store.engine.connect() as conn:
        unsure.acme_id = conn.execute(select(t.accounts.c.id).where(t.accounts.c.name == "Acme Inc")).scalar_one()
    (tmp_path / "b.csv").write_text(CSV_2)
    import_file(tmp_path / "b.csv", hub.intake, source="s2")
    hub.process_pending()
    return hub, unsure


def test_uncertain_match_queues_a_review_and_accept_folds_the_lead(
    tmp_path: Path, hub_factory: Callable[..., Hub], sqlite_url: str
) -> None:
    hub, unsure = setup(tmp_path, hub_factory, sqlite_url)
    (review,) = lead_review.open_reviews(hub.store)
    assert (review["account_name"], review["candidate_name"]) == ("Acme Corp", "Acme Inc")
    with hub.store.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(t.leads)).scalar_one() == 2

    decision = lead_review.decide(hub.store, review["id"], accept=True, by="maria")
    assert "maria confirmed that Acme Corp is Acme Inc" in decision.message
    assert "folded into open lead" in decision.message
    with hub.store.engine.connect() as conn:
        leads = conn.execute(select(t.leads)).mappings().all()
        assert len(leads) == 1 and leads[0]["account_id"] == unsure.acme_id
        lead = hub.store.get_lead(conn, leads[0]["id"])
        acct_names = [r[0] for r in conn.execute(select(t.accounts.c.name))]
        trail = hub.store.audit_trail(conn, leads[0]["id"])
    assert lead is not None
    assert sorted(a.kind for a in lead.activities) == ["contact_sales", "demo_request"]
    assert {str(c.email) for c in lead.contacts} == {"ann@acme.example", "bo@acme-corp.example"}
    assert acct_names == ["Acme Inc"]
    assert any(e["action"] == "review" and e["actor"] == "maria" for e in trail)
    assert lead_review.open_reviews(hub.store) == []


def test_reject_keeps_them_apart_and_is_remembered(
    tmp_path: Path, hub_factory: Callable[..., Hub], sqlite_url: str
) -> None:
    hub, _ = setup(tmp_path, hub_factory, sqlite_url)
    (review,) = lead_review.open_reviews(hub.store)
    decision = lead_review.decide(hub.store, review["id"], accept=False, by="maria", note="different VAT ids")
    assert "is not Acme Inc (different VAT ids)" in decision.message
    with hub.store.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(t.accounts)).scalar_one() == 2
        # The same pair comes up again (a later inquiry): it is closed with the earlier decision.
        hub.store.add_match_review(conn, review["lead_id"], review["account_id"], review["candidate_id"], 0.8, "again")
        conn.commit()
    assert lead_review.open_reviews(hub.store) == []
    with hub.store.engine.connect() as conn:
        statuses = [r[0] for r in conn.execute(select(t.match_reviews.c.decided_by).order_by(t.match_reviews.c.id))]
    assert statuses == ["maria", f"remembered from review {review['id']}"]


def test_matches_cli_lists_and_decides(tmp_path: Path, hub_factory: Callable[..., Hub], sqlite_url: str,
                                       monkeypatch: object) -> None:
    from typer.testing import CliRunner

    from hub.cli.main import app

    setup(tmp_path, hub_factory, sqlite_url)
    cfg = tmp_path / "hub.toml"
    cfg.write_text(f'[hub]\ndatabase_url = "{sqlite_url}"\n'
                   f'mappings_dir = "{Path(__file__).resolve().parents[2] / "mappings"}"\n')
    runner = CliRunner()
    listed = runner.invoke(app, ["matches", "review", "--config", str(cfg), "--json"])
    assert listed.exit_code == 0, listed.output
    import json

    (row,) = json.loads(listed.stdout)
    assert row["candidate_name"] == "Acme Inc"
    done = runner.invoke(app, ["matches", "reject", str(row["id"]), "--config", str(cfg), "--by", "maria"])
    assert done.exit_code == 0 and "is not Acme Inc" in done.output
    again = runner.invoke(app, ["matches", "reject", str(row["id"]), "--config", str(cfg)])
    assert again.exit_code == 1 and "already rejected by maria" in again.output


def test_split_undoes_a_wrong_merge(tmp_path: Path, hub_factory: Callable[..., Hub], sqlite_url: str) -> None:
    """A reseller wrote from the customer's domain: ops move that inquiry to its own lead."""
    hub = hub_factory(sqlite_url)
    csv = ("Email,First Name,Last Name,Company,Website,Product,Activity\n"
           "ann@acme.example,Ann,Lee,Acme Inc,acme.example,widgets,demo_request\n"
           "rob@acme.example,Rob,Ray,Acme,acme.example,widgets,contact_sales\n")
    (tmp_path / "m.csv").write_text(csv)
    import_file(tmp_path / "m.csv", hub.intake, source="fair")
    result = hub.process_pending()
    assert result.leads_created == 1 and result.leads_merged == 1
    with hub.store.engine.connect() as conn:
        lead_id = conn.execute(select(t.leads.c.id)).scalar_one()
        rob = conn.execute(select(t.activities.c.id).where(t.activities.c.kind == "contact_sales")).scalar_one()

    split = lead_review.split_activity(hub, lead_id, rob, by="maria", account_name="Resellco Ltd")
    assert split.status == "routed"  # contact_sales alone clears the bar: routed like any lead
    with hub.store.engine.connect() as conn:
        old = hub.store.get_lead(conn, lead_id)
        new = hub.store.get_lead(conn, split.lead_id)
        new_trail = hub.store.audit_trail(conn, split.lead_id)
        old_trail = hub.store.audit_trail(conn, lead_id)
        account = hub.store.get_account(conn, split.account_id)
    assert old is not None and new is not None and account is not None
    assert [a.kind for a in old.activities] == ["demo_request"]
    assert {str(c.email) for c in old.contacts} == {"ann@acme.example"}
    assert [a.kind for a in new.activities] == ["contact_sales"]
    assert {str(c.email) for c in new.contacts} == {"rob@acme.example"}
    assert account.name == "Resellco Ltd" and new.owner_id is not None
    assert old.score < 75  # the merged score dropped the moved activity
    assert any(e["action"] == "split" and e["actor"] == "maria" for e in new_trail)
    assert any(e["action"] == "split" and split.lead_id in e["reason"] for e in old_trail)

    try:
        lead_review.split_activity(hub, lead_id, rob, by="maria")
    except LookupError as exc:
        assert "has no activity" in str(exc)
    else:
        raise AssertionError("splitting an activity that already moved must fail")


def test_leads_split_from_the_cli(tmp_path: Path, hub_factory: Callable[..., Hub], sqlite_url: str) -> None:
    import json

    from typer.testing import CliRunner

    from hub.cli.main import app

    hub = hub_factory(sqlite_url)
    (tmp_path / "m.csv").write_text("Email,First Name,Last Name,Company,Website,Product,Activity\n"
                                    "ann@acme.example,Ann,Lee,Acme,acme.example,widgets,demo_request\n"
                                    "rob@acme.example,Rob,Ray,Acme,acme.example,widgets,webinar\n")
    import_file(tmp_path / "m.csv", hub.intake, source="fair")
    hub.process_pending()
    with hub.store.engine.connect() as conn:
        lead_id = conn.execute(select(t.leads.c.id)).scalar_one()
    cfg = tmp_path / "hub.toml"
    cfg.write_text(f'[hub]\ndatabase_url = "{sqlite_url}"\n'
                   f'mappings_dir = "{Path(__file__).resolve().parents[2] / "mappings"}"\n'
                   '[[owners]]\nid = "jane"\nname = "Jane Doe"\n')
    runner = CliRunner()
    shown = json.loads(runner.invoke(app, ["leads", "show", lead_id, "--config", str(cfg), "--json"]).stdout)
    webinar = next(a["id"] for a in shown["lead"]["activities"] if a["kind"] == "webinar")
    out = runner.invoke(app, ["leads", "split", lead_id, "--activity", str(webinar), "--config", str(cfg),
                              "--by", "maria", "--json"])
    assert out.exit_code == 0, out.output
    result = json.loads(out.stdout)
    assert result["status"] == "nurture"  # a webinar alone stays with marketing
    with hub.store.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(t.leads)).scalar_one() == 2


class ScoresBySource:
    """A third-party scorer that reads the inquiry's source record (the split must hand one over)."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str]] = []

    @hookimpl
    def hub_score(self, lead: object, inquiry: Inquiry, account: object) -> ScorePart:
        self.seen.append((inquiry.source.connector, inquiry.source.stream))
        return ScorePart(1, f"came through {inquiry.source.connector}")


def test_split_scores_a_real_inquiry_through_the_pipeline_steps(
    tmp_path: Path, hub_factory: Callable[..., Hub], sqlite_url: str
) -> None:
    scorer = ScoresBySource()
    hub = hub_factory(sqlite_url, extra_plugins=(scorer,))
    (tmp_path / "m.csv").write_text("Email,First Name,Last Name,Company,Website,Product,Activity\n"
                                    "ann@acme.example,Ann,Lee,Acme,acme.example,widgets,demo_request\n"
                                    "rob@acme.example,Rob,Ray,Acme,acme.example,widgets,webinar\n")
    import_file(tmp_path / "m.csv", hub.intake, source="fair")
    hub.process_pending()
    with hub.store.engine.connect() as conn:
        lead_id = conn.execute(select(t.leads.c.id)).scalar_one()
        webinar = conn.execute(select(t.activities.c.id).where(t.activities.c.kind == "webinar")).scalar_one()
    scorer.seen.clear()

    split = lead_review.split_activity(hub, lead_id, webinar, by="maria", account_name="Resellco Ltd")

    assert scorer.seen == [("file", "csv"), ("file", "csv")]  # the new lead and what is left of the old one
    with hub.store.engine.connect() as conn:
        trail = hub.store.audit_trail(conn, split.lead_id)
    by_action = {e["action"]: e for e in trail}
    assert "came through file" in by_action["score"]["reason"] and by_action["score"]["actor"] == "maria"
    assert by_action["status"]["reason"] == "nurture: score 11 is below the bar of 30"  # webinar 10, source 1


def test_split_of_an_activity_without_its_record_still_hands_scoring_a_source(
    tmp_path: Path, hub_factory: Callable[..., Hub], sqlite_url: str
) -> None:
    scorer = ScoresBySource()
    hub = hub_factory(sqlite_url, extra_plugins=(scorer,))
    (tmp_path / "m.csv").write_text("Email,First Name,Last Name,Company,Website,Product,Activity\n"
                                    "ann@acme.example,Ann,Lee,Acme,acme.example,widgets,demo_request\n"
                                    "rob@acme.example,Rob,Ray,Acme,acme.example,widgets,contact_sales\n")
    import_file(tmp_path / "m.csv", hub.intake, source="fair")
    hub.process_pending()
    with hub.store.engine.begin() as conn:
        lead_id = conn.execute(select(t.leads.c.id)).scalar_one()
        rob = conn.execute(select(t.activities.c.id).where(t.activities.c.kind == "contact_sales")).scalar_one()
        conn.execute(t.activities.update().where(t.activities.c.id == rob).values(inbox_id=None))  # record gone
    scorer.seen.clear()

    split = lead_review.split_activity(hub, lead_id, rob, by="maria", account_name="Resellco Ltd")

    assert scorer.seen == [("file", "split"), ("file", "split")]
    assert split.status == "routed"  # contact sales 35 + 1 clears the bar
