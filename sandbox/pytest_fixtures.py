"""pytest fixtures for any test folder that needs the sandbox CRMs.

In a ``conftest.py``::

    from sandbox.pytest_fixtures import sandbox, sandbox_reset  # noqa: F401

``sandbox`` is one server for the whole session (thread mode, so ``sandbox.state`` is there);
``sandbox_reset`` resets it (seeded demo org, no faults, counters zero, default limits) and
returns it.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from sandbox.testing import SandboxServer


@pytest.fixture(scope="session")
def sandbox() -> Iterator[SandboxServer]:
    with SandboxServer() as server:
        yield server


@pytest.fixture
def sandbox_reset(sandbox: SandboxServer) -> SandboxServer:
    assert sandbox.control is not None
    sandbox.control.reset(seed=True)
    return sandbox
