"""``leadhub owners`` (who takes leads, time away) and ``leadhub routing`` (try before you change it)."""

from __future__ import annotations

import getpass
import json
import re
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any

import typer

owners_app = typer.Typer(help="Owners: who takes leads, and their time away.", no_args_is_help=True)
routing_app = typer.Typer(help="Try routing before changing it: one lead now, or history replayed.",
                          no_args_is_help=True)

ConfigOpt = Annotated[Path | None, typer.Option("--config", "-c", help="hub.toml to use")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]
ByOpt = Annotated[str | None, typer.Option(help="Who records it (default: your user name).")]


@owners_app.command("list")
def owners_list(config: ConfigOpt = None, json_out: JsonOpt = False) -> None:
    """Every owner: teams and weights, time zone, away now, open leads, leads today."""
    from rich.table import Table

    from hub.cli.main import _hub, _print_json, console
    from hub.review.routing import owner_rows

    hub = _hub(config)
    try:
        rows = owner_rows(hub)
    finally:
        hub.close()
    if json_out:
        _print_json(rows)
        return
    table = Table("id", "name", "teams", "time zone", "away", "open", "today")
    for r in rows:
        table.add_row(r["id"], r["name"] + ("" if r["active"] else " (inactive)"), r["teams"], r["timezone"],
                      r["away"] or "-", str(r["open_leads"]), str(r["assigned_today"]))
    console.print(table)


def _act(config: Path | None, act: Any) -> None:
    from hub.cli.main import _hub, console, err

    hub = _hub(config)
    try:
        console.print(act(hub), markup=False)
    except (LookupError, ValueError) as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(1) from None
    finally:
        hub.close()


@owners_app.command("sync")
def owners_sync(config: ConfigOpt = None, json_out: JsonOpt = False) -> None:
    """Fill owners' crm_ids from the CRMs' users (Salesforce Users, HubSpot owners) by e-mail.

    An id hub.toml sets is kept; the others are stored and used from the daemon's next start.
    """
    from hub.cli.main import _hub, _print_json, console, err
    from hub.errors import ConnectorError
    from hub.owners import sync_owner_crm_ids

    hub = _hub(config)
    try:
        report = sync_owner_crm_ids(hub)
    except ConnectorError as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(1) from None
    finally:
        hub.close()
    if json_out:
        _print_json({"connectors": report.connectors,
                     "filled": [{"owner": o, "connector": c, "crm_id": i} for o, c, i in report.filled],
                     "kept": [{"owner": o, "connector": c, "hub_toml": h, "crm": i} for o, c, h, i in report.kept],
                     "unknown_emails": report.unknown, "owners_not_found": report.missing})
        return
    if not report.connectors:
        err.print("no configured connector lists CRM users; add a salesforce or hubspot connector to hub.toml")
        raise typer.Exit(1)
    for owner, connector, crm_id in report.filled:
        console.print(f"{owner}: {connector} id {crm_id}")
    for owner, connector, toml_id, crm_id in report.kept:
        if toml_id != crm_id:
            console.print(f"[yellow]{owner}: hub.toml sets {connector} id {toml_id}, the CRM says {crm_id} "
                          "(hub.toml kept; fix hub.toml if it is wrong)[/yellow]")
    for connector, owners in report.missing.items():
        console.print(f"not in {connector} (no user with their e-mail): {', '.join(owners)}")
    for connector, emails in report.unknown.items():
        if emails:
            console.print(f"{connector} users that are no hub owner: {', '.join(emails)} "
                          "(add them to [[owners]] in hub.toml to route to them)")
    console.print(f"{len(report.filled)} id(s) filled from {', '.join(report.connectors)}; "
                  "a running daemon uses them from its next start")


@owners_app.command("away")
def owners_away(
    owner_id: str,
    until: Annotated[str | None, typer.Option(help="Back on this date (2026-03-10, the start of that day in "
                                                  "the owner's time zone) or at this time (2026-03-10T13:00).")] = None,
    from_: Annotated[str | None, typer.Option("--from", help="Away from (default: now).")] = None,
    reason: Annotated[str, typer.Option(help="Why, in words (vacation, sick, offsite).")] = "",
    config: ConfigOpt = None,
    by: ByOpt = None,
) -> None:
    """Mark an owner away: routing skips them until they are back (stored, audited)."""
    from hub.review.routing import parse_when, set_away

    def act(hub: Any) -> str:
        zone = next((o.timezone for o in hub.config.owners if o.id == owner_id), None)
        end = parse_when(until, zone) if until else None
        start = parse_when(from_, zone) if from_ else None
        return set_away(hub, owner_id, end, reason, by or getpass.getuser(), since=start)

    _act(config, act)


