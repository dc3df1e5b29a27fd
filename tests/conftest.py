"""Shared fixtures: real SQLite files, a real PostgreSQL database per test session, hub builders."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from hub.config import HubConfig
from hub.runtime import Hub, build_hub

ROOT = Path(__file__).resolve().parent.parent
PG_ADMIN_URL = os.environ.get("LEADHUB_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


def _pg_available() -> bool:
    import sqlalchemy as sa

    try:
        eng = sa.create_engine(PG_ADMIN_URL)
        with eng.connect():
            pass
        eng.dispose()
        return True
    except Exception:  # noqa: BLE001
        return False


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'leadhub.db'}"


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh PostgreSQL database for one test, dropped afterwards."""
    import sqlalchemy as sa

    if not _pg_available():
        if os.environ.get("CI"):
            pytest.fail("PostgreSQL is not reachable at 127.0.0.1:5432 (CI must start it: see .ci/run)")
        pytest.skip("PostgreSQL is not running here")
    name = f"leadhub_test_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Run the test once on a SQLite file and once on PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'leadhub.db'}"
    return str(request.getfixturevalue("pg_url"))


DEFAULT_OWNERS = [
    {"id": "jane", "name": "Jane Doe", "email": "jane@example.com"},
    {"id": "omar", "name": "Omar Haddad", "email": "omar@example.com"},
]


def make_config(db: str, tmp_path: Path, **overrides: Any) -> HubConfig:
    """A HubConfig for tests: the repository's mappings, a JSONL destination in ``tmp_path``."""
    data: dict[str, Any] = {
        "database_url": db,
        "mappings_dir": str(ROOT / "mappings"),
        "owners": DEFAULT_OWNERS,
        "routing": {"strategy": "round_robin", "default_owner": "jane", "destinations": ["delivered"]},
        "connectors": {"delivered": {"type": "file", "path": str(tmp_path / "delivered.jsonl")}},
    }
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(data.get(key), dict):
            data[key] = {**data[key], **value}
        else:
            data[key] = value
    return HubConfig(**data)


@pytest.fixture
def hub_factory(tmp_path: Path) -> Iterator[Callable[..., Hub]]:
    """``hub_factory(db_url, **config_overrides, extra_plugins=())`` builds a Hub; closed after."""
    made: list[Hub] = []

    def make(db: str, *, extra_plugins: tuple[Any, ...] = (), **overrides: Any) -> Hub:
        hub = build_hub(make_config(db, tmp_path, **overrides), extra_plugins=extra_plugins)
        made.append(hub)
        return hub

    yield make
    for hub in made:
        hub.close()
