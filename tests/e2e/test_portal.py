"""The partner portal in headless Chromium: sign in, refer a company, see it routed, see the outcome.

Everything between the browser and the CRM is real: a uvicorn server on a free loopback port runs
the daemon's app with its workers, which process the referral, deliver the lead to the sandbox
Salesforce through the Salesforce connector (simple-salesforce over loopback HTTP) and pull its
outcomes on a short schedule. A rep then converts the lead and closes the opportunity won in the
sandbox (its control API, as a rep would in the UI), and the portal shows "won" with the amount.
``LEADHUB_SCREENSHOTS=1`` refreshes docs/img/.
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import uvicorn
from sqlalchemy import select

import connectors.partner
import connectors.salesforce
from connectors.partner import keys
from connectors.partner import store as q
from hub.runtime import Hub
from hub.server.app import create_app
from hub.store import tables as t
from sandbox.testing import SandboxServer

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
# Screenshots refresh docs/img/ only when asked (LEADHUB_SCREENSHOTS=1), so test runs leave the tree clean.
DOCS_IMG = Path(__file__).resolve().parents[2] / "docs" / "img"

pytestmark = pytest.mark.browser


def _need_browser() -> None:
    if not Path(CHROMIUM).exists() and not shutil.which("chromium"):
        if os.environ.get("CI"):
            pytest.fail("Chromium is missing at /usr/bin/chromium: `make browser` must install it in CI")
        pytest.skip("Chromium is not installed here (run `make browser`)")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait(condition: Callable[[], bool], what: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


@pytest.fixture
def served(hub_factory: Callable[..., Hub], sqlite_url: str,
           sandbox_reset: SandboxServer) -> Iterator[tuple[str, Hub]]:
    """The daemon's app and workers on loopback, routing to Jane in the sandbox Salesforce."""
    _need_browser()
    org = sandbox_reset
    assert org.control is not None
    rep = next(p for p in org.control.team() if "Integration" not in p["name"])
    hub = hub_factory(
        sqlite_url, extra_plugins=(connectors.partner, connectors.salesforce),
        connectors={
            "partner": {"type": "partner"},
            # Outcomes only (no rep-made inquiries), pulled by the daemon's own worker every 0.2 s.
            "salesforce": {"type": "salesforce", "instance_url": org.url, "session_id": org.sf_token,
                           "pull_streams": [], "schedule_seconds": 0.2, "page_size": 200,
                           "retry_initial_seconds": 0.01, "retry_max_seconds": 0.05},
        },
        owners=[{"id": "jane", "name": "Jane Doe", "email": "jane@example.com",
                 "crm_ids": {"salesforce": rep["salesforce_user_id"]}}],
        routing={"strategy": "round_robin", "default_owner": "jane", "destinations": ["salesforce"]},
    )
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(hub), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    _wait(lambda: server.started, "the server to start")
    yield f"http://127.0.0.1:{port}", hub
    server.should_exit = True
    thread.join(10)


def test_portal_refer_follow_and_outcome(served: tuple[str, Hub], sandbox_reset: SandboxServer,
                                        tmp_path: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    base, hub = served
    org = sandbox_reset
    assert org.control is not None
    sf = org.salesforce()
    shots = DOCS_IMG if os.environ.get("LEADHUB_SCREENSHOTS") else tmp_path
    key = keys.new_key()
    with hub.store.engine.begin() as conn:
        q.add_partner(conn, name="Acme Consulting", email="ops@acme.example", key_prefix=keys.prefix_of(key) or "",
                      key_hash=keys.hash_key(key))
    shots.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1100, "height": 760})
        page.goto(f"{base}/partners/")
        page.get_by_label("Your partner API key").fill("lhp_wrong_key_that_is_long_enough_to_check")
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_role("alert")).to_contain_text("not valid")
        page.get_by_label("Your partner API key").fill(key)
        page.screenshot(path=str(shots / "portal-sign-in.png"))
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_role("heading", name="My referrals")).to_be_visible()

        page.get_by_role("navigation").get_by_role("link", name="Refer a company").click()
        page.get_by_label("Company name (required)").fill("Globex")
        page.get_by_label("Company web domain").fill("globex.com")
        page.get_by_label("Contact e-mail").fill("not-an-email")
        page.get_by_role("button", name="Submit referral").click()
        expect(page.get_by_role("alert")).to_contain_text("Contact e-mail")
        page.get_by_label("Contact e-mail").fill("ann@globex.com")
        page.get_by_label("Contact first name").fill("Ann")
        page.get_by_label("What do they need?").fill("Wants analytics for 100 seats")
        page.get_by_label("Expected deal size").fill("50000")
        page.screenshot(path=str(shots / "portal-refer.png"), full_page=True)
        page.get_by_role("button", name="Submit referral").click()
        expect(page.get_by_role("heading", name="Globex")).to_be_visible()

        # The daemon's processor routes it within moments; the page shows it on reload.
        def routed() -> bool:
            page.reload()
            return page.get_by_test_id("status").inner_text() == "routed"

        _wait(routed, "the referral to be routed")
        expect(page.get_by_test_id("owner")).to_have_text("Jane")
        with hub.store.engine.connect() as conn:
            lead_id = conn.execute(select(t.leads.c.id)).scalar_one()

        # The deliverer upserts it into Salesforce, keyed by the hub's lead id.
        found: dict[str, str] = {}

        def in_salesforce() -> bool:
            rows = sf.query(f"SELECT Id, OwnerId, Company FROM Lead WHERE LeadHub_Id__c = '{lead_id}'")["records"]
            if rows:
                found.update(rows[0])
            return bool(rows)

        _wait(in_salesforce, "the lead to reach the sandbox Salesforce")
        jane_in_salesforce = next(p["salesforce_user_id"] for p in org.control.team() if "Integration" not in p["name"])
        assert found["Company"] == "Globex" and found["OwnerId"] == jane_in_salesforce

        # A rep converts it and wins the deal in Salesforce; the daemon's puller reports it back.
        converted = org.control.convert_lead(found["Id"])
        org.control.close_opportunity(converted["opportunityId"], won=True, amount=48000)

        def won() -> bool:
            page.reload()
            return page.get_by_test_id("status").inner_text() == "won"

        _wait(won, "the won opportunity to reach the portal")
        expect(page.get_by_test_id("outcome")).to_contain_text("48,000.00")
        page.screenshot(path=str(shots / "portal-timeline.png"), full_page=True)

        page.get_by_role("navigation").get_by_role("link", name="My referrals").click()
        expect(page.get_by_role("table")).to_contain_text("Globex")
        expect(page.get_by_test_id("status")).to_have_text("won")
        page.screenshot(path=str(shots / "portal-referrals.png"), full_page=True)

        # A forged post without the session's CSRF token is refused.
        ctx = page.context
        forged = ctx.request.post(f"{base}/partners/referrals", form={"company_name": "Forged"},
                                  max_redirects=0)
        assert forged.status == 403
        page.get_by_role("button", name="Sign out").click()
        expect(page.get_by_label("Your partner API key")).to_be_visible()
        page.goto(f"{base}/partners/referrals")
        expect(page.get_by_label("Your partner API key")).to_be_visible()
        browser.close()
    with hub.store.engine.connect() as conn:
        names = conn.execute(select(t.accounts.c.name)).scalars().all()
    assert "Forged" not in names
