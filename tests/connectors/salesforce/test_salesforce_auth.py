"""Logging in and staying logged in, through the real simple-salesforce against the sandbox's OAuth
token endpoint: re-login on an expired session (client credentials, username/password), refused
logins and unrecoverable sessions reported with what to fix, and echo detection by the
integration user telling a rep's edit from the hub's own write."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from connectors.salesforce import SalesforceConnector
from connectors.salesforce.pull import to_source_record
from hub.decisions import Owner
from hub.errors import AuthError
from hub.testing import routed_items
from sandbox.control import SandboxControl
from sandbox.oauth import token_fingerprint
from sandbox.testing import SandboxServer

Make = Callable[..., SalesforceConnector]
TOKEN_ENDPOINT = "POST /services/oauth2/token"
LOGIN_ENDPOINTS = (TOKEN_ENDPOINT, "POST /services/Soap/u/{version}")


def _control(org: SandboxServer) -> SandboxControl:
    assert org.control is not None
    return org.control


def _logins(org: SandboxServer) -> int:
    """Calls to the login endpoints (OAuth token, SOAP login()) since the last reset."""
    by_endpoint = _control(org).counters()["salesforce"]["by_endpoint"]
    return sum(by_endpoint.get(name, 0) for name in LOGIN_ENDPOINTS)


def _client_credentials(org: SandboxServer) -> dict[str, Any]:
    # client credentials need a My Domain; login_url sends that domain's token call to the sandbox
    return {"consumer_key": org.oauth.client_id, "consumer_secret": org.oauth.client_secret,
            "domain": "leadhub-sandbox.my", "login_url": org.url}


def _password(org: SandboxServer) -> dict[str, Any]:
    return {"username": org.oauth.username, "password": org.oauth.password,
            "security_token": org.oauth.security_token, "consumer_key": org.oauth.client_id,
            "consumer_secret": org.oauth.client_secret, "login_url": org.url}


def _soap(org: SandboxServer) -> dict[str, Any]:
    """Username, password and security token without a connected app: SOAP login()."""
    return {"username": org.oauth.username, "password": org.oauth.password,
            "security_token": org.oauth.security_token, "login_url": org.url}


LOGINS = {"client_credentials": _client_credentials, "password": _password, "soap": _soap}


def _stored(org: SandboxServer, lead_id: str) -> bool:
    """Whether the org holds the hub's lead (read with a login of its own: the test's view)."""
    sf = org.salesforce_login()
    return bool(sf.query(f"SELECT COUNT() FROM Lead WHERE LeadHub_Id__c = '{lead_id}'")["totalSize"])


@pytest.mark.parametrize("grant", ["client_credentials", "password", "soap"])
def test_expired_session_logs_in_again_and_the_delivery_succeeds(org: SandboxServer, make_connector: Make,
                                                                 grant: str) -> None:
    control = _control(org)
    connector = make_connector(**LOGINS[grant](org))  # starts on the session id it was given
    first, second, third = (routed_items(1, start=n) for n in (0, 1, 2))
    assert connector.push_leads(first)[0].ok
    assert _logins(org) == 0

    control.expire_salesforce_sessions()  # the session id the connector holds now answers 401
    [result] = connector.push_leads(second)

    assert result.ok, result.error
    token = connector.client.sf.session_id
    assert token != org.sf_token
    [session] = control.salesforce_sessions()["sessions"]
    assert session["token_sha256"] == token_fingerprint(token) and session["grant"] == grant
    assert _logins(org) == 1
    assert connector.client.health_problem() is None and connector.check().ok

    # The new session expires too: simple-salesforce, now logged in itself, refreshes it.
    control.expire_salesforce_session(token)
    assert connector.push_leads(third)[0].ok
    assert connector.client.sf.session_id not in (token, org.sf_token)
    assert _logins(org) == 2
    assert all(_stored(org, items[0].lead.id) for items in (first, second, third))


def test_login_credentials_alone_log_in_on_first_use(org: SandboxServer, make_connector: Make) -> None:
    connector = make_connector(session_id=None, instance_url=None, **_client_credentials(org))
    [result] = connector.push_leads(routed_items(1))
    assert result.ok, result.error
    assert _control(org).counters()["salesforce"]["by_endpoint"][TOKEN_ENDPOINT] == 1
    assert connector.check().ok


@pytest.mark.parametrize(("grant", "wrong", "named", "said"), [
    ("password", {"password": "Wrong-Pass-123"}, "SECURITY_TOKEN", "invalid_grant: authentication failure"),
    ("soap", {"password": "Wrong-Pass-123"}, "SECURITY_TOKEN", "INVALID_LOGIN: Invalid username"),
    ("client_credentials", {"consumer_secret": "Wrong-Secret-456"}, "CONSUMER_SECRET",
     "invalid_client: invalid client credentials"),
])
def test_refused_login_is_an_auth_error_saying_what_to_check(org: SandboxServer, make_connector: Make,
                                                             grant: str, wrong: dict[str, str],
                                                             named: str, said: str) -> None:
    connector = make_connector(**{**LOGINS[grant](org), **wrong})
    _control(org).expire_salesforce_sessions()
    with pytest.raises(AuthError) as caught:
        connector.push_leads(routed_items(1))
    message = str(caught.value)
    assert f"LEADHUB_CONNECTORS__SALESFORCE__{named}" in message and said in message
    secret = next(iter(wrong.values()))
    assert secret not in message
    health = connector.check()
    assert not health.ok and named in health.message and secret not in health.message


def test_revoked_session_without_login_credentials_is_unhealthy(org: SandboxServer, make_connector: Make) -> None:
    connector = make_connector()  # a session id alone: nothing to log in again with
    assert connector.check().ok
    # The org's admin revokes the session (Setup > Session Management), as OAuth's revoke does.
    revoked = httpx.post(f"{org.url}/services/oauth2/revoke", data={"token": org.sf_token}, trust_env=False)
    assert revoked.status_code == 200
    with pytest.raises(AuthError, match="401"):
        connector.push_leads(routed_items(1))
    health = connector.check()
    assert not health.ok
    assert "LEADHUB_CONNECTORS__SALESFORCE__SESSION_ID" in health.message
    assert "CONSUMER_KEY/CONSUMER_SECRET" in health.message and org.sf_token not in health.message


def test_integration_user_tells_a_reps_edit_from_the_hubs_write(org: SandboxServer, make_connector: Make,
                                                                rep_id: str) -> None:
    control = _control(org)
    integration = next(p for p in control.team() if "Integration" in p["name"])["salesforce_user_id"]
    connector = make_connector(integration_user_id=integration)
    owner = Owner(id="jane", name="Jane", crm_ids={"salesforce": rep_id})
    [own, edited] = connector.push_leads(routed_items(2, owner))
    # At once (well inside the 2-second echo margin), the owner works one of the two leads.
    control.set_lead_status(str(edited.external_id), "Working - Contacted")

    sf = org.salesforce()
    fields = "Id, SystemModstamp, IsDeleted, LastModifiedById, Status, LeadHub_Id__c"
    rows = {r["Id"]: r for r in sf.query(f"SELECT {fields} FROM Lead WHERE LeadHub_Id__c != null")["records"]}
    hub_write = to_source_record("salesforce", "Lead:outcome", rows[own.external_id])
    rep_edit = to_source_record("salesforce", "Lead:outcome", rows[edited.external_id])
    assert hub_write.payload["LastModifiedById"] == integration
    assert rep_edit.payload["LastModifiedById"] == rep_id
    assert connector.is_echo(hub_write, own.version)
    assert not connector.is_echo(rep_edit, edited.version)

    # The pull of outcomes hands the rep's edit on, carrying who made it.
    pulled = [r for page in connector.pull_outcomes(None) for r in page.records]
    assert [(r.external_id, r.payload["LastModifiedById"]) for r in pulled] == [(edited.external_id, rep_id)]
    assert not connector.is_echo(pulled[0], edited.version)
