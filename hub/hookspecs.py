"""The plugin hooks: this module's docstrings are the reference for plugin authors.

Every hook is prefixed ``hub_`` and declared in ``hub/hookspecs.py``, whose docstrings are
this reference (``python -m hub.hookdocs`` renders them into docs/plugins.md). Implement a hook
in any module or class with::

    from hub.decisions import ScorePart
    from hub.plugins import hookimpl


    @hookimpl
    def hub_score(lead, inquiry):
        return ScorePart(10, "asked for a demo")

Arguments are passed by name; an implementation may accept any subset of them. There are
three kinds of hook:

- *registration hooks* return records the manager validates: a duplicate name stops start-up
  with an error naming both plugins;
- *decision hooks* marked "first result" stop at the first implementation that returns
  something other than ``None``; the built-in policy is an ordinary plugin registered
  ``trylast``, so any plugin of yours is asked first. ``hub_score`` collects every result;
- *event hooks* tell every plugin that something happened, after the transaction committed;
  their return value is ignored, and an exception in one is logged naming the plugin, never
  undoes the work and never keeps the other plugins from hearing of it.
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

#: The event hooks: every handler is called even when one raises (the failure is logged naming
#: the plugin), after the work they report was committed.
EVENT_HOOKS = frozenset({"hub_lead_routed", "hub_outcome", "hub_record_quarantined"})


# -- start-up --------------------------------------------------------------------------------


@hookspec
def hub_configure(config: HubConfig) -> None:
    """Called once at start-up, after all plugins are loaded and hub.toml is validated.

    A plugin reads its own table with ``config.plugin_settings("NAME", YourSettings)``:
    ``[plugins.NAME]`` validated by your pydantic model (its defaults when absent); a bad value
    raises :class:`hub.errors.ConfigError` naming the file, table and key, e.g.
    ``plugins.big_companies.min_employees: Input should be greater than 0``
    (``config.section("NAME")`` returns the table as a plain dict). Keep what you read on the
    plugin object, never in a module global: a plugin class listed as ``module:Class`` gets one
    instance per hub, so two hubs in one process never share settings or caches.

    :param config: the validated :class:`hub.config.HubConfig`.
    :returns: nothing; the return value is ignored.
    """


@hookspec
def hub_cli_commands(app: typer.Typer) -> None:
    """Add commands to the ``leadhub`` command line (datasette's ``register_commands``).

    Called once when the CLI starts, before arguments are parsed. Keep the module that implements
    it light: import what the commands need inside them, so ``leadhub --help`` stays quick.

    :param app: the root :class:`typer.Typer`; add a group with ``app.add_typer(sub, name=...)``
        or a command with ``@app.command()``.
    :returns: nothing; the return value is ignored.
    """


# -- registration ----------------------------------------------------------------------------


@hookspec
def hub_connector_types() -> list[type[Connector]]:
    """Connector classes this plugin provides.

    Registration. Each class's ``name`` is the ``type`` used in hub.toml
    (``[connectors.X] type = "NAME"``); see "The connector contract" below.

    :returns: a list of :class:`hub.connector.Connector` subclasses. Each ``name`` must be unique
        across all plugins; a duplicate stops start-up with an error naming both plugins.
    """
    raise NotImplementedError  # a specification: plugins implement it


@hookspec
def hub_mappings() -> list[Path]:
    """Default mapping files this plugin ships, one ``<connector type>.toml`` each.

    Registration. A connector package ships the mapping of its own type beside its code, so
    installing it is enough; a file of the same name in hub.toml's ``mappings_dir`` replaces the
    shipped one.

    :returns: a list of :class:`pathlib.Path` of TOML mapping files (see docs/mappings.md); each
        file's stem is the connector type it maps. Two plugins shipping the same stem stop
        start-up with an error naming both.
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

    Registration. ``choose`` is a callable ``(RoutingContext) -> RouteDecision | None``.

    :returns: a list of :class:`hub.decisions.RoutingStrategy` ``(name, description, choose)``.
        The name (letters, digits, ``_``; ``-`` becomes ``_``) is what ``[routing] strategy``
        selects, and must be unique across plugins.
    """
    raise NotImplementedError  # a specification: plugins implement it


# -- pipeline decisions ----------------------------------------------------------------------


@hookspec(firstresult=True)
def hub_normalize(record: SourceRecord, mappings: MappingSet) -> Normalized | None:
    """Turn a connector's raw record into what it means to the hub.

    Stops at first non-None result. The result is an :class:`~hub.schema.Inquiry` (someone
    asked for something), an :class:`~hub.schema.OutcomeReport` (what became of a lead the hub
    knows) or an :class:`~hub.schema.AccountRecord` (a company a CRM knows). The built-in
    implementation applies the declarative mapping of ``mappings/<connector>.toml`` (see
    docs/mappings.md).

    :param record: the :class:`hub.schema.SourceRecord` as committed to the inbox
        (``connector``, ``stream``, ``external_id``, ``version``, ``payload``...).
    :param mappings: every loaded mapping (a :class:`hub.mapping.MappingSet`).
    :raises hub.errors.InvalidRecord: the record cannot be understood; it is quarantined with the
        message as the reason (``leadhub quarantine list``), and can be replayed after the
        mapping is fixed.
    :returns: the normalized record, or ``None`` to let another plugin decide.
    """


@hookspec(firstresult=True)
def hub_match_account(inquiry: Inquiry, lookup: AccountLookup) -> AccountMatch | None:
    """Decide which account an inquiry belongs to.

    Stops at first non-None result. The built-in matcher finds candidates through indexed keys
    (``lookup.candidates``) and scores them.

    :param inquiry: the normalized :class:`hub.schema.Inquiry`. Its ``company`` fields decide the
        account; the contact's e-mail domain is only one key (partner reps submit with their
        own address).
    :param lookup: a :class:`hub.decisions.AccountLookup`; ``lookup.candidates(keys, limit=50)``
        returns the accounts sharing any of the match keys (``MatchKey``), through indexes, never
        a scan of all accounts.
    :returns: an :class:`~hub.decisions.AccountMatch`: matched (with ``account_id``), new (with
        ``new_account_name`` and ``new_account_domain``) or uncertain (with a reason; a person
        reviews it); or ``None`` to let another plugin decide.
    """


@hookspec(firstresult=True)
def hub_contact_key(contact: Contact) -> str | None:
    """The key under which two contacts are the same person.

    Stops at first non-None result. Within an account, an inquiry's contact joins the stored
    contact with the same key instead of creating another one, and a lead counts a person once
    per key. The built-in implementation (``plugins.matching``, ``trylast``) returns the
    canonical e-mail (case; dots and ``+tags`` for Gmail, ``+tags`` for
    Outlook/iCloud/Fastmail/Proton), so ``John.Smith+news@GoogleMail.com`` and
    ``johnsmith@gmail.com`` are one contact (see the Contacts section of docs/matching.md).

    Keys are stored (``contacts.match_key``): after installing a plugin that changes the policy,
    run ``leadhub contacts rekey`` so stored contacts are found by the new keys; contacts of one
    account that now share a key are listed as candidate duplicates.

    :param contact: the inquiry's :class:`~hub.schema.Contact` (or a stored one, when
        ``leadhub contacts rekey`` recomputes the keys).
    :returns: the key (cut to 320 characters), or ``None`` to let another plugin decide. When no
        plugin returns a key, the hub uses the lower-cased e-mail; a contact without one has no
        key: it is never joined by key, only compared as a candidate duplicate
        (``hub_contact_duplicate``).
    """


@hookspec(firstresult=True)
def hub_contact_duplicate(contact: ContactRecord, other: ContactRecord) -> DuplicateScore | None:
    """How likely a new contact and a stored one (with another key) are the same person.

    Stops at first non-None result. Called when the engine creates a contact, for the stored
    contacts found through indexes only: the same account's contacts with the same normalised
    name, and contacts of any account with the same phone, at most 20 per key; never for an
    account's contacts at large. A pair whose score ``is_candidate`` is recorded as a candidate
    duplicate and audited; a person merges it or keeps it apart
    (``leadhub contacts duplicates``). The engine never merges on a score. The built-in
    implementation is ``plugins.matching``'s ``contact_duplicate_confidence``.

    :param contact: the :class:`~hub.decisions.ContactRecord` just created (``id``,
        ``account_id``, ``email``, ``first_name``, ``last_name``, ``phone``).
    :param other: a stored contact it may be (or one created earlier in the same batch).
    :returns: a :class:`~hub.decisions.DuplicateScore` ``(confidence, reason, is_candidate)``,
        or ``None`` to let another plugin decide (nobody deciding: no candidate).
    """


@hookspec
def hub_score(lead: Lead, inquiry: Inquiry, account: Account) -> ScorePart | list[ScorePart] | None:
    """Contribute points to a lead's score.

    Every implementation is called; all parts are summed, and each is written to the audit
    trail with its reason and the name of the plugin that returned it. Whether the sum
    qualifies the lead is :func:`hub_qualify`'s decision.

    :param lead: the :class:`hub.schema.Lead` after the inquiry was merged into it (its
        activities include the new one; score the lead, not only the inquiry, so points are not
        counted twice).
    :param inquiry: the :class:`~hub.schema.Inquiry` that caused this scoring.
    :param account: the lead's :class:`hub.schema.Account`.
    :returns: one :class:`hub.decisions.ScorePart` ``(points, reason)``, a list of them, or
        ``None`` (no opinion). Points may be negative. A part's ``kind`` says which score it
        counts towards: ``"engagement"`` (the default: what the account's people did, summed into
        ``lead.score``) or ``"fit"`` (who they are, summed into ``lead.fit_score``). Anything else
        is a :class:`hub.errors.PluginError` naming the plugin.
    """


@hookspec(firstresult=True)
def hub_grade(lead: Lead, account: Account) -> str | None:
    """The letter (``"A"`` best .. ``"D"``) a lead's fit earns, as Pardot grades a prospect.

    Stops at first non-None result. Called right after :func:`hub_score`, with ``lead.score``
    and ``lead.fit_score`` set. The built-in policy compares the fit with the bands of
    ``[plugins.scoring] grades``.

    :param lead: the scored lead (``fit_score`` is the sum of the ``fit`` parts).
    :param account: the lead's account.
    :returns: a letter of at most two characters, or ``None`` to let another plugin decide
        (nobody deciding: the lead has no grade).
    """


@hookspec(firstresult=True)
def hub_qualify(lead: Lead, account: Account) -> QualifyDecision | None:
    """Decide whether a scored lead goes to sales or stays with marketing (nurture).

    Stops at first non-None result. Called after :func:`hub_score` for a lead in ``new`` or
    ``nurture``; a lead already with sales is not asked again. The built-in policy qualifies a
    lead whose scores reach the bar of its product line (``[plugins.qualify] bars``, by default
    an engagement ``score`` of ``[pipeline] qualify_score``), or whose newest activity is of a
    kind that always qualifies.

    :param lead: the lead with its new ``score``, ``fit_score`` and ``grade`` and all its
        activities and contacts.
    :param account: the lead's account.
    :returns: a :class:`~hub.decisions.QualifyDecision` ``(qualified, reason)``, the reason in
        words a sales manager follows; or ``None`` to let another plugin decide (nobody
        deciding: the lead stays in nurture).
    """


@hookspec(firstresult=True)
def hub_route(context: RoutingContext) -> RouteDecision | None:
    """Choose the owner of a qualified lead.

    Stops at first non-None result. The built-in router (``plugins/routing``, docs/routing.md)
    applies ordered rules, named accounts, partners' channel managers, weighted teams and
    availability, then the strategy named by ``[routing] strategy``.

    :param context: a :class:`hub.decisions.RoutingContext`: the ``lead``, its ``account`` and
        ``parent_account``, the ``owners`` of hub.toml (skip those with ``active = false``), the
        ``[routing]`` ``settings``, every registered strategy by name (``strategies``),
        ``rotate(name, n)``, a counter persisted in the store for round robins that survive
        restarts and are shared by several workers; ``now`` (the engine's clock), the inquiry's
        ``company`` (``None`` when a waiting lead is routed again), and ``ledger``, the store's
        answers as of now (:class:`hub.decisions.RoutingLedger`: who is away, leads assigned
        since a time, open leads held, a partner's channel manager, persisted counters). A
        router that finds nobody appends why, in words, to ``context.notes``.
    :returns: a :class:`hub.decisions.RouteDecision` ``(owner_id, reason, sla=None,
        destinations=(), team=None, rule=None)``: the SLA defaults to ``[routing] sla_minutes``,
        the destinations to the owner's own ``destination`` plus ``[routing] destinations``; the
        engine records the assignment with its team and rule. ``None``: let another plugin
        decide; if none does, the lead waits ``qualified`` with the notes as its reason and the
        SLA watch tries again.
    """


@hookspec(firstresult=True)
def hub_sla_breached(lead: Lead, owners: list[Owner], now: datetime) -> SlaAction | None:
    """A routed lead was not accepted by its due time: escalate, reassign or claw back.

    Stops at first non-None result. Every step is audited.

    :param lead: the routed :class:`~hub.schema.Lead` (its ``owner_id`` and ``sla_due_at``).
    :param owners: every configured :class:`~hub.decisions.Owner`.
    :param now: the current time, timezone-aware UTC.
    :returns: a :class:`hub.decisions.SlaAction` ``(kind, reason, owner_id=None, due_at=None)``:
        ``escalate`` (to ``owner_id``, e.g. a manager) or ``reassign`` (to the next
        ``owner_id``), each with the new ``due_at``, or ``claw_back`` (back to nurture); or
        ``None`` to let another plugin decide. The built-in policy's ``due_at`` is ``now`` plus
        ``[routing] sla_minutes``.
    """


# -- events ----------------------------------------------------------------------------------


@hookspec
def hub_lead_routed(lead: Lead, decision: RouteDecision) -> None:
    """Event: a lead was routed to an owner, after the transaction committed.

    For notifications and chat messages.

    :param lead: the routed :class:`~hub.schema.Lead`.
    :param decision: the :class:`~hub.decisions.RouteDecision` that routed it.
    :returns: nothing; the return value is ignored.
    """


@hookspec
def hub_outcome(lead: Lead, outcome: Outcome) -> None:
    """Event: a lead's outcome changed (accepted, converted, won, lost, rejected).

    :param lead: the :class:`~hub.schema.Lead` after the change.
    :param outcome: the :class:`hub.schema.Outcome` (``status``, ``reason``, ``amount``,
        ``at``, ``reported_by``).
    :returns: nothing; the return value is ignored.
    """


@hookspec
def hub_record_quarantined(connector: str, stream: str, reason: str, details: dict[str, Any]) -> None:
    """Event: an inbound record was quarantined.

    :param connector: the name of the connector instance the record came from.
    :param stream: its stream (``Lead``, ``form:demo``, ``csv``...).
    :param reason: why, in words a person can act on.
    :param details: extra facts (inbox id, field, line number), a plain dict.
    :returns: nothing; the return value is ignored.
    """
