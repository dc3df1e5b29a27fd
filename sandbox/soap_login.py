"""SOAP ``login()`` for the sandbox: what simple-salesforce uses for username, password and
security token without a connected app (``simple_salesforce/login.py`` ``soap_login``).

``POST /services/Soap/u/{version}`` with the partner API's login envelope answers the
``loginResponse`` whose ``sessionId`` and ``serverUrl`` the client reads, or, for a wrong user or
password, HTTP 500 with a ``LoginFault`` carrying ``sf:exceptionCode`` INVALID_LOGIN, as
Salesforce does. Sessions come from the same store as OAuth's (grant ``soap``). Bodies are capped
at 16 KiB before parsing; the parser is expat (2.4+ refuses entity-expansion bombs) and never
fetches external entities.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import TYPE_CHECKING
from xml.sax.saxutils import escape

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sandbox.http import BodyError, read_body
from sandbox.oauth import MAX_FORM_BYTES, ORG_ID, user_id_for, user_password_ok

if TYPE_CHECKING:
    from sandbox.core import Sandbox

SOAP_LOGIN_PREFIX = "/services/Soap/u/"
INVALID_LOGIN = "Invalid username, password, security token; or user locked out."


def _xml(body: str, status: int = 200) -> Response:
    return Response('<?xml version="1.0" encoding="UTF-8"?>' + body, status_code=status,
                    media_type="text/xml;charset=UTF-8")


def _fault(code: str, message: str) -> Response:
    return _xml(
        '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
        'xmlns:sf="urn:fault.partner.soap.sforce.com" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body><soapenv:Fault>'
        f"<faultcode>sf:{code}</faultcode><faultstring>{code}: {escape(message)}</faultstring>"
        '<detail><sf:LoginFault xsi:type="sf:LoginFault">'
        f"<sf:exceptionCode>{code}</sf:exceptionCode>"
        f"<sf:exceptionMessage>{escape(message)}</sf:exceptionMessage>"
        "</sf:LoginFault></detail></soapenv:Fault></soapenv:Body></soapenv:Envelope>", 500)


def _credentials(raw: bytes) -> tuple[str, str] | None:
    """(username, password) of the envelope's ``login`` element, or None if there is none."""
    try:
        root = ET.fromstring(raw)
    except ET.ParseError:
        return None
    for element in root.iter():
        if element.tag.rsplit("}", 1)[-1] == "login":
            found = {child.tag.rsplit("}", 1)[-1]: child.text or "" for child in element}
            if "username" in found and "password" in found:
                return found["username"], found["password"]
    return None


async def login(request: Request) -> Response:
    sandbox: Sandbox = request.app.state.sandbox
    settings = sandbox.settings.oauth
    try:
        raw = await read_body(request, MAX_FORM_BYTES)
    except BodyError as exc:
        return _fault("INVALID_REQUEST", exc.message)
    credentials = _credentials(raw)
    if credentials is None:
        return _fault("INVALID_REQUEST", "send a partner API login envelope with username and "
                      "password (the password followed by the security token)")
    username, password = credentials
    if not user_password_ok(settings, username, password):
        return _fault("INVALID_LOGIN", INVALID_LOGIN)
    user_id = user_id_for(sandbox, settings.username)
    token, _ = sandbox.sessions.issue(user_id, "soap", settings.session_seconds)
    base, version = str(request.base_url).rstrip("/"), request.path_params["version"]
    org = ORG_ID[:15]
    return _xml(
        '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
        'xmlns="urn:partner.soap.sforce.com" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body><loginResponse>'
        f"<result><metadataServerUrl>{base}/services/Soap/m/{version}/{org}</metadataServerUrl>"
        "<passwordExpired>false</passwordExpired><sandbox>true</sandbox>"
        f"<serverUrl>{base}/services/Soap/u/{version}/{org}</serverUrl>"
        f"<sessionId>{escape(token)}</sessionId><userId>{user_id}</userId>"
        f"<userInfo><organizationId>{ORG_ID}</organizationId><userId>{user_id}</userId>"
        f"<userName>{escape(settings.username)}</userName></userInfo>"
        "</result></loginResponse></soapenv:Body></soapenv:Envelope>")


ROUTES = [Route(SOAP_LOGIN_PREFIX + "{version}", login, methods=["POST"])]
