"""Each built-in connector ships its default mapping beside its code (``hub_mappings``); a file of
the same name in hub.toml's ``mappings_dir`` replaces it, and other files there add connectors."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from hub.config import HubConfig
from hub.errors import ConfigError
from hub.mapping import MappingSet
from hub.plugins import hookimpl, load_plugins
from hub.runtime import load_mappings, shipped_mappings

ROOT = Path(__file__).resolve().parents[2]
BUILT_IN = ("file", "salesforce", "hubspot", "webform", "partner")


def config(tmp_path: Path, mappings_dir: Path) -> HubConfig:
    return HubConfig(database_url=f"sqlite:///{tmp_path / 'x.db'}", mappings_dir=str(mappings_dir))


def test_every_built_in_connector_ships_its_mapping_as_package_data() -> None:
    shipped = {path.stem: path for path in shipped_mappings(load_plugins(entry_points=False))}
    assert set(BUILT_IN) <= set(shipped)
    for name in BUILT_IN:
        assert shipped[name] == ROOT / "connectors" / name / f"{name}.toml"
        assert "streams" in tomllib.loads(shipped[name].read_text(encoding="utf-8"))
    package_data = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert "*.toml" in package_data["tool"]["setuptools"]["package-data"]["*"]


def test_a_file_in_mappings_dir_replaces_the_shipped_one_and_others_add(tmp_path: Path) -> None:
    folder = tmp_path / "mappings"
    folder.mkdir()
    original = (ROOT / "connectors" / "file" / "file.toml").read_text(encoding="utf-8")
    (folder / "file.toml").write_text(original, encoding="utf-8")
    (folder / "acme.toml").write_text('[streams.lead]\nkind = "inquiry"\nactivity_kind = "import"\n'
                                      '[streams.lead.inbound]\n"contact.email" = { from = "email" }\n',
                                      encoding="utf-8")
    mappings = load_mappings(config(tmp_path, folder), load_plugins(entry_points=False))
    assert mappings.files["file"] == folder / "file.toml"
    assert mappings.files["salesforce"] == ROOT / "connectors" / "salesforce" / "salesforce.toml"
    assert "acme" in mappings.connectors()


def test_a_missing_mappings_dir_means_the_shipped_mappings(tmp_path: Path) -> None:
    mappings = load_mappings(config(tmp_path, tmp_path / "nope"), load_plugins(entry_points=False))
    assert set(BUILT_IN) <= set(mappings.connectors())


def test_a_broken_override_names_the_file_line_and_field(tmp_path: Path) -> None:
    folder = tmp_path / "mappings"
    folder.mkdir()
    (folder / "webform.toml").write_text('[streams."form:*"]\nkind = "inquiry"\n[streams."form:*".inbound]\n'
                                         '"contact.email" = { from = "email" }\n'
                                         '"contact.nope" = { from = "name" }\n', encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_mappings(config(tmp_path, folder), load_plugins(entry_points=False))
    message = str(caught.value)
    assert str(folder / "webform.toml") in message and "line 5" in message and "contact.nope" in message


class _Twin:
    """A plugin that ships a second salesforce.toml."""

    def __init__(self, path: Path) -> None:
        self.path = path

    @hookimpl
    def hub_mappings(self) -> list[Path]:
        return [self.path]


def test_two_plugins_shipping_one_name_stop_start_up_naming_both(tmp_path: Path) -> None:
    twin = tmp_path / "salesforce.toml"
    twin.write_text("[streams]\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="shipped twice") as caught:
        shipped_mappings(load_plugins(entry_points=False, extra=[_Twin(twin)]))
    assert str(twin) in str(caught.value) and "connectors/salesforce/salesforce.toml" in str(caught.value)


def test_crm_mappings_write_what_the_hub_knows_and_the_grade_once_leads_have_one(mappings: MappingSet) -> None:
    """Score, SLA due time, partner and (when the lead model has one) grade reach both CRMs; a
    lead without a grade writes none."""
    from datetime import UTC, datetime

    from hub.connector import DeliveryItem
    from hub.decisions import Owner
    from hub.mapping import lead_view
    from hub.schema import Account, Contact, Lead

    class GradedLead(Lead):  # what the scoring work adds to Lead
        grade: str | None = None

    due = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    account = Account(name="Contoso", domains=["contoso.com"])
    owner = Owner("jane", "Jane", crm_ids={"salesforce": "005J", "hubspot": "70J"})
    for lead, grade in ((GradedLead(account_id=account.id, score=42, sla_due_at=due, partner_id="ptr_1",
                                    grade="A", contacts=[Contact(email="a@contoso.com", last_name="A")]), "A"),
                        (Lead(account_id=account.id, score=42, sla_due_at=due, partner_id="ptr_1",
                              contacts=[Contact(email="a@contoso.com", last_name="A")]), None)):
        item = DeliveryItem(key=1, lead=lead, account=account, owner=owner)
        sf = mappings.outbound("salesforce", "Lead", lead_view(item, "salesforce"))
        assert (sf["OwnerId"], sf["LeadHub_Score__c"], sf["LeadHub_Partner_Id__c"]) == ("005J", 42, "ptr_1")
        assert sf["LeadHub_SLA_Due__c"].startswith("2026-01-02T03:04:05")
        assert sf.get("LeadHub_Grade__c") == grade
        hs = mappings.outbound("hubspot", "contacts", lead_view(item, "hubspot"))
        assert (hs["hubspot_owner_id"], hs["leadhub_score"], hs["leadhub_partner_id"]) == ("70J", 42, "ptr_1")
        assert hs["leadhub_sla_due"] == int(due.timestamp() * 1000) and hs.get("leadhub_grade") == grade
