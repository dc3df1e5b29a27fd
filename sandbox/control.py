"""A small httpx client for the sandbox's control API (``/_sandbox/...``).

Tests and demos use it to do what a person would do in the CRM's UI (convert a lead, close an
opportunity), to break things on purpose (faults, limits) and to count API calls::

    control = SandboxControl("http://127.0.0.1:8765")
    ids = control.convert_lead(lead_id)            # {"accountId", "contactId", "opportunityId"}
    control.close_opportunity(ids["opportunityId"], won=True, amount=12000)
    control.inject_fault(r"/composite/sobjects", status=503, count=2)
    control.expire_salesforce_sessions()           # every holder of a token gets 401 next
    control.counters()["salesforce"]["total"]
"""

from __future__ import annotations

from typing import Any, Self

import httpx


class SandboxControlError(RuntimeError):
    """The control API refused a request; the message is the sandbox's explanation."""


class SandboxControl:
    def __init__(self, base_url: str, timeout: float = 10.0) -> None:
        self.base_url = base_url.rstrip("/")
        self._client = httpx.Client(base_url=self.base_url, timeout=timeout, trust_env=False)

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        response = self._client.request(method, f"/_sandbox{path}", json=body)
        if response.status_code >= 400:
            raise SandboxControlError(f"{method} /_sandbox{path} -> {response.status_code}: "
                                      f"{response.text[:500]}")
        return response.json()

    # -- whole sandbox -----------------------------------------------------------------------------
    def health(self) -> dict[str, Any]:
        result: dict[str, Any] = self._call("GET", "/health")
        return result

    def summary(self) -> dict[str, Any]:
        result: dict[str, Any] = self._call("GET", "/summary")
        return result

    def reset(self, seed: bool = True) -> dict[str, Any]:
        """Empty both CRMs, clear faults, counters and limit changes; seed the demo org."""
        result: dict[str, Any] = self._call("POST", "/reset", {"seed": seed})
        return result

    def seed(self) -> dict[str, Any]:
        result: dict[str, Any] = self._call("POST", "/seed", {})
        return result

    def team(self) -> list[dict[str, Any]]:
        """Seeded people: name, email, salesforce_user_id, hubspot_owner_id."""
        result: list[dict[str, Any]] = self._call("GET", "/team")
        return result

    def save(self) -> dict[str, Any]:
        result: dict[str, Any] = self._call("POST", "/save", {})
        return result

    # -- a sales rep in Salesforce -----------------------------------------------------------------
    # The rep who acts is recorded as LastModifiedById: ``acting_user_id``, else the record's
    # owner when that is not the integration user, else the first seeded rep.
    def set_lead_status(self, lead_id: str, status: str, owner_id: str | None = None, *,
                        acting_user_id: str | None = None) -> dict[str, Any]:
        result: dict[str, Any] = self._call("POST", f"/salesforce/leads/{lead_id}/status", {
            "status": status, "owner_id": owner_id, "acting_user_id": acting_user_id})
        return result

    def convert_lead(self, lead_id: str, *, account_id: str | None = None,
                     create_opportunity: bool = True, opportunity_name: str | None = None,
                     acting_user_id: str | None = None) -> dict[str, Any]:
        result: dict[str, Any] = self._call("POST", f"/salesforce/leads/{lead_id}/convert", {
            "account_id": account_id, "create_opportunity": create_opportunity,
            "opportunity_name": opportunity_name, "acting_user_id": acting_user_id})
        return result

    def close_opportunity(self, opportunity_id: str, won: bool, amount: float | None = None, *,
                          acting_user_id: str | None = None) -> dict[str, Any]:
        result: dict[str, Any] = self._call(
            "POST", f"/salesforce/opportunities/{opportunity_id}/close",
            {"won": won, "amount": amount, "acting_user_id": acting_user_id})
        return result

    def set_assignment_rule(self, owner_id: str | None) -> dict[str, Any]:
        """Activate a lead assignment rule giving every lead to ``owner_id`` (None: deactivate);
        it overwrites the OwnerId of API writes that do not send ``Sforce-Auto-Assign: FALSE``."""
        result: dict[str, Any] = self._call("PUT", "/salesforce/assignment-rule", {"owner_id": owner_id})
        return result

    def lead_auto_assign(self, lead_id: str) -> dict[str, Any]:
        """``{"lead_id", "sforce_auto_assign", "owner_id"}``: the header of the last API write
        to the lead (``None`` when the request had none)."""
        result: dict[str, Any] = self._call("GET", f"/salesforce/leads/{lead_id}/auto-assign")
        return result

    # -- Salesforce sessions -------------------------------------------------------------------------
    def salesforce_sessions(self) -> dict[str, Any]:
        """``{"static_token_valid", "sessions": [{"token_sha256", "user_id", "grant", ...}]}``;
        ``sandbox.oauth.token_fingerprint(token)`` gives a token's ``token_sha256``."""
        result: dict[str, Any] = self._call("GET", "/salesforce/sessions")
        return result

    def expire_salesforce_session(self, token: str) -> None:
        """The next request with ``token`` (static or issued) gets 401 INVALID_SESSION_ID."""
        self._call("POST", "/salesforce/sessions/expire", {"token": token})

    def expire_salesforce_sessions(self) -> int:
        """Expire every session, the static token's included (a reset revives that one)."""
        result: dict[str, Any] = self._call("POST", "/salesforce/sessions/expire", {"all": True})
        return int(result["expired"])

    # -- a sales rep in HubSpot ----------------------------------------------------------------------
    def set_contact_status(self, contact_id: str, *, hs_lead_status: str | None = None,
                           lifecyclestage: str | None = None,
                           owner_id: str | None = None) -> dict[str, Any]:
        result: dict[str, Any] = self._call("POST", f"/hubspot/contacts/{contact_id}/status", {
            "hs_lead_status": hs_lead_status, "lifecyclestage": lifecyclestage,
            "hubspot_owner_id": owner_id})
        return result

    def create_deal(self, dealname: str, *, amount: float | None = None,
                    contact_id: str | None = None, company_id: str | None = None,
                    leadhub_lead_id: str | None = None,
                    dealstage: str = "appointmentscheduled") -> dict[str, Any]:
        result: dict[str, Any] = self._call("POST", "/hubspot/deals", {
            "dealname": dealname, "amount": amount, "contact_id": contact_id,
            "company_id": company_id, "leadhub_lead_id": leadhub_lead_id,
            "dealstage": dealstage})
        return result

    def close_deal(self, deal_id: str, won: bool, amount: float | None = None) -> dict[str, Any]:
        result: dict[str, Any] = self._call("POST", f"/hubspot/deals/{deal_id}/close",
                                            {"won": won, "amount": amount})
        return result

    # -- faults, limits, counters --------------------------------------------------------------------
    def inject_fault(self, path: str, *, status: int = 503, count: int = 1,
                     kind: str = "status", method: str | None = None,
                     delay: float = 30.0) -> dict[str, Any]:
        """The next ``count`` requests whose path matches regex ``path`` fail (see faults.py)."""
        result: dict[str, Any] = self._call("POST", "/faults", {
            "path": path, "status": status, "count": count, "kind": kind, "method": method,
            "delay": delay})
        return result

    def faults(self) -> dict[str, Any]:
        result: dict[str, Any] = self._call("GET", "/faults")
        return result

    def clear_faults(self) -> None:
        self._call("DELETE", "/faults")

    def counters(self) -> dict[str, Any]:
        """``{"salesforce"|"hubspot": {"total", "by_endpoint", "by_status"}}``."""
        result: dict[str, Any] = self._call("GET", "/counters")
        return result

    def reset_counters(self) -> None:
        self._call("DELETE", "/counters")

    def limits(self) -> dict[str, Any]:
        result: dict[str, Any] = self._call("GET", "/limits")
        return result

    def set_limits(self, *, hubspot_ten_second_max: int | None = None,
                   hubspot_daily_max: int | None = None,
                   hubspot_search_per_second: int | None = None,
                   salesforce_daily_max: int | None = None,
                   reset_usage: bool = False) -> dict[str, Any]:
        result: dict[str, Any] = self._call("PUT", "/limits", {
            "hubspot_ten_second_max": hubspot_ten_second_max,
            "hubspot_daily_max": hubspot_daily_max,
            "hubspot_search_per_second": hubspot_search_per_second,
            "salesforce_daily_max": salesforce_daily_max, "reset_usage": reset_usage})
        return result
