"""No lead is lost: SIGKILL the process mid-import and mid-processing, restart, count.

Every row of the file must end up processed exactly once: one inbox row per line, one activity per
inbox row, no inbox row left pending, and nothing delivered twice as two different leads.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[2]
ROWS = 12_000


def make_csv(path: Path, rows: int) -> None:
    with path.open("w", encoding="utf-8") as fh:
        fh.write("Email,First Name,Last Name,Company,Website,Country,Product,Activity\n")
        for i in range(rows):
            company = i // 3  # three people per company: merges happen
            fh.write(f"p{i}@firm{company}.com,P{i},L{i},Firm {company} Group,firm{company}.com,US,"
                     f"widgets,{'demo_request' if i % 2 else 'webinar'}\n")


def write_config(tmp_path: Path, db_url: str) -> Path:
    cfg = tmp_path / "hub.toml"
    cfg.write_text(f"""
[hub]
database_url = "{db_url}"
mappings_dir = "{ROOT / 'mappings'}"

[pipeline]
batch_size = 200

[routing]
strategy = "round_robin"
destinations = ["out"]

[[owners]]
id = "jane"
name = "Jane Doe"

[connectors.out]
type = "file"
path = "{tmp_path / 'delivered.jsonl'}"
""")
    return cfg


_started: list[subprocess.Popen[bytes]] = []


@pytest.fixture(autouse=True)
def _kill_leftovers() -> Iterator[None]:
    """A failing test must not leave a leadhub process running."""
    yield
    while _started:
        proc = _started.pop()
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def leadhub(cfg: Path, *args: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "LEADHUB_CONFIG": str(cfg)}
    log = (cfg.parent / "leadhub.log").open("ab")  # a file, not a pipe: a full pipe would block it
    proc = subprocess.Popen([sys.executable, "-m", "hub", *args], cwd=cfg.parent, env=env,
                            stdout=subprocess.DEVNULL, stderr=log)
    log.close()
    _started.append(proc)
    return proc


def wait_for(condition: Callable[[], bool], deadline_s: float, what: str) -> None:
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.02)  # polling interval, not a wait for an outcome: the condition decides
    raise AssertionError(f"timed out waiting for {what}")


def scalar(engine: sa.Engine, sql: str) -> int:
    try:
        with engine.connect() as conn:
            return int(conn.exec_driver_sql(sql).scalar_one())
    except sa.exc.OperationalError:
        return 0  # schema not there yet / database busy
    except sa.exc.ProgrammingError:
        return 0


@pytest.mark.slow
def test_sigkill_mid_import_and_mid_processing_loses_nothing(db_url: str, tmp_path: Path) -> None:
    data = tmp_path / "big.csv"
    make_csv(data, ROWS)
    cfg = write_config(tmp_path, db_url)
    probe = sa.create_engine(db_url.replace("postgresql+psycopg", "postgresql+psycopg"))

    # 1. Kill the import half-way.
    proc = leadhub(cfg, "import", str(data), "--source", "fair", "--no-process")
    wait_for(lambda: scalar(probe, "SELECT count(*) FROM inbox") >= 2000 or proc.poll() is not None, 60,
             "the import to commit its first chunks")
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    at_kill = scalar(probe, "SELECT count(*) FROM inbox")
    assert 0 < at_kill < ROWS, f"the kill should land mid-import (inbox had {at_kill} of {ROWS})"

    # 2. Import again: the rows already in are not stored twice.
    proc = leadhub(cfg, "import", str(data), "--source", "fair", "--no-process")
    assert proc.wait(timeout=120) == 0, (tmp_path / "leadhub.log").read_text()[-3000:]
    assert scalar(probe, "SELECT count(*) FROM inbox") == ROWS

    # 3. Kill the processing half-way.
    proc = leadhub(cfg, "sync", "--once")
    wait_for(lambda: scalar(probe, "SELECT count(*) FROM inbox WHERE status = 'done'") >= 1000
             or proc.poll() is not None, 120, "processing to commit its first batches")
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    done_at_kill = scalar(probe, "SELECT count(*) FROM inbox WHERE status = 'done'")
    assert 0 < done_at_kill < ROWS, f"the kill should land mid-processing ({done_at_kill} of {ROWS} done)"

    # 4. Restart: everything is processed, each record exactly once.
    proc = leadhub(cfg, "sync", "--once")
    assert proc.wait(timeout=300) == 0, (tmp_path / "leadhub.log").read_text()[-3000:]
    assert scalar(probe, "SELECT count(*) FROM inbox WHERE status <> 'done'") == 0
    assert scalar(probe, "SELECT count(*) FROM activities") == ROWS
    assert scalar(probe, "SELECT count(DISTINCT inbox_id) FROM activities") == ROWS
    assert scalar(probe, "SELECT count(*) FROM leads") == ROWS // 3  # one lead per company
    assert scalar(probe, "SELECT count(*) FROM contacts") == ROWS
    assert scalar(probe, "SELECT count(*) FROM outbox WHERE status = 'pending'") == 0
    delivered_ids = {line.split('"lead_id": "')[1].split('"')[0]
                     for line in (tmp_path / "delivered.jsonl").read_text().splitlines() if '"type": "lead"' in line}
    assert len(delivered_ids) == scalar(probe, "SELECT count(*) FROM leads WHERE status = 'routed'")
    probe.dispose()