@owners_app.command("back")
def owners_back(owner_id: str, config: ConfigOpt = None, by: ByOpt = None) -> None:
    """End an owner's time away now; waiting leads reach them at the next SLA check."""
    from hub.review.routing import set_back

    _act(config, lambda hub: set_back(hub, owner_id, by or getpass.getuser()))


@routing_app.command("test")
def routing_test(
    lead: Annotated[Path | None, typer.Option("--lead", help="A record as JSON: an inquiry in the hub's schema, "
                                                            "or a source record (connector, stream, payload).")] = None,
    lead_id: Annotated[str | None, typer.Option("--lead-id", help="A stored lead.")] = None,
    config: ConfigOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Who would get this lead now: the rule, team, owner and every reason. Writes nothing."""
    from hub.cli.main import _hub, _print_json, console, err
    from hub.review.routing import route_preview

    if (lead is None) == (lead_id is None):
        err.print("give exactly one of --lead FILE.json or --lead-id ID")
        raise typer.Exit(2)
    hub = _hub(config)
    try:
        record = json.loads(lead.read_text(encoding="utf-8")) if lead is not None else None
        out = route_preview(hub, lead_id=lead_id, record=record)
    except (LookupError, ValueError) as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(1) from None
    finally:
        hub.close()
    if json_out:
        _print_json(out)
        return
    for key in ("lead", "account", "score", "qualified", "status", "rule", "team", "owner", "reason"):
        if out.get(key) is not None:
            console.print(f"{key + ':':<10} {out[key]}", markup=False)


def parse_since(text: str) -> timedelta:
    """``30d``, ``12h``, ``2w`` as a duration."""
    found = re.fullmatch(r"\s*(\d+)\s*([hdw])\s*", text)
    if found is None:
        raise typer.BadParameter(f"{text!r}: use a number and h, d or w (30d, 12h, 2w)")
    n, unit = int(found.group(1)), found.group(2)
    return {"h": timedelta(hours=n), "d": timedelta(days=n), "w": timedelta(weeks=n)}[unit]


@routing_app.command("replay")
def routing_replay(
    config: Annotated[Path, typer.Option("--config", "-c", help="The hub.toml to try (its database is replayed).")],
    since: Annotated[str, typer.Option(help="How far back: 30d, 12h, 2w.")] = "30d",
    json_out: JsonOpt = False,
    limit: Annotated[int, typer.Option(help="Changed leads to print (all with --json).")] = 50,
) -> None:
    """Replay the leads of the period, in time order, through the configuration's qualification
    and routing; print what would change. Writes nothing."""
    from hub.cli.main import _print_json, console
    from hub.review.routing import replay
    from hub.schema import utcnow

    window = parse_since(since)
    hub = _replay_hub(config)
    try:
        result = replay(hub, utcnow() - window)
    finally:
        hub.close()
    if json_out:
        _print_json(result.as_dict())
        return
    console.print(f"{result.leads} leads since {result.since:%Y-%m-%d %H:%M} UTC; "
                  f"{len(result.changed)} would go to another owner, {len(result.waited)} would wait", markup=False)
    for c in result.changed[:limit]:
        console.print(f"  {c['lead']} {c['account']}: {c['before'] or '(waiting)'} -> {c['after'] or '(waiting)'}"
                      f"  [{c['rule']}]", markup=False)
    if len(result.changed) > limit:
        console.print(f"  ... {len(result.changed) - limit} more (--json for all)")
    data = result.as_dict()
    for title in ("owners", "rules"):
        console.print(f"{title}: before -> after", markup=False)
        for name, counts in data[title].items():
            console.print(f"  {name:<24} {counts['before']:>6} -> {counts['after']:<6}", markup=False)
    for w in result.waited[:limit]:
        console.print(f"  would wait: {w['lead']} at {w['at'][:16]}: {w['reason']}", markup=False)


def _replay_hub(config: Path) -> Any:
    """The hub to replay with, on its store as it is (no migration: nothing is written)."""
    from hub.cli.main import _config, err
    from hub.errors import HubError
    from hub.runtime import build_hub

    try:
        return build_hub(_config(config), migrate=False)
    except HubError as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from None
