"""``leadhub partners ...`` and ``leadhub referrals ...``: manage partners, decide on conflicts.

Added by the partner plugin's ``hub_cli_commands`` as ``app.add_typer(partners_app, name="partners")``
and ``app.add_typer(referrals_app, name="referrals")``. Each command opens the configured store only
(no connectors, no sandbox), so it works while the daemon runs. What the commands need loads inside
them, so ``leadhub --help`` stays quick.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console

from connectors.partner import keys
from connectors.partner.urls import check_callback_url

if TYPE_CHECKING:
    from connectors.partner import store as q
    from hub.api import HubConfig, Intake, Store

partners_app = typer.Typer(help="Partners who refer leads: add them, rotate their keys, disable them.",
                           no_args_is_help=True)
referrals_app = typer.Typer(help="Partner referrals: list them, decide on channel conflicts.", no_args_is_help=True)

console = Console()
err = Console(stderr=True)
ConfigOpt = Annotated[Path | None, typer.Option("--config", "-c",
                                               help="hub.toml to use (default: ./hub.toml or $LEADHUB_CONFIG)")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]


@dataclass
class _StoreHub:
    """Just enough of a hub for approvals: the store and an intake (the daemon picks records up)."""

    store: Store
    intake: Intake
    plugins: Any = None
    mappings: Any = None


def _open(path: Path | None) -> tuple[HubConfig, Store]:
    from hub.api import ConfigError, load_config, open_store

    try:
        config = load_config(path)
    except ConfigError as exc:
        err.print(f"[red]configuration error:[/red] {exc}")
        raise typer.Exit(2) from None
    return config, open_store(config.database_url)


def _partner(store: Store, ref: str) -> q.PartnerRow:
    from connectors.partner import store as q

    with store.engine.connect() as conn:
        partner = q.find_partner(conn, ref)
    if partner is None:
        err.print(f"no partner {ref!r}; see `leadhub partners list`")
        raise typer.Exit(1)
    return partner


def _check_owner(config: HubConfig, owner_id: str) -> None:
    """``owner_id`` must be one of hub.toml's ``[[owners]]``, else exit 2 naming the ones there are."""
    known = [o.id for o in config.owners]
    if owner_id not in known:
        err.print(f"--channel-manager: no owner {owner_id!r} in {config.source_path or 'hub.toml'}; "
                  f"configured owners: {', '.join(known) or 'none (add [[owners]] to hub.toml)'}")
        raise typer.Exit(2)


