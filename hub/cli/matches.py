"""``leadhub matches``: the review queue of uncertain account matches."""

from __future__ import annotations

import getpass
import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

matches_app = typer.Typer(help="Uncertain account matches waiting for a person.", no_args_is_help=True)
console = Console()
err = Console(stderr=True)

ConfigOpt = Annotated[Path | None, typer.Option("--config", "-c", help="hub.toml to use")]


def _store(config: Path | None):  # type: ignore[no-untyped-def]
    from hub.cli.main import _hub

    return _hub(config)


@matches_app.command("review")
def review(
    config: ConfigOpt = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")] = False,
    limit: int = 100,
) -> None:
    """List open reviews: the provisional account, the candidate it may be, and why."""
    from rich.table import Table

    from hub.review import leads as lead_review

    hub = _store(config)
    try:
        rows = lead_review.open_reviews(hub.store, limit)
    finally:
        hub.close()
    if json_out:
        sys.stdout.write(json.dumps(rows, default=str, indent=2) + "\n")
        return
    if not rows:
        console.print("no matches waiting for review")
        return
    table = Table()
    for col in ("id", "lead", "new account", "may be", "score", "why"):
        table.add_column(col)
    for r in rows:
        table.add_row(str(r["id"]), r["lead_id"], f"{r['account_name']} ({r['account_domain'] or '-'})",
                      f"{r['candidate_name']} ({r['candidate_domain'] or '-'})", f"{r['score']:.2f}", r["reason"])
    console.print(table)
    console.print("decide with [bold]leadhub matches accept ID[/bold] or [bold]leadhub matches reject ID[/bold]")


def _decide(review_id: int, accept: bool, config: Path | None, by: str | None, note: str) -> None:
    from hub.review import leads as lead_review

    hub = _store(config)
    try:
        decision = lead_review.decide(hub.store, review_id, accept=accept, by=by or getpass.getuser(), note=note)
    except (LookupError, ValueError) as exc:
        err.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from None
    finally:
        hub.close()
    console.print(decision.message)


@matches_app.command("accept")
def accept(
    review_id: int,
    config: ConfigOpt = None,
    by: Annotated[str | None, typer.Option(help="Who decides (default: your user name).")] = None,
    note: Annotated[str, typer.Option(help="Why, for the audit trail.")] = "",
) -> None:
    """The new account IS the candidate: move its leads, contacts and keys over."""
    _decide(review_id, True, config, by, note)


@matches_app.command("reject")
def reject(
    review_id: int,
    config: ConfigOpt = None,
    by: Annotated[str | None, typer.Option(help="Who decides (default: your user name).")] = None,
    note: Annotated[str, typer.Option(help="Why, for the audit trail.")] = "",
) -> None:
    """They are different companies: keep them apart (remembered for this pair)."""
    _decide(review_id, False, config, by, note)
