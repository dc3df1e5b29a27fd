"""``leadhub forms ...``: list the configured web forms and print a form's embed snippet.

Added by the webform plugin's ``hub_cli_commands`` as ``app.add_typer(forms_app, name="forms")``.
Reads hub.toml only; what the commands need loads inside them, so ``leadhub --help`` stays quick.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

if TYPE_CHECKING:
    from connectors.webform.connector import FormSettings
    from hub.api import HubConfig

forms_app = typer.Typer(help="Web forms: list them, print the HTML to embed one.", no_args_is_help=True)
console = Console()
err = Console(stderr=True)
ConfigOpt = Annotated[Path | None, typer.Option("--config", "-c",
                                               help="hub.toml to use (default: ./hub.toml or $LEADHUB_CONFIG)")]


def _forms(path: Path | None) -> tuple[HubConfig, dict[str, tuple[str, FormSettings]]]:
    from pydantic import ValidationError

    from connectors.webform.connector import WebformSettings
    from hub.api import ConfigError, load_config

    try:
        config = load_config(path)
    except ConfigError as exc:
        err.print(f"[red]configuration error:[/red] {exc}")
        raise typer.Exit(2) from None
    out: dict[str, tuple[str, FormSettings]] = {}
    for instance, spec in config.connectors.items():
        if spec.type != "webform":
            continue
        try:
            settings = WebformSettings(**spec.settings_dict())
        except ValidationError as exc:
            err.print(f"[red]connectors.{instance} is invalid:[/red] {exc.errors()[0]['msg']}")
            raise typer.Exit(2) from None
        for form_id, form in settings.forms.items():
            out[form_id] = (instance, form)
    return config, out


@forms_app.command("list")
def list_(config: ConfigOpt = None,
          json_out: Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")] = False) -> None:
    """List the forms declared in hub.toml."""
    from rich.table import Table

    _, forms = _forms(config)
    rows = [{"form": f, "connector": i, "title": s.title, "activity_kind": s.activity_kind,
             "product_line": s.product_line, "fields": s.fields, "redirect_url": s.redirect_url,
             "signed": s.secret is not None} for f, (i, s) in sorted(forms.items())]
    if json_out:
        sys.stdout.write(json.dumps(rows, indent=2) + "\n")
        return
    if not rows:
        console.print("no forms; declare one under [connectors.webform.forms.<id>] in hub.toml")
        return
    table = Table("form", "title", "activity", "product", "fields", "redirect")
    for r in rows:
        table.add_row(str(r["form"]), str(r["title"] or ""), str(r["activity_kind"] or ""),
                      str(r["product_line"] or ""), _joined(r["fields"]), str(r["redirect_url"] or ""))
    console.print(table)


@forms_app.command("snippet")
def snippet(
    form: Annotated[str, typer.Argument(help="The form id.")],
    base_url: Annotated[str | None, typer.Option(help="Public URL of the daemon (default from [server]).")] = None,
    config: ConfigOpt = None,
) -> None:
    """Print copy-paste HTML for FORM (works without JavaScript)."""
    from connectors.webform.snippet import snippet as render_snippet

    cfg, forms = _forms(config)
    if form not in forms:
        err.print(f"no form {form!r}; known: {', '.join(sorted(forms)) or 'none'} (see `leadhub forms list`)")
        raise typer.Exit(1)
    url = base_url or f"http://{cfg.server.host}:{cfg.server.port}"
    sys.stdout.write(render_snippet(form, forms[form][1], url))


def _joined(fields: object) -> str:
    return ", ".join(str(f) for f in fields) if isinstance(fields, list) else ""
