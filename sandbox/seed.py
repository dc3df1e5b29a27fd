"""A small realistic org for demos and tests: the same sales team in both CRMs, a few accounts
with domains, some open leads and contacts, one open opportunity and one open deal.

Seeding is deterministic (ids come from counters that a reset rewinds), so tests can rely on it.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from sandbox.hs_assoc import associate
from sandbox.hs_portal import OBJECT_TYPES, hs_now
from sandbox.sf_org import WritePlan

if TYPE_CHECKING:
    from sandbox.core import Sandbox

# (first, last, email, title, hubspot owner id, hubspot user id)
TEAM = (
    ("LeadHub", "Integration", "integration@leadhub.example", "API user", "70000001", 9000001),
    ("Jane", "Smith", "jane.smith@leadhub.example", "Account Executive", "70000002", 9000002),
    ("Omar", "Haddad", "omar.haddad@leadhub.example", "Account Executive", "70000003", 9000003),
    ("Priya", "Raman", "priya.raman@leadhub.example", "Sales Development Rep", "70000004", 9000004),
    ("Lukas", "Becker", "lukas.becker@leadhub.example", "Sales Manager", "70000005", 9000005),
)
# (name, domain, industry, employees, country, owner index)
ACCOUNTS = (
    ("Northwind Traders", "northwindtraders.com", "Retail", 420, "US", 1),
    ("Globex Manufacturing", "globexmfg.com", "Manufacturing", 2300, "DE", 2),
    ("Initech Software", "initech.io", "Technology", 180, "US", 1),
    ("Umbrella Health", "umbrellahealth.co.uk", "Healthcare", 950, "GB", 2),
)
# (first, last, company, domain, title, status, source, owner index)
LEADS = (
    ("Maria", "Garcia", "Northwind Traders", "northwindtraders.com", "Head of IT",
     "Open - Not Contacted", "Web", 3),
    ("Chen", "Wei", "Blue Yonder Airlines", "blueyonderair.com", "CTO", "Working - Contacted",
     "Partner Referral", 1),
    ("Fatima", "Khan", "Contoso Pharma", "contosopharma.com", "Procurement Lead",
     "Open - Not Contacted", "Webinar", 3),
    ("Tom", "Okafor", "Initech Software", "initech.io", "VP Engineering", "Open - Not Contacted",
     "Phone Inquiry", 2),
)
# (first, last, account index, title)
CONTACTS = (
    ("Anna", "Lindqvist", 0, "CFO"),
    ("Rafael", "Souza", 1, "Plant Manager"),
    ("Grace", "Hopper", 2, "Chief Architect"),
    ("Noah", "Williams", 3, "Director of Operations"),
)


def _email(first: str, last: str, domain: str) -> str:
    return f"{first.lower()}.{last.lower()}@{domain}"


def seed_org(sandbox: Sandbox) -> None:
    """Fill an empty sandbox with the demo org (both CRMs)."""
    _seed_salesforce(sandbox)
    _seed_hubspot(sandbox)


def _seed_salesforce(sandbox: Sandbox) -> None:
    org = sandbox.salesforce
    users = [org.add_user(number, first, last, email, title)
             for number, (first, last, email, title, _, _) in enumerate(TEAM, start=1)]
    stamp = org.now()
    accounts = []
    for name, domain, industry, employees, country, owner in ACCOUNTS:
        accounts.append(org.apply(WritePlan(org.objects["Account"], None, {
            "Name": name, "Website": f"https://www.{domain}", "Industry": industry,
            "NumberOfEmployees": employees, "BillingCountry": country,
            "OwnerId": users[owner]}), stamp))
    for first, last, company, domain, title, status, source, owner in LEADS:
        org.apply(WritePlan(org.objects["Lead"], None, {
            "FirstName": first, "LastName": last, "Company": company,
            "Email": _email(first, last, domain), "Title": title, "Status": status,
            "LeadSource": source, "Website": f"https://{domain}", "OwnerId": users[owner]}), stamp)
    for first, last, account, title in CONTACTS:
        domain = ACCOUNTS[account][1]
        org.apply(WritePlan(org.objects["Contact"], None, {
            "FirstName": first, "LastName": last, "AccountId": accounts[account],
            "Email": _email(first, last, domain), "Title": title,
            "OwnerId": users[ACCOUNTS[account][5]]}), stamp)
    close = (datetime.now(UTC) + timedelta(days=45)).date().isoformat()
    org.apply(WritePlan(org.objects["Opportunity"], None, {
        "Name": "Globex Manufacturing - Line automation", "StageName": "Qualification",
        "CloseDate": close, "Amount": 48000.0, "AccountId": accounts[1],
        "OwnerId": users[2]}), stamp)


def _seed_hubspot(sandbox: Sandbox) -> None:
    portal = sandbox.hubspot
    for first, last, email, _, owner_id, user_id in TEAM:
        portal.add_owner(owner_id, user_id, first, last, email)
    owners = [member[4] for member in TEAM]
    stamp = hs_now()
    companies = []
    for name, domain, industry, employees, country, owner in ACCOUNTS:
        record = portal.insert(OBJECT_TYPES["companies"], {
            "name": name, "domain": domain, "industry": industry,
            "numberofemployees": str(employees), "country": country,
            "hubspot_owner_id": owners[owner], "lifecyclestage": "customer"}, stamp)
        companies.append(record["hs_object_id"])
    for first, last, company, domain, title, _, _, owner in LEADS:
        portal.insert(OBJECT_TYPES["contacts"], {
            "firstname": first, "lastname": last, "email": _email(first, last, domain),
            "company": company, "jobtitle": title, "lifecyclestage": "lead",
            "hs_lead_status": "NEW", "hubspot_owner_id": owners[owner]}, stamp)
    for first, last, account, title in CONTACTS:
        record = portal.insert(OBJECT_TYPES["contacts"], {
            "firstname": first, "lastname": last,
            "email": _email(first, last, ACCOUNTS[account][1]), "jobtitle": title,
            "lifecyclestage": "customer", "hubspot_owner_id": owners[ACCOUNTS[account][5]]}, stamp)
        associate(portal, "contacts", record["hs_object_id"], "companies", companies[account])
    deal = portal.insert(OBJECT_TYPES["deals"], {
        "dealname": "Umbrella Health - Patient portal", "amount": "36000",
        "dealstage": "qualifiedtobuy", "pipeline": "default",
        "hubspot_owner_id": owners[2]}, stamp)
    associate(portal, "deals", deal["hs_object_id"], "companies", companies[3])
