"""``leadhub contacts``: candidate duplicate contacts, merging and undoing, rekeying."""

from __future__ import annotations

import getpass
from pathlib import Path
from typing import Annotated

import typer

contacts_app = typer.Typer(help="Contacts that may be one person: merge them, keep them apart, undo.",
                           no_args_is_help=True)

ConfigOpt = Annotated[Path | None, typer.Option("--config", "-c", help="hub.toml to use")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]
ByOpt = Annotated[str | None, typer.Option(help="Who decides (default: your user name).")]
NoteOpt = Annotated[str, typer.Option(help="Why, for the audit trail.")]


@contacts_app.command("duplicates")
def duplicates(
    config: ConfigOpt = None,
    all_: Annotated[bool, typer.Option("--all", help="Decided candidates too (merged, kept apart).")] = False,
    limit: int = 100,
    json_out: JsonOpt = False,
) -> None:
    """Candidate duplicates: a new contact, the contact it may be, the confidence and why."""
    from hub.cli.main import _list_queue, console
    from hub.review import contacts as contact_review

    rows = _list_queue(config, json_out,
                       lambda store, conn: contact_review.duplicates(conn, status=None if all_ else "open",
                                                                     limit=limit),
                       {"id": "id", "contact": "who", "may be": "may_be", "confidence": "confidence",
                        "why": "reason", "status": "status"})
    if rows and not json_out:
        console.print("decide with [bold]leadhub contacts merge KEEP DUPLICATE[/bold] or "
                      "[bold]leadhub contacts keep-apart A B[/bold]")


def _decide(config: Path | None, json_out: bool, decision: str, *args: str, by: str | None, note: str) -> None:
    """Run ``hub.review.contacts.<decision>`` (merge, keep_apart, unmerge) on the configured store."""
    from hub.cli.main import _run_decision
    from hub.review import contacts as contact_review

    act = getattr(contact_review, decision)
    _run_decision(config, json_out, lambda hub: act(hub.store, *args, by=by or getpass.getuser(), note=note))


@contacts_app.command("merge")
def merge(keep: str, duplicate: str, config: ConfigOpt = None, by: ByOpt = None, note: NoteOpt = "",
          json_out: JsonOpt = False) -> None:
    """One person: DUPLICATE's lead links and activities move to KEEP (undo: `contacts unmerge`)."""
    _decide(config, json_out, "merge", keep, duplicate, by=by, note=note)


@contacts_app.command("keep-apart")
def keep_apart(a: str, b: str, config: ConfigOpt = None, by: ByOpt = None, note: NoteOpt = "",
               json_out: JsonOpt = False) -> None:
    """Two people: close their candidate, nothing moves."""
    _decide(config, json_out, "keep_apart", a, b, by=by, note=note)


@contacts_app.command("unmerge")
def unmerge(duplicate: str, config: ConfigOpt = None, by: ByOpt = None, note: NoteOpt = "",
            json_out: JsonOpt = False) -> None:
    """Undo a merge: DUPLICATE gets its lead links and activities back; the candidate reopens."""
    _decide(config, json_out, "unmerge", duplicate, by=by, note=note)


@contacts_app.command("rekey")
def rekey(
    config: ConfigOpt = None,
    batch: Annotated[int, typer.Option(min=1, max=100_000, help="Contacts per transaction.")] = 1000,
    progress_bar: Annotated[bool | None, typer.Option(
        "--progress/--no-progress", help="Show a progress bar (default: when stderr is a terminal).")] = None,
    json_out: JsonOpt = False,
) -> None:
    """Recompute stored contact keys with the plugins in force (after a key policy change)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from hub.cli.main import _hub, _print_json, console, err
    from hub.review import contacts as contact_review

    hub = _hub(config)
    show = err.is_terminal and not json_out if progress_bar is None else progress_bar
    try:
        with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                      console=err, disable=not show) as progress:
            task = progress.add_task("rekeying contacts", total=None)
            report = contact_review.rekey(hub.store, hub.plugins, batch=batch,
                                          progress=lambda n, total: progress.update(task, completed=n, total=total))
    finally:
        hub.close()
    if json_out:
        _print_json(vars(report))
        return
    console.print(f"{report.scanned} contact(s) scanned, {report.changed} rekeyed, "
                  f"{report.candidates} new candidate duplicate(s)")
    if report.candidates:
        console.print("see them with [bold]leadhub contacts duplicates[/bold]")
