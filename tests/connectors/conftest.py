"""Fixtures shared by the connector tests: the sandbox CRMs and the mappings the connectors ship."""

from __future__ import annotations

import pytest

from hub.mapping import MappingSet
from hub.plugins import load_plugins
from hub.runtime import shipped_mappings


@pytest.fixture(scope="session")
def mappings() -> MappingSet:
    return MappingSet.from_files(shipped_mappings(load_plugins(entry_points=False)))