def _out(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")


@partners_app.command("add")
def add(
    name: Annotated[str, typer.Argument(help="The partner's name.")],
    email: Annotated[str, typer.Option("--email", help="Who to contact at the partner.")],
    callback_url: Annotated[str | None,
                            typer.Option("--callback-url", help="Where status changes are POSTed (https).")] = None,
    channel_manager: Annotated[str | None, typer.Option(
        "--channel-manager", help="The owner (an [[owners]] id) who gets this partner's referrals.")] = None,
    config: ConfigOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Add a partner and print its API key (shown once: only a hash is stored)."""
    from connectors.partner import store as q

    if "@" not in email or len(email) > 320:
        err.print("--email must be an e-mail address")
        raise typer.Exit(2)
    if callback_url is not None:
        try:  # the partner API's rule; ops may also point at a receiver on this machine
            check_callback_url(callback_url, allow_loopback=True)
        except ValueError as exc:
            err.print(f"--callback-url: {exc}")
            raise typer.Exit(2) from None
    hub_config, store = _open(config)
    if channel_manager is not None:
        _check_owner(hub_config, channel_manager)
    key = keys.new_key()
    secret = keys.new_callback_secret() if callback_url else None
    with store.engine.begin() as conn:
        partner = q.add_partner(conn, name=name, email=email, key_prefix=keys.prefix_of(key) or "",
                                key_hash=keys.hash_key(key), callback_url=callback_url, callback_secret=secret,
                                channel_manager_id=channel_manager)
    if json_out:
        _out({"id": partner.id, "name": name, "api_key": key, "callback_secret": secret,
              "channel_manager_id": channel_manager})
        return
    console.print(f"added partner {partner.id} ({name})"
                  + (f"; channel manager {channel_manager}" if channel_manager else ""))
    console.print(f"API key (shown once, give it to the partner): {key}", soft_wrap=True)
    if secret:
        console.print(f"callback signing secret (shown once): {secret}", soft_wrap=True)


@partners_app.command("list")
def list_(config: ConfigOpt = None, json_out: JsonOpt = False) -> None:
    """List partners (never their keys)."""
    from rich.table import Table

    from connectors.partner import store as q

    _, store = _open(config)
    with store.engine.connect() as conn:
        rows = q.list_partners(conn)
    data: list[dict[str, Any]] = [
        {"id": p.id, "name": p.name, "email": p.email, "status": p.status, "key_prefix": p.key_prefix,
         "callback_url": p.callback_url, "channel_manager_id": p.channel_manager_id, "created_at": p.created_at}
        for p in rows]
    if json_out:
        _out(data)
        return
    table = Table("id", "name", "email", "status", "key", "callback", "channel manager")
    for p in data:
        table.add_row(p["id"], p["name"], p["email"], p["status"], f"{p['key_prefix']}_…", p["callback_url"] or "",
                      p["channel_manager_id"] or "")
    console.print(table)


@partners_app.command("set-manager")
def set_manager(
    partner: Annotated[str, typer.Argument(help="Partner id or name.")],
    owner: Annotated[str | None, typer.Argument(help="The owner (an [[owners]] id) who gets the referrals.")] = None,
    clear: Annotated[bool, typer.Option("--clear", help="Remove the partner's channel manager.")] = False,
    config: ConfigOpt = None,
) -> None:
    """Set (or --clear) the channel manager who gets the partner's referrals."""
    from connectors.partner import store as q

    if (owner is None) == (not clear):
        err.print("give an OWNER, or --clear to remove the channel manager")
        raise typer.Exit(2)
    hub_config, store = _open(config)
    if owner is not None:
        _check_owner(hub_config, owner)
    row = _partner(store, partner)
    with store.engine.begin() as conn:
        q.set_channel_manager(conn, row.id, owner)
    console.print(f"{row.name} ({row.id}): channel manager {owner}" if owner
                  else f"{row.name} ({row.id}): no channel manager")


@partners_app.command("rotate-key")
def rotate_key(
    partner: Annotated[str, typer.Argument(help="Partner id or name.")],
    config: ConfigOpt = None, json_out: JsonOpt = False,
) -> None:
    """Issue a new API key; the old one (and its portal sessions) stop working at once."""
    from connectors.partner import store as q

    _, store = _open(config)
    row = _partner(store, partner)
    key = keys.new_key()
    with store.engine.begin() as conn:
        q.set_key(conn, row.id, keys.prefix_of(key) or "", keys.hash_key(key))
    if json_out:
        _out({"id": row.id, "api_key": key})
        return
    console.print(f"new API key for {row.name} (shown once): {key}", soft_wrap=True)


@partners_app.command("disable")
def disable(
    partner: Annotated[str, typer.Argument(help="Partner id or name.")],
    config: ConfigOpt = None,
) -> None:
    """Disable a partner: its key and sessions stop working; its referrals are kept."""
    from connectors.partner import store as q

    _, store = _open(config)
    row = _partner(store, partner)
    with store.engine.begin() as conn:
        q.set_status(conn, row.id, "disabled")
    console.print(f"disabled {row.name} ({row.id})")


@referrals_app.command("list")
def referrals_list(
    status: Annotated[str | None, typer.Option(help="Only this status, e.g. conflict.")] = None,
    limit: Annotated[int, typer.Option(help="How many.")] = 50,
    config: ConfigOpt = None, json_out: JsonOpt = False,
) -> None:
    """List referrals of every partner, newest first, with conflict details for ops."""
    from rich.table import Table

    from connectors.partner import store as q

    _, store = _open(config)
    with store.engine.connect() as conn:
        rows, total = q.referrals_page(conn, None, status=status, limit=limit)
    data: list[dict[str, Any]] = [
        {"id": r.id, "partner_id": r.partner_id, "status": r.status, "company": r.company_name,
         "product_line": r.product_line, "lead_id": r.lead_id, "conflict": r.conflict_detail,
         "created_at": r.created_at} for r in rows]
    if json_out:
        _out({"total": total, "items": data})
        return
    table = Table("id", "partner", "status", "company", "lead", "conflict")
    for r in data:
        table.add_row(r["id"], r["partner_id"], r["status"], r["company"], r["lead_id"] or "", r["conflict"] or "")
    console.print(table)
    console.print(f"{total} referral(s)")


def _decide(referral_id: str, reason: str, config: Path | None, approve: bool) -> None:
    from connectors.partner import service
    from hub.api import Intake

    if not reason.strip():
        err.print("--reason is required: the partner reads it")
        raise typer.Exit(2)
    _, store = _open(config)
    hub = _StoreHub(store, Intake(store))
    done = service.approve(hub, referral_id, reason) if approve else service.reject(hub, referral_id, reason)
    if not done:
        err.print(f"referral {referral_id} is not waiting for a decision; "
                  "see `leadhub referrals list --status conflict`")
        raise typer.Exit(1)
    console.print(f"{'approved' if approve else 'rejected'} {referral_id}"
                  + ("; the daemon processes it now" if approve else "; the partner sees the reason"))


@referrals_app.command("approve")
def approve(
    referral_id: Annotated[str, typer.Argument(help="The referral id (ref_...).")],
    reason: Annotated[str, typer.Option("--reason", help="Why (the partner reads it).")],
    config: ConfigOpt = None,
) -> None:
    """Release a referral held for channel conflict into the pipeline."""
    _decide(referral_id, reason, config, approve=True)


@referrals_app.command("reject")
def reject(
    referral_id: Annotated[str, typer.Argument(help="The referral id (ref_...).")],
    reason: Annotated[str, typer.Option("--reason", help="Why (the partner reads it).")],
    config: ConfigOpt = None,
) -> None:
    """Refuse a referral held for channel conflict."""
    _decide(referral_id, reason, config, approve=False)
