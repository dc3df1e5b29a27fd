"""The partner portal in headless Chromium: sign in, refer a company, see it routed, see the outcome.

A real uvicorn server on a free loopback port runs the app with its workers, so the referral is
processed by the daemon's own processor. The outcome is recorded with ``hub.engine.record_outcome``
(the outcome a CRM sync would report). ``LEADHUB_SCREENSHOTS=1`` refreshes docs/img/.
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
from connectors.partner import keys
from hub.runtime import Hub
from hub.schema import LeadStatus, Outcome
from hub.store import partners as q
from hub.store import tables as t
from hub.web import create_app

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


def _wait(condition: Callable[[], bool], what: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


@pytest.fixture
def served(hub_factory: Callable[..., Hub], sqlite_url: str) -> Iterator[tuple[str, Hub]]:
    _need_browser()
    hub = hub_factory(sqlite_url, extra_plugins=(connectors.partner,), connectors={"partner": {"type": "partner"}})
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(hub), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    _wait(lambda: server.started, "the server to start")
    yield f"http://127.0.0.1:{port}", hub
    server.should_exit = True
    thread.join(10)


def test_portal_refer_follow_and_outcome(served: tuple[str, Hub], tmp_path: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    base, hub = served
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
        hub.engine.record_outcome(Outcome(lead_id=lead_id, status=LeadStatus.WON, amount=48000.0,
                                          reason="signed a 3-year deal", reported_by="salesforce"))
        page.reload()
        expect(page.get_by_test_id("status")).to_have_text("won")
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
