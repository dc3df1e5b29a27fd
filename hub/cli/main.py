"""The ``leadhub`` command line (typer + rich). ``--json`` wherever a script would read the output.

The core commands live here (and in :mod:`hub.cli.contacts`, :mod:`hub.cli.matches`); every
plugin adds its own with ``hub_cli_commands`` (the connectors' ``import``, ``forms``,
``partners``, ``referrals``; the sandbox's ``sandbox``), registered when this module loads.
What a command needs (the hub, the engine, the web app) loads inside it, so ``leadhub --help``
and ``leadhub leads show`` start quickly.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import sys
import threading
import tomllib
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Self

import typer
from rich.console import Console

if TYPE_CHECKING:
    from hub.config import HubConfig
    from hub.plugins import HubPlugins
    from hub.runtime import Hub

log = logging.getLogger(__name__)

app = typer.Typer(help="LeadHub: capture, match, qualify, route and deliver sales leads.", no_args_is_help=True,
                  rich_markup_mode=None)
leads_app = typer.Typer(help="Look at leads and why they went where they went.", no_args_is_help=True)
quarantine_app = typer.Typer(help="Records that could not be processed, with the reason.", no_args_is_help=True)
dead_app = typer.Typer(help="Deliveries that failed for good; replay them once the cause is fixed.",
                       no_args_is_help=True)
app.add_typer(leads_app, name="leads")
app.add_typer(quarantine_app, name="quarantine")
app.add_typer(dead_app, name="dead-letters")

# soft_wrap: long lines stay whole when piped into a file or another program.
console = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)

ConfigOpt = Annotated[Path | None, typer.Option("--config", "-c",
                                               help="hub.toml to use (default: ./hub.toml or $LEADHUB_CONFIG)")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]


def _config(path: Path | None) -> HubConfig:
    from hub.config import load_config
    from hub.errors import ConfigError

    try:
        return load_config(path)
    except ConfigError as exc:
        err.print(f"[red]configuration error:[/red] {exc}")
        raise typer.Exit(2) from None


def _hub(path: Path | None) -> Hub:
    return _hub_from(_config(path))


def _hub_from(config: HubConfig) -> Hub:
    from hub.errors import HubError
    from hub.runtime import build_hub

    try:
        return build_hub(config)
    except HubError as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from None


def _print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")


@app.callback()
def _main(verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log more.")] = False) -> None:
    logging.basicConfig(level=logging.DEBUG if verbose else logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("hub").setLevel(logging.DEBUG if verbose else logging.INFO)


# -- init ------------------------------------------------------------------------------------
@app.command()
def init(
    path: Annotated[Path, typer.Argument(help="Where to write the starter file.")] = Path("hub.toml"),
    force: Annotated[bool, typer.Option(help="Overwrite an existing file.")] = False,
) -> None:
    """Write a starter hub.toml (SQLite, the sandbox CRMs, a JSONL destination, two owners)."""
    if path.exists() and not force:
        err.print(f"{path} exists; use --force to overwrite it")
        raise typer.Exit(1)
    from hub.cli.starter import STARTER_TOML

    path.write_text(STARTER_TOML, encoding="utf-8")
    console.print(f"wrote {path}; next: [bold]leadhub check[/bold], then [bold]leadhub run[/bold]")


# -- run / sync ------------------------------------------------------------------------------
@app.command()
def run(
    config: ConfigOpt = None,
    host: Annotated[str | None, typer.Option(help="Listen address (default from [server]).")] = None,
    port: Annotated[int | None, typer.Option(help="Listen port (default from [server]).")] = None,
    with_sandbox: Annotated[bool, typer.Option("--with-sandbox",
                                               help="Start the sandbox CRMs first (demo / make run).")] = False,
    sandbox_port: Annotated[int, typer.Option(help="Port of the sandbox CRMs (with --with-sandbox).")] = 8765,
) -> None:
    """Run the daemon: web app (forms, partner API, /healthz, /metrics) plus the engine's workers.

    SIGTERM or Ctrl-C stops intake, lets the workers finish the batch in hand, then exits 0.
    """
    import uvicorn

    from hub.runtime import settle_start_up_memory
    from hub.server.app import create_app

    cfg = _config(config)
    stop_signal = _StopSignal()
    with ExitStack() as running:  # the sandbox, when there is one, stops after the hub
        if with_sandbox:
            _start_sandbox(cfg, sandbox_port, running)
        hub = _hub_from(cfg)
        settle_start_up_memory()
        server = cfg.server
        listen_host, listen_port = host or server.host, server.port if port is None else port
        try:
            console.print(f"LeadHub on http://{listen_host}:{listen_port} (database {cfg.safe_database_url}; "
                          "Ctrl-C or SIGTERM to stop)")
            with stop_signal:
                uvicorn.run(create_app(hub), host=listen_host, port=listen_port, log_level="info",
                            timeout_graceful_shutdown=20)
        finally:
            hub.close()
    if stop_signal.received:
        console.print(f"stopped on {stop_signal.received}")


def _start_sandbox(cfg: HubConfig, port: int, running: ExitStack) -> None:
    """Start the sandbox CRMs a plugin serves (``hub_sandbox``) and point connectors at it."""
    from hub.errors import HubError

    plugins = _plugins_of(cfg)
    serving = plugins.sandbox(port)
    if serving is None:
        err.print("[red]error:[/red] no sandbox is installed (the sandbox plugin did not load; see "
                  "`leadhub plugins`); run without --with-sandbox")
        raise typer.Exit(2)
    try:
        url: str = running.enter_context(serving)
    except HubError as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from None
    for name in cfg.use_sandbox(url, connector_types=plugins.connector_types()):
        console.print(f"connector {name} -> sandbox")
    console.print(f"sandbox CRMs at {url} (control API: {url}/_sandbox/)")


def _plugins_of(cfg: HubConfig) -> HubPlugins:
    from hub.plugins import load_plugins

    return load_plugins([cfg.resolve_path(d) for d in cfg.plugin_dirs])


class _StopSignal:
    """Makes SIGTERM/SIGINT end ``run`` cleanly (exit 0, hub closed, sandbox stopped).

    uvicorn shuts down gracefully on these signals and then re-raises the signal to the handler
    that was installed before it; with the default handler, SIGTERM would kill the process
    before the ``finally`` blocks close the hub and stop the sandbox. This handler only notes it.
    """

    def __init__(self) -> None:
        self.received: str | None = None
        self._saved: dict[int, Any] = {}

    def _note(self, signum: int, _frame: Any) -> None:
        self.received = signal.Signals(signum).name

    def __enter__(self) -> Self:
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGTERM, signal.SIGINT):
                self._saved[sig] = signal.signal(sig, self._note)
        return self

    def __exit__(self, *exc: object) -> None:
        for sig, handler in self._saved.items():
            signal.signal(sig, handler)
        self._saved.clear()


@app.command()
def sync(
    config: ConfigOpt = None,
    once: Annotated[bool, typer.Option("--once", help="Pull, process and deliver what is pending, then exit.")] = True,
    json_out: JsonOpt = False,
) -> None:
    """Pull, process and deliver everything pending, then exit (non-zero if anything dead-lettered)."""
    from hub.runtime import settle_start_up_memory

    hub = _hub(config)
    settle_start_up_memory()
    try:
        report = hub.sync_once()
        with hub.store.engine.connect() as conn:
            counts = hub.store.counts(conn)
    finally:
        hub.close()
    data = {
        "pulled": {k: vars(v) for k, v in report.pulled.items()},
        "processed": vars(report.processed),
        "delivered": vars(report.delivered),
        "errors": report.errors,
        "backlog": counts,
    }
    if json_out:
        _print_json(data)
    else:
        p, d = report.processed, report.delivered
        console.print(f"processed {p.processed} record(s): {p.leads_created} new lead(s), {p.leads_merged} merged, "
                      f"{p.routed} routed, {p.outcomes} outcome(s), {p.quarantined} quarantined")
        console.print(f"delivered {d.sent}, retrying {d.retried}, dead-lettered {d.dead} ({d.calls} call(s))")
        for e in report.errors:
            err.print(f"[red]{e}[/red]")
    if report.delivered.dead or report.errors:
        raise typer.Exit(1)


# -- status ----------------------------------------------------------------------------------
@app.command()
def status(config: ConfigOpt = None, json_out: JsonOpt = False) -> None:
    """Connectors, cursors, backlog, quarantine and dead letters at a glance."""
    from rich.table import Table

    hub = _hub(config)
    try:
        with hub.store.engine.connect() as conn:
            counts = hub.store.counts(conn)
            cursors = hub.store.all_cursors(conn)
            outbox = hub.store.outbox_counts(conn)
    finally:
        hub.close()
    conns: list[dict[str, Any]] = [{"name": n, "type": c.name, "capabilities": sorted(c.capabilities)}
                                   for n, c in hub.connectors.items()]
    data = {"database": hub.config.safe_database_url, "connectors": conns, "cursors": cursors, "backlog": counts,
            "outbox": [{"destination": d, "status": s, "count": n} for (d, s), n in sorted(outbox.items())]}
    if json_out:
        _print_json(data)
        return
    console.print(f"database {data['database']}")
    t = Table(title="connectors")
    for col in ("name", "type", "capabilities"):
        t.add_column(col)
    for c in conns:
        t.add_row(c["name"], c["type"], ", ".join(c["capabilities"]))
    console.print(t)
    if cursors:
        t = Table(title="cursors")
        for col in ("connector", "stream", "value", "updated"):
            t.add_column(col)
        for c in cursors:
            t.add_row(str(c["connector"]), str(c["stream"]), json.dumps(c["value"])[:60], str(c["updated_at"])[:19])
        console.print(t)
    t = Table(title="backlog")
    t.add_column("queue")
    t.add_column("rows", justify="right")
    for k, v in counts.items():
        t.add_row(k, str(v))
    console.print(t)


# -- leads -----------------------------------------------------------------------------------
@leads_app.command("list")
def leads_list(
    config: ConfigOpt = None,
    status_: Annotated[str | None, typer.Option("--status", help="Only leads in this status.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=10_000)] = 50,
    json_out: JsonOpt = False,
) -> None:
    """The newest leads."""
    from rich.table import Table

    hub = _hub(config)
    try:
        with hub.store.engine.connect() as conn:
            rows = hub.store.leads_page(conn, status=status_, limit=limit)
    finally:
        hub.close()
    if json_out:
        _print_json(rows)
        return
    t = Table()
    for col in ("id", "account", "product", "status", "score", "owner", "created"):
        t.add_column(col)
    for r in rows:
        t.add_row(r["id"], r["account_name"], r["product_line"], r["status"], str(r["score"]), r["owner_id"] or "-",
                  str(r["created_at"])[:19])
    console.print(t)


@leads_app.command("show")
def leads_show(lead_id: str, config: ConfigOpt = None, json_out: JsonOpt = False) -> None:
    """One lead, why it matched its account, scored what it scored and went to its owner."""
    from hub.review.explain import explain, lead_details

    hub = _hub(config)
    try:
        data = lead_details(hub, lead_id)
    finally:
        hub.close()
    if data is None:
        err.print(f"no lead {lead_id}; list leads with `leadhub leads list`")
        raise typer.Exit(1)
    data["why"] = explain(data["audit"])
    if json_out:
        _print_json(data)
        return
    lead, account = data["lead"], data["account"] or {}
    console.print(f"[bold]{lead['id']}[/bold]  {account.get('name', '?')} / {lead['product_line']}")
    console.print(f"status {lead['status']}, score {lead['score']}, fit {lead['fit_score']} "
                  f"(grade {lead['grade'] or '-'}), owner {lead['owner_id'] or '-'}, "
                  f"SLA due {lead['sla_due_at'] or '-'}")
    for c in lead["contacts"]:
        name = " ".join(x for x in (c.get("first_name"), c.get("last_name")) if x)
        console.print(f"  contact: {name or '-'} <{c.get('email') or '-'}>")
    for a in lead["activities"]:
        console.print(f"  activity {a.get('id', '?')}: {a['kind']} via {a['source']} at {str(a['at'])[:19]}")
    for d in data["duplicates"]:
        console.print(f"  candidate duplicate: {d['contact']['name']} ({d['contact']['id']}) may be "
                      f"{d['other']['name']} ({d['other']['id']}): {d['reason']} (confidence {d['confidence']:.2f}); "
                      f"`leadhub contacts merge {d['other']['id']} {d['contact']['id']}` or `... keep-apart`",
                      markup=False)
    console.print("[bold]why[/bold]")
    if not data["why"]:
        console.print("  no decision recorded yet (the lead's records may still be pending)")
    for label, reason in data["why"].items():
        console.print(f"  {label + ':':<9} {reason}", markup=False)
    console.print("[bold]history[/bold]")
    for e in data["audit"]:
        console.print(f"  {str(e['at'])[:19]}  {e['action']:<8} {e['reason']}", markup=False)
    for o in data["outcomes"]:
        console.print(f"  outcome: {o.get('status')} {o.get('reason') or ''}", markup=False)


@leads_app.command("split")
def leads_split(
    lead_id: str,
    activity: Annotated[int, typer.Option("--activity", help="The activity to move (ids: `leads show ID`).")],
    account_name: Annotated[str | None,
                            typer.Option(help="The company it belongs to (default: from the record).")] = None,
    by: Annotated[str | None, typer.Option(help="Who decides (default: your user name).")] = None,
    config: ConfigOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Undo a merge: move one activity and its person to a new lead on a new account."""
    import getpass

    from hub.review.leads import split_activity

    _run_decision(config, json_out,
                  lambda hub: split_activity(hub, lead_id, activity, by=by or getpass.getuser(),
                                             account_name=account_name))


