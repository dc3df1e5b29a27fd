"""``leadhub import FILE --source NAME``: a spreadsheet export into the inbox, then the pipeline.

Added to the command line by the file connector's ``hub_cli_commands``. Heavy modules (the hub,
the pipeline) load inside the command, so ``leadhub --help`` stays quick.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

console = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)


def import_(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True, help="CSV or JSON Lines file.")],
    source: Annotated[str, typer.Option(help="Where these leads come from, e.g. tradeshow-2026.")],
    stream: Annotated[str | None,
                      typer.Option(help="Mapping stream of the file mapping (default: by extension).")] = None,
    process: Annotated[bool, typer.Option(help="Process the imported records right away.")] = True,
    progress_bar: Annotated[bool | None, typer.Option(
        "--progress/--no-progress", help="Show a progress bar (default: when stderr is a terminal).")] = None,
    config: Annotated[Path | None, typer.Option(
        "--config", "-c", help="hub.toml to use (default: ./hub.toml or $LEADHUB_CONFIG)")] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")] = False,
) -> None:
    """Import leads from a spreadsheet export; bad rows are quarantined with their line number."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from connectors.file.reader import import_file
    from hub.api import ConfigError, HubError, build_hub, load_config, settle_start_up_memory

    try:
        hub = build_hub(load_config(config))
    except ConfigError as exc:
        err.print(f"[red]configuration error:[/red] {exc}")
        raise typer.Exit(2) from None
    except HubError as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from None
    settle_start_up_memory()
    try:
        with file.open("rb") as fh:
            total = max(sum(1 for _ in fh) - (0 if file.suffix.lower() in (".jsonl", ".ndjson") else 1), 0)
        show = err.is_terminal and not json_out if progress_bar is None else progress_bar
        with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                      console=err, disable=not show) as progress:
            task = progress.add_task(f"importing {file.name}", total=total)
            report = import_file(file, hub.intake, source=source, stream=stream,
                                 progress=lambda n: progress.update(task, completed=n))
            processed = None
            if process:
                ptask = progress.add_task("processing", total=report.new)
                processed = hub.process_pending(progress=lambda n: progress.update(ptask, completed=n))
                hub.deliverer.deliver_due()
    except ValueError as exc:
        err.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from None
    finally:
        hub.close()
    data = {"rows": report.rows, "new": report.new, "quarantined": report.quarantined,
            "processed": vars(processed) if processed else None}
    if json_out:
        sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")
        return
    console.print(f"{file.name}: {report.rows} row(s), {report.new} new, "
                  f"{report.quarantined} unreadable row(s) quarantined")
    if processed:
        console.print(f"processed {processed.processed}: {processed.leads_created} new lead(s), "
                      f"{processed.leads_merged} merged, {processed.routed} routed, "
                      f"{processed.quarantined} quarantined")
    if report.quarantined or (processed and processed.quarantined):
        console.print("see why with [bold]leadhub quarantine list[/bold]")
