"""The built-in hub_normalize plugin (plugins/normalize.py), through a real plugin manager."""

from __future__ import annotations

from pathlib import Path

import pytest

from hub.errors import InvalidRecord
from hub.mapping import MappingSet
from hub.plugins import HubPlugins, hookimpl, load_plugins
from hub.schema import Activity, Inquiry, Normalized, SourceRecord

MAPPING = """
[streams.form]
activity_kind = "form_fill"
[streams.form.inbound]
"contact.email" = { from = "email", transform = ["email"] }
"""


@pytest.fixture
def mappings(tmp_path: Path) -> MappingSet:
    path = tmp_path / "web.toml"
    path.write_text(MAPPING, encoding="utf-8")
    return MappingSet.from_files([path])


def plugins(*extra: object) -> HubPlugins:
    hub = load_plugins(defaults=("plugins.normalize",), entry_points=False, extra=extra)
    assert hub.problems == []
    return hub


def record(stream: str = "form", email: str = "Ada@Acme.io") -> SourceRecord:
    return SourceRecord(connector="web", stream=stream, external_id="1", payload={"email": email})


def test_builtin_plugin_applies_the_mapping(mappings: MappingSet) -> None:
    got = plugins().normalize(record(), mappings)
    assert isinstance(got, Inquiry) and got.contact.email == "ada@acme.io"


def test_builtin_plugin_reports_a_missing_mapping_with_what_to_do(mappings: MappingSet) -> None:
    with pytest.raises(InvalidRecord) as caught:
        plugins().normalize(record(stream="form:other"), mappings)
    assert (
        str(caught.value)
        == 'no mapping for connector web stream form:other: add [streams."form:other"] to mappings/web.toml'
    )
    with pytest.raises(InvalidRecord, match="not a valid e-mail address"):
        plugins().normalize(record(email="ada@@acme"), mappings)


class Override:
    """A third-party normalizer for one stream; everything else it leaves to the built-in."""

    @hookimpl
    def hub_normalize(self, record: SourceRecord) -> Normalized | None:
        if record.stream != "form":
            return None
        return Inquiry(source=record, activity=Activity(kind="custom"))


def test_a_third_party_plugin_decides_first_and_can_pass(mappings: MappingSet) -> None:
    hub = plugins(Override())
    got = hub.normalize(record(), mappings)
    assert isinstance(got, Inquiry) and got.activity.kind == "custom"
    # Passing (None) hands the record to the built-in mapping, which knows no such stream.
    with pytest.raises(InvalidRecord, match="no mapping for connector web stream other"):
        hub.normalize(record(stream="other"), mappings)