def _run_decision(config: Path | None, json_out: bool, act: Callable[[Hub], Any]) -> None:
    """Run a curation decision (a split, a contact merge...): its message, or its fields as JSON.

    A refused decision (unknown id, nothing to undo) is one red line and exit status 1.
    """
    hub = _hub(config)
    try:
        result = act(hub)
    except (LookupError, ValueError) as exc:
        err.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from None
    finally:
        hub.close()
    if json_out:
        _print_json(vars(result))
    else:
        console.print(result.message, markup=False)


@leads_app.command("export")
def leads_export(
    config: ConfigOpt = None,
    fmt: Annotated[str, typer.Option("--format", help="Only jsonl is supported.")] = "jsonl",
    output: Annotated[Path | None, typer.Option("--output", "-o", help="File to write (default: stdout).")] = None,
) -> None:
    """Every lead as JSON Lines (streamed)."""
    if fmt != "jsonl":
        err.print("only --format jsonl is supported")
        raise typer.Exit(2)
    hub = _hub(config)
    out = output.open("w", encoding="utf-8") if output else sys.stdout
    n = 0
    try:
        with hub.store.engine.connect() as conn:
            for ids in hub.store.iter_lead_ids(conn):
                for lead_id in ids:
                    lead = hub.store.get_lead(conn, lead_id)
                    if lead is not None:
                        out.write(lead.model_dump_json() + "\n")
                        n += 1
    finally:
        hub.close()
        if output:
            out.close()
    if output:
        console.print(f"wrote {n} lead(s) to {output}")


