"""Fixtures shared by the connector tests: the sandbox CRMs and the shipped mappings."""

from __future__ import annotations

from pathlib import Path

import pytest

from hub.mapping import MappingSet

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def mappings() -> MappingSet:
    return MappingSet.load(ROOT / "mappings")
