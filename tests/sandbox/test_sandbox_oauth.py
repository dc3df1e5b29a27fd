"""Salesforce OAuth in the sandbox: the token endpoint through simple-salesforce's own login
helpers, its refusals, session expiry and revocation, and the library's re-login on a 401."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

import httpx
import pytest
from simple_salesforce.exceptions import SalesforceAuthenticationFailed, SalesforceExpiredSession

from sandbox.control import SandboxControl, SandboxControlError
from sandbox.oauth import (
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    DEFAULT_PASSWORD,
    DEFAULT_SECURITY_TOKEN,
    DEFAULT_USERNAME,
    Sessions,
    token_fingerprint,
)
from sandbox.testing import SandboxServer, salesforce_login_client

TOKEN_PATH = "/services/oauth2/token"
QUERY = "/services/data/v59.0/query/"


def _post_token(server: SandboxServer, data: dict[str, str] | str, **kwargs: Any) -> httpx.Response:
    if isinstance(data, str):  # a hand-written form body
        return httpx.post(server.url + TOKEN_PATH, content=data, trust_env=False, **kwargs)
    return httpx.post(server.url + TOKEN_PATH, data=data, trust_env=False, **kwargs)


def _query_status(server: SandboxServer, token: str) -> httpx.Response:
    return httpx.get(server.url + QUERY, params={"q": "SELECT Id FROM Lead"}, trust_env=False,
                     headers={"Authorization": f"Bearer {token}"})


def test_client_credentials_through_the_library_then_data_api(sandbox_reset: SandboxServer,
                                                              control: SandboxControl) -> None:
    sf = sandbox_reset.salesforce_login()
    assert sf.auth_type == "client-credentials"
    assert sf.session_id != sandbox_reset.sf_token
    assert sf.sf_instance == f"127.0.0.1:{sandbox_reset.port}"
    assert sf.query("SELECT Id FROM Lead")["totalSize"] == 4
    [session] = control.salesforce_sessions()["sessions"]
    assert session["token_sha256"] == token_fingerprint(sf.session_id)
    assert session["grant"] == "client_credentials"
    integration = next(p for p in control.team() if "Integration" in p["name"])
    assert session["user_id"] == integration["salesforce_user_id"]
    counted = control.counters()["salesforce"]
    assert counted["by_endpoint"][f"POST {TOKEN_PATH}"] == 1
    # A login is not an API call: the daily allocation counts only the query.
    assert control.limits()["salesforce"]["api_usage"] == 1


def test_token_response_is_shaped_and_signed_as_salesforce_does(sandbox_reset: SandboxServer) -> None:
    response = _post_token(sandbox_reset, {
        "grant_type": "password", "client_id": DEFAULT_CLIENT_ID,
        "client_secret": DEFAULT_CLIENT_SECRET, "username": DEFAULT_USERNAME,
        "password": DEFAULT_PASSWORD + DEFAULT_SECURITY_TOKEN})
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert set(body) == {"access_token", "instance_url", "id", "token_type", "issued_at",
                         "signature"}
    assert body["token_type"] == "Bearer"
    assert body["instance_url"] == sandbox_reset.url
    assert body["id"].startswith(f"{sandbox_reset.url}/id/00D") and body["issued_at"].isdigit()
    expected = hmac.new(DEFAULT_CLIENT_SECRET.encode(), (body["id"] + body["issued_at"]).encode(),
                        hashlib.sha256).digest()
    assert base64.b64decode(body["signature"]) == expected
    assert _query_status(sandbox_reset, body["access_token"]).status_code == 200


def test_password_flow_through_the_library(sandbox_reset: SandboxServer) -> None:
    sf = salesforce_login_client(sandbox_reset.port, username=DEFAULT_USERNAME.upper(),
                                 password=DEFAULT_PASSWORD, security_token=DEFAULT_SECURITY_TOKEN)
    assert sf.auth_type == "password"
    assert sf.query("SELECT COUNT() FROM Account")["totalSize"] == 4


@pytest.mark.parametrize(("overrides", "code"), [
    ({"password": DEFAULT_PASSWORD, "security_token": ""}, "invalid_grant"),  # token missing
    ({"password": "wrong", "security_token": DEFAULT_SECURITY_TOKEN}, "invalid_grant"),
    ({"username": "someone@else.example"}, "invalid_grant"),
    ({"consumer_secret": "not-the-secret"}, "invalid_client"),
    ({"consumer_key": "unknown-app"}, "invalid_client_id"),
])
def test_refused_logins_raise_the_library_error_with_salesforce_codes(
        sandbox_reset: SandboxServer, overrides: dict[str, str], code: str) -> None:
    values = {"username": DEFAULT_USERNAME, "password": DEFAULT_PASSWORD,
              "security_token": DEFAULT_SECURITY_TOKEN, **overrides}
    with pytest.raises(SalesforceAuthenticationFailed) as caught:
        salesforce_login_client(sandbox_reset.port, **values)
    assert caught.value.code == code
    assert "wrong" not in str(caught.value) and "not-the-secret" not in str(caught.value)


def test_client_credentials_in_the_body_and_malformed_requests(sandbox_reset: SandboxServer) -> None:
    good = {"grant_type": "client_credentials", "client_id": DEFAULT_CLIENT_ID,
            "client_secret": DEFAULT_CLIENT_SECRET}
    assert _post_token(sandbox_reset, good).status_code == 200
    basic = base64.b64encode(f"{DEFAULT_CLIENT_ID}:wrong".encode()).decode()
    refused = _post_token(sandbox_reset, {"grant_type": "client_credentials"},
                          headers={"Authorization": f"Basic {basic}"})
    assert refused.status_code == 400 and refused.json()["error"] == "invalid_client"
    cases = [
        ({**good, "grant_type": "authorization_code"}, "unsupported_grant_type"),
        ({**good, "client_id": "x" * 5000}, "invalid_request"),
        ("grant_type=client_credentials&grant_type=password", "invalid_request"),
    ]
    for data, error in cases:
        response = _post_token(sandbox_reset, data, headers={
            "Content-Type": "application/x-www-form-urlencoded"})
        assert response.status_code == 400 and response.json()["error"] == error, data
    as_json = httpx.post(sandbox_reset.url + TOKEN_PATH, json=good, trust_env=False)
    assert as_json.status_code == 400 and as_json.json()["error"] == "invalid_request"
    assert "form-encoded" in as_json.json()["error_description"]
    huge = httpx.post(sandbox_reset.url + TOKEN_PATH, content=b"a=" + b"b" * 20_000,
                      headers={"Content-Type": "application/x-www-form-urlencoded"},
                      trust_env=False)
    assert huge.status_code == 400 and "bytes" in huge.json()["error_description"]


def test_expired_static_token_answers_invalid_session_id_until_reset(sandbox_reset: SandboxServer,
                                                                     control: SandboxControl) -> None:
    sf = sandbox_reset.salesforce()
    control.expire_salesforce_session(sandbox_reset.sf_token)
    with pytest.raises(SalesforceExpiredSession) as caught:
        sf.query("SELECT Id FROM Lead")
    assert caught.value.content == [{"message": "Session expired or invalid",
                                     "errorCode": "INVALID_SESSION_ID", "fields": []}]
    assert control.salesforce_sessions()["static_token_valid"] is False
    with pytest.raises(SandboxControlError, match="404"):
        control.expire_salesforce_session(sandbox_reset.sf_token)  # nothing left to expire
    control.reset()
    assert sf.query("SELECT Id FROM Lead")["totalSize"] == 4


def test_library_logs_in_again_after_its_session_expires(sandbox_reset: SandboxServer,
                                                         control: SandboxControl) -> None:
    sf = sandbox_reset.salesforce_login(username=True)
    first = sf.session_id
    assert control.expire_salesforce_sessions() == 2  # the login's session and the static token
    assert _query_status(sandbox_reset, first).status_code == 401
    assert sf.query("SELECT Id FROM Lead")["totalSize"] == 4  # 401 -> token endpoint -> retried
    assert sf.session_id != first
    assert control.counters()["salesforce"]["by_endpoint"][f"POST {TOKEN_PATH}"] == 2
    assert [s["token_sha256"] for s in control.salesforce_sessions()["sessions"]] == [
        token_fingerprint(sf.session_id)]


def test_revoke_endpoint_ends_a_session(sandbox_reset: SandboxServer) -> None:
    token = _post_token(sandbox_reset, {"grant_type": "client_credentials",
                                        "client_id": DEFAULT_CLIENT_ID,
                                        "client_secret": DEFAULT_CLIENT_SECRET}).json()["access_token"]
    revoke = sandbox_reset.url + "/services/oauth2/revoke"
    assert httpx.post(revoke, data={"token": token}, trust_env=False).status_code == 200
    assert _query_status(sandbox_reset, token).status_code == 401
    again = httpx.post(revoke, data={"token": token}, trust_env=False)
    assert again.status_code == 400 and again.json()["error"] == "unsupported_token_type"


def test_sessions_listing_never_shows_a_token(sandbox_reset: SandboxServer,
                                              control: SandboxControl) -> None:
    sf = sandbox_reset.salesforce_login()
    listing = json.dumps(control.salesforce_sessions())
    assert sf.session_id not in listing and sf.session_id.split("!")[1][:20] not in listing


def test_sessions_end_at_their_lifetime() -> None:
    store = Sessions("STATIC")
    live, _ = store.issue("005", "password", lifetime=3600)
    dead, _ = store.issue("005", "password", lifetime=0)
    assert store.valid(live) and store.valid("STATIC")
    assert not store.valid(dead) and not store.valid("") and not store.valid("STATIC2")


def test_fault_on_the_token_endpoint_is_an_oauth_error_the_library_reads(
        sandbox_reset: SandboxServer, control: SandboxControl) -> None:
    control.inject_fault("/services/oauth2/token", status=503)
    with pytest.raises(SalesforceAuthenticationFailed) as caught:
        sandbox_reset.salesforce_login()
    assert caught.value.code == "unknown_error"
    assert sandbox_reset.salesforce_login().query("SELECT COUNT() FROM Lead")["totalSize"] == 4


# -- rep actions are the rep's edits -------------------------------------------------------------
def _people(control: SandboxControl) -> tuple[str, list[str]]:
    team = control.team()
    integration = next(p["salesforce_user_id"] for p in team if "Integration" in p["name"])
    return integration, [p["salesforce_user_id"] for p in team if "Integration" not in p["name"]]


def test_rep_actions_record_the_rep_as_last_modifier(sf: Any, control: SandboxControl) -> None:
    integration, reps = _people(control)
    owned = sf.Lead.create({"LastName": "Owned", "Company": "Acme", "OwnerId": reps[1]})["id"]
    unowned = sf.Lead.create({"LastName": "Api", "Company": "Acme"})["id"]
    assert sf.Lead.get(owned)["LastModifiedById"] == integration  # an API write: the integration user

    assert control.set_lead_status(owned, "Working - Contacted")["LastModifiedById"] == reps[1]
    # Owned by the integration user: a person still made the edit (the first seeded rep).
    assert control.set_lead_status(unowned, "Working - Contacted")["LastModifiedById"] == reps[0]
    explicit = control.set_lead_status(owned, "Working - Contacted", acting_user_id=reps[3])
    assert explicit["LastModifiedById"] == reps[3]

    ids = control.convert_lead(owned)
    lead = sf.Lead.get(owned)
    assert lead["IsConverted"] and lead["LastModifiedById"] == reps[1]
    opportunity = sf.Opportunity.get(ids["opportunityId"])
    assert opportunity["CreatedById"] == reps[1] == opportunity["LastModifiedById"]
    assert sf.Contact.get(ids["contactId"])["CreatedById"] == reps[1]
    closed = control.close_opportunity(ids["opportunityId"], won=True, amount=5000,
                                       acting_user_id=reps[2])
    assert closed["LastModifiedById"] == reps[2] and closed["IsWon"] is True
    with pytest.raises(SandboxControlError, match="404"):
        control.set_lead_status(unowned, "Working - Contacted", acting_user_id="005000000000099")


# -- SOAP login() (username, password and security token without a connected app) ---------------
def test_soap_login_through_the_library(sandbox_reset: SandboxServer, control: SandboxControl) -> None:
    sf = sandbox_reset.salesforce_login(username=True, consumer_key=None)
    assert sf.auth_type == "password" and sf.sf_instance == f"127.0.0.1:{sandbox_reset.port}"
    assert sf.query("SELECT COUNT() FROM Lead")["totalSize"] == 4
    [session] = control.salesforce_sessions()["sessions"]
    assert session["grant"] == "soap" and session["token_sha256"] == token_fingerprint(sf.session_id)
    control.expire_salesforce_sessions()
    assert sf.query("SELECT COUNT() FROM Lead")["totalSize"] == 4  # logged in again over SOAP
    assert control.counters()["salesforce"]["by_endpoint"][
        "POST /services/Soap/u/{version}"] == 2


def test_soap_login_refusals(sandbox_reset: SandboxServer) -> None:
    with pytest.raises(SalesforceAuthenticationFailed) as caught:
        salesforce_login_client(sandbox_reset.port, username=DEFAULT_USERNAME,
                                password=DEFAULT_PASSWORD, consumer_key=None)  # token missing
    assert caught.value.code == "INVALID_LOGIN"
    assert b"security token" in caught.value.content
    bad = httpx.post(f"{sandbox_reset.url}/services/Soap/u/59.0", content=b"<not-a-login/>",
                     headers={"Content-Type": "text/xml"}, trust_env=False)
    assert bad.status_code == 500 and b"<sf:exceptionCode>INVALID_REQUEST" in bad.content
    bomb = (b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaaaaaaaa">'
            + b"".join(b'<!ENTITY %s "%s">' % (f"e{i}".encode(), (f"&e{i - 1};" if i else "&a;").encode() * 10)
                       for i in range(8))
            + b']><login><username>&e7;</username><password>x</password></login>')
    refused = httpx.post(f"{sandbox_reset.url}/services/Soap/u/59.0", content=bomb,
                         headers={"Content-Type": "text/xml"}, trust_env=False, timeout=10)
    assert refused.status_code == 500  # expat refuses the expansion; the server stays up
    assert sandbox_reset.control is not None and sandbox_reset.control.health()["ok"]