# -- quarantine and dead letters -------------------------------------------------------------
def _list_queue(config: Path | None, json_out: bool, read: Any, columns: dict[str, str]) -> list[dict[str, Any]]:
    """Rows of one of the hub's queues, as JSON or as a table of ``columns`` (title -> row key)."""
    from rich.table import Table

    hub = _hub(config)
    try:
        with hub.store.engine.connect() as conn:
            rows: list[dict[str, Any]] = read(hub.store, conn)
    finally:
        hub.close()
    if json_out:
        _print_json(rows)
        return rows
    table = Table(*columns)
    for r in rows:
        table.add_row(*(str(r[key]) for key in columns.values()))
    console.print(table)
    return rows


@quarantine_app.command("list")
def quarantine_list(config: ConfigOpt = None, limit: int = 100, json_out: JsonOpt = False) -> None:
    """Open quarantine entries with the reason each was kept."""
    rows = _list_queue(config, json_out, lambda store, conn: store.quarantined(conn, limit=limit),
                       {"id": "id", "connector": "connector", "stream": "stream", "where": "source_ref",
                        "reason": "reason"})
    if rows and not json_out:
        console.print("fix the mapping or the source, then [bold]leadhub quarantine replay --all[/bold]")


@quarantine_app.command("replay")
def quarantine_replay(
    ids: Annotated[list[int] | None, typer.Argument(help="Entry ids (see `quarantine list`).")] = None,
    all_: Annotated[bool, typer.Option("--all", help="Replay every open entry.")] = False,
    process: Annotated[bool, typer.Option(help="Process the replayed records right away.")] = True,
    config: ConfigOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Send quarantined records through the pipeline again (after fixing the mapping or source)."""
    if not ids and not all_:
        err.print("name entry ids or use --all")
        raise typer.Exit(2)
    hub = _hub(config)
    try:
        with hub.store.engine.begin() as conn:
            replayed, skipped = hub.store.replay_quarantine(conn, None if all_ else list(ids or []))
        result = hub.process_pending() if process else None
    finally:
        hub.close()
    data = {"replayed": replayed, "not_replayable": skipped, "processed": vars(result) if result else None}
    if json_out:
        _print_json(data)
        return
    console.print(f"replayed {replayed} record(s)")
    if result:
        console.print(f"processed {result.processed}: {result.quarantined} quarantined again")
    if skipped:
        console.print(f"entries {skipped} were unreadable input: fix the file and import it again")


@dead_app.command("list")
def dead_list(config: ConfigOpt = None, limit: int = 100, json_out: JsonOpt = False) -> None:
    """Deliveries that failed for good, with the destination's error."""
    _list_queue(config, json_out, lambda store, conn: store.dead_letters(conn, limit=limit),
                {"id": "id", "destination": "destination", "kind": "kind", "lead": "lead_id",
                 "attempts": "attempts", "error": "error"})


@dead_app.command("replay")
def dead_replay(
    ids: Annotated[list[int] | None, typer.Argument(help="Dead letter ids (see `dead-letters list`).")] = None,
    all_: Annotated[bool, typer.Option("--all", help="Replay every open dead letter.")] = False,
    deliver: Annotated[bool, typer.Option(help="Deliver right away.")] = True,
    config: ConfigOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Put dead-lettered deliveries back in the outbox."""
    if not ids and not all_:
        err.print("name dead letter ids or use --all")
        raise typer.Exit(2)
    hub = _hub(config)
    try:
        with hub.store.engine.begin() as conn:
            n = hub.store.replay_dead_letters(conn, None if all_ else list(ids or []))
        result = hub.deliverer.deliver_due() if deliver else None
    finally:
        hub.close()
    if json_out:
        _print_json({"replayed": n, "delivery": vars(result) if result else None})
        return
    console.print(f"replayed {n} delivery(ies)" + (f"; sent {result.sent}, dead again {result.dead}" if result else ""))


# -- plugins / check -------------------------------------------------------------------------
@app.command()
def plugins(config: ConfigOpt = None) -> None:
    """Every loaded plugin as JSON: name, version, hooks (and plugins that failed to load)."""
    pm = _plugins_of(_config(config))
    _print_json({"plugins": pm.describe(), "problems": [vars(p) for p in pm.problems]})


@app.command()
def check(config: ConfigOpt = None, json_out: JsonOpt = False) -> None:
    """Validate hub.toml and the mappings, then test every connector's connection."""
    hub = _hub(config)
    results = []
    try:
        for name, connector in hub.connectors.items():
            try:
                rep = connector.check()
                results.append({"connector": name, "ok": rep.ok, "message": rep.message})
            except Exception as exc:  # noqa: BLE001 - reported per connector
                results.append({"connector": name, "ok": False, "message": f"{type(exc).__name__}: {exc}"})
    finally:
        hub.close()
    problems = [vars(p) for p in hub.plugins.problems]
    ok = all(r["ok"] for r in results)
    if json_out:
        _print_json({"config": "ok", "mappings": hub.mappings.connectors(), "connectors": results,
                     "plugin_problems": problems, "ok": ok})
    else:
        console.print("[green]configuration and mappings are valid[/green]")
        for r in results:
            mark = "[green]ok[/green]" if r["ok"] else "[red]FAIL[/red]"
            console.print(f"  {mark} {r['connector']}: {r['message']}")
        for p in problems:
            console.print(f"  [yellow]plugin {p['name']} skipped[/yellow]: {p['error']}")
    if not ok:
        raise typer.Exit(1)


def add_plugin_commands(app: typer.Typer, plugins: HubPlugins) -> None:
    """Let every plugin add its commands (``hub_cli_commands``); a failing plugin is skipped."""
    try:
        plugins.cli_commands(app)
    except Exception as exc:  # noqa: BLE001 - the core commands still work
        log.warning("a plugin failed to add its commands: %s: %s", type(exc).__name__, exc)


def cli_plugin_dirs(argv: Sequence[str]) -> list[Path]:
    """``plugin_dirs`` of the hub.toml this command line will read (``--config``, ``$LEADHUB_CONFIG``
    or ./hub.toml), read before the arguments are parsed; none when there is no readable file."""
    path: Path | None = None
    for i, arg in enumerate(argv):
        if arg in ("--config", "-c") and i + 1 < len(argv):
            path = Path(argv[i + 1])
        elif arg.startswith("--config="):
            path = Path(arg.partition("=")[2])
    if path is None:
        env = os.environ.get("LEADHUB_CONFIG")
        path = Path(env) if env else Path("hub.toml")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return []  # the command itself reports an unreadable file
    table = data.get("hub")
    dirs = (table if isinstance(table, dict) else data).get("plugin_dirs", [])
    folder = path.resolve().parent
    return [folder / d for d in dirs if isinstance(d, str)] if isinstance(dirs, list) else []


def _register_commands() -> None:
    """The core's own groups, then every plugin's commands (plugin folders from the config)."""
    from hub.cli.contacts import contacts_app
    from hub.cli.matches import matches_app
    from hub.cli.routing import owners_app, routing_app
    from hub.plugins import load_plugins

    app.add_typer(matches_app, name="matches", help="Uncertain account matches waiting for a person.")
    app.add_typer(contacts_app, name="contacts", help="Contacts that may be one person: merge, keep apart, undo.")
    app.add_typer(owners_app, name="owners", help="Owners: who takes leads, and their time away.")
    app.add_typer(routing_app, name="routing", help="Try routing before changing it: one lead, or history replayed.")
    add_plugin_commands(app, load_plugins(cli_plugin_dirs(sys.argv[1:])))


_register_commands()


def main() -> None:
    app()
