"""The plugin hooks: this module's docstrings are the reference for plugin authors.

Every hook is prefixed ``hub_``. Implement one in any module or class with::

    from hub.plugins import hookimpl

    @hookimpl
    def hub_score(lead, inquiry):
        return ScorePart(10, "asked for a demo")

Arguments are passed by name; an implementation may accept any subset of them.

*Registration hooks* return records the manager validates (duplicate names are rejected, naming
both providers). *Decision hooks* marked "first result" stop at the first implementation that
returns something other than ``None``; the built-in policy is an ordinary plugin registered
``trylast`` so any third-party plugin can take the decision first. *Event hooks* tell every
plugin that something happened; their return values are ignored.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    import typer

    from hub.config import HubConfig
    from hub.connector import Connector
    from hub.decisions import (
        AccountLookup,
        AccountMatch,
        ContactRecord,
        DuplicateScore,
        Owner,
        QualifyDecision,
        RouteDecision,
        RoutingContext,
        RoutingStrategy,
        ScorePart,
        SlaAction,
    )
    from hub.mapping import MappingSet
    from hub.schema import Account, Contact, Inquiry, Lead, Normalized, Outcome, SourceRecord

PROJECT = "hub"
hookspec = pluggy.HookspecMarker(PROJECT)


# -- start-up --------------------------------------------------------------------------------


@hookspec
def hub_configure(config: HubConfig) -> None:
    """Called once after all plugins are loaded and hub.toml is validated.

    A policy plugin reads its own table here, e.g. ``config.section("matching")`` for
    ``[matching]`` (a plain dict; validate it with your own pydantic model and raise
    :class:`hub.errors.ConfigError` naming the key). Return value ignored.
    """


# -- registration ----------------------------------------------------------------------------


@hookspec
def hub_connector_types() -> list[type[Connector]]:
    """Connector classes this plugin provides.

    :returns: a list of :class:`hub.connector.Connector` subclasses. Each ``name`` must be unique
        across all plugins; a duplicate stops start-up with an error naming both plugins.
    """
    raise NotImplementedError  # a specification: plugins implement it


@hookspec
def hub_cli_commands(app: typer.Typer) -> None:
    """Add commands to the ``leadhub`` command line (datasette's ``register_commands``).

    Called once when the CLI starts, before arguments are parsed. Keep the module that implements
    it light: import what the commands need inside them, so ``leadhub --help`` stays quick.

    :param app: the root :class:`typer.Typer`; add a group with ``app.add_typer(sub, name=...)``
        or a command with ``@app.command()``. Return value ignored.
    """


@hookspec
def hub_mappings() -> list[Path]:
    """Default mapping files this plugin ships (``<connector type>.toml``).

    A connector package ships the mapping of its own type beside its code, so installing it is
    enough; a file of the same name in hub.toml's ``mappings_dir`` replaces the shipped one.

    :returns: paths of TOML mapping files (see docs/mappings.md); each file's stem is the
        connector type it maps. Two plugins shipping the same stem stop start-up naming both.
    """
    raise NotImplementedError  # a specification: plugins implement it


@hookspec(firstresult=True)
def hub_sandbox(port: int) -> AbstractContextManager[str] | None:
    """Serve the local sandbox CRMs for ``leadhub run --with-sandbox`` (the demo, ``make run``).

    Stops at first non-None result. The built-in ``sandbox.plugin`` runs ``python -m sandbox
    serve`` as a child process. Then every connector whose class declares a
    :class:`~hub.connector.SandboxSpec` and whose URL is a loopback URL is pointed at the sandbox.

    :param port: the loopback port to serve on (``--sandbox-port``).
    :returns: a context manager: entering it starts the sandbox and gives its base URL
        (``http://127.0.0.1:PORT``), leaving it stops the sandbox; or ``None`` to let another
        plugin decide (nobody deciding: ``--with-sandbox`` stops, saying no sandbox is installed).
        Entering raises :class:`hub.errors.HubError` saying what to do when it cannot start.
    """


@hookspec
def hub_routing_strategies() -> list[RoutingStrategy]:
    """Named routing strategies this plugin provides (``[routing] strategy = "NAME"``).

    :returns: a list of :class:`hub.decisions.RoutingStrategy`; names are unique across plugins.
    """
    raise NotImplementedError  # a specification: plugins implement it


# -- pipeline decisions ----------------------------------------------------------------------


@hookspec(firstresult=True)
def hub_normalize(record: SourceRecord, mappings: MappingSet) -> Normalized | None:
    """Turn a connector's raw record into an :class:`~hub.schema.Inquiry` or
    :class:`~hub.schema.OutcomeReport`.

    Stops at first non-None result. The built-in implementation applies the declarative mapping
    of ``mappings/<connector>.toml``.

    :param record: the record as committed to the inbox.
    :param mappings: every loaded mapping.
    :raises hub.errors.InvalidRecord: the record cannot be understood; it is quarantined with the
        message as the reason, and can be replayed after the mapping is fixed.
    :returns: the normalized record, or ``None`` to let another plugin decide.
    """


@hookspec(firstresult=True)
def hub_match_account(inquiry: Inquiry, lookup: AccountLookup) -> AccountMatch | None:
    """Decide which account an inquiry belongs to.

    Stops at first non-None result. The built-in matcher finds candidates through indexed keys
    (``lookup.candidates``) and scores them.

    :param inquiry: the normalized inbound record. Its ``company`` fields decide the account;
        the contact's e-mail domain is only one key (partner reps submit with their own address).
    :param lookup: indexed access to existing accounts (never a scan of all of them).
    :returns: an :class:`~hub.decisions.AccountMatch` (matched, new, or uncertain with a reason),
        or ``None`` to let another plugin decide.
    """


@hookspec(firstresult=True)
def hub_contact_key(contact: Contact) -> str | None:
    """The key under which two contacts are the same person.

    Stops at first non-None result. Within an account, an inquiry's contact joins the stored
    contact with the same key instead of creating another one, and a lead counts a person once
    per key. The built-in implementation returns the canonical e-mail (case; dots and
    ``+tags`` for Gmail, ``+tags`` for Outlook/iCloud/Fastmail/Proton), so
    ``John.Smith+news@GoogleMail.com`` and ``johnsmith@gmail.com`` are one contact. Stored keys
    are recomputed with ``leadhub contacts rekey`` after a plugin changes the policy.

    :param contact: the inquiry's :class:`~hub.schema.Contact` (or a stored one, when rekeying).
    :returns: the key (at most 320 characters), or ``None`` to let another plugin decide. When no
        plugin returns a key, the hub uses the lower-cased e-mail; a contact without one has no
        key: it is never joined by key, only compared as a candidate duplicate
        (``hub_contact_duplicate``).
    """


@hookspec(firstresult=True)
def hub_contact_duplicate(contact: ContactRecord, other: ContactRecord) -> DuplicateScore | None:
    """How likely a new contact and a stored one (with another key) are the same person.

    Stops at first non-None result. Called when the engine creates a contact, for the stored
    contacts found through indexes only: the same account's contacts with the same normalised
    name, and contacts of any account with the same phone. A pair whose score ``is_candidate``
    is recorded as a candidate duplicate and audited; a person merges it or keeps it apart
    (``leadhub contacts duplicates``). The engine never merges on a score. The built-in
    implementation is ``plugins.matching``'s ``contact_duplicate_confidence``.

    :param contact: the :class:`~hub.decisions.ContactRecord` just created.
    :param other: a stored (or earlier in the batch) contact it may be.
    :returns: a :class:`~hub.decisions.DuplicateScore` (confidence, reason in words,
        ``is_candidate``), or ``None`` to let another plugin decide (nobody deciding: no candidate).
    """


@hookspec
def hub_score(lead: Lead, inquiry: Inquiry, account: Account) -> ScorePart | list[ScorePart] | None:
    """Contribute points to a lead's score.

    Every implementation is called; all parts are summed and each is audited with its reason.
    Whether the sum qualifies the lead is :func:`hub_qualify`'s decision.

    :param lead: the lead after the inquiry was merged into it (its activities include the new one).
    :param inquiry: the inquiry that caused this scoring.
    :param account: the lead's account.
    :returns: one :class:`~hub.decisions.ScorePart`, a list of them, or ``None`` (no opinion).
    """


@hookspec(firstresult=True)
def hub_qualify(lead: Lead, account: Account) -> QualifyDecision | None:
    """Decide whether a scored lead goes to sales or stays with marketing (nurture).

    Stops at first non-None result. Called after :func:`hub_score` for a lead in ``new`` or
    ``nurture``; a lead already with sales is not asked again. The built-in policy qualifies a
    lead whose score reaches ``[pipeline] qualify_score``.

    :param lead: the lead with its new ``score`` and all its activities and contacts.
    :param account: the lead's account.
    :returns: a :class:`~hub.decisions.QualifyDecision` (``qualified`` and the reason in words),
        or ``None`` to let another plugin decide (nobody deciding: the lead stays in nurture).
    """


@hookspec(firstresult=True)
def hub_route(context: RoutingContext) -> RouteDecision | None:
    """Choose the owner of a qualified lead.

    Stops at first non-None result. The built-in router applies ``[routing] strategy``.

    :param context: the lead, its account and parent account, the owners, the routing settings
        and a persisted rotation counter (:class:`hub.decisions.RoutingContext`).
    :returns: a :class:`~hub.decisions.RouteDecision` (owner, SLA, destinations, reason), or
        ``None`` to let another plugin decide.
    """


@hookspec(firstresult=True)
def hub_sla_breached(lead: Lead, owners: list[Owner], now: datetime) -> SlaAction | None:
    """A routed lead was not accepted by its due time: escalate, reassign or claw back.

    Stops at first non-None result. Every step is audited.

    :param lead: the routed lead (its ``owner_id`` and ``sla_due_at``).
    :param owners: every configured owner.
    :param now: the current time, timezone-aware UTC.
    :returns: a :class:`~hub.decisions.SlaAction` (``escalate`` or ``reassign`` to ``owner_id``
        with the new ``due_at``, or ``claw_back`` to nurture), or ``None`` to let another plugin
        decide.
    """


# -- events ----------------------------------------------------------------------------------


@hookspec
def hub_lead_routed(lead: Lead, decision: RouteDecision) -> None:
    """A lead was routed to an owner (after the transaction committed). Return value ignored.

    :param lead: the routed lead.
    :param decision: the :class:`~hub.decisions.RouteDecision` that routed it.
    """


@hookspec
def hub_outcome(lead: Lead, outcome: Outcome) -> None:
    """A lead's outcome changed (accepted, converted, won, lost, rejected). Return value ignored.

    :param lead: the lead after the change.
    :param outcome: the :class:`~hub.schema.Outcome` (status, reason, amount, at, reported_by).
    """


@hookspec
def hub_record_quarantined(connector: str, stream: str, reason: str, details: dict[str, Any]) -> None:
    """A record was quarantined with ``reason``. Return value ignored.

    :param connector: the connector instance the record came from.
    :param stream: its stream (``Lead``, ``form:demo``, ``csv``...).
    :param reason: why, in words a person can act on.
    :param details: extra facts (inbox id, field, line number).
    """
