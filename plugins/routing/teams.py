"""Fair, weighted distribution within a team that survives joins, leaves and time away.

Each member has a *pass*: how many leads they have had divided by their weight (stride
scheduling). The available member with the lowest pass gets the lead, and their pass grows by
``1 / weight``; so over time each gets leads in proportion to their weight. The team keeps a
*clock*, the pass of the last member chosen, which only moves forward.

- Nothing resets: a member who joins or leaves changes no one else's pass.
- No catch-up flood: before choosing, a member's pass is lifted to at least
  ``clock - catch_up / weight``. Someone back from a week away (or new) is behind by at most
  ``catch_up`` leads of their own size, so they get at most their share plus ``catch_up`` leads
  more while the others wait; their older deficit is forgiven, not paid back.

Passes and the clock are persisted counters (in millionths), read and written through the
engine's ledger with the batch.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from hub.api import RoutingLedger

SCALE = 1_000_000


@dataclass(frozen=True)
class Pick:
    owner_id: str
    #: Leads-per-weight before this one (the pass), and whether a catch-up lift applied.
    load: float
    lifted: bool


def pick_member(team: str, members: list[tuple[str, float]], catch_up: float, ledger: RoutingLedger) -> Pick:
    """Choose among available ``members`` (owner id, weight), in their configured order on ties,
    and advance the chosen one's pass."""
    clock_key = f"team:{team}:clock"
    clock = ledger.counter(clock_key)
    best: tuple[int, str, float, bool] | None = None
    for owner_id, weight in members:
        own = ledger.counter(f"team:{team}:pass:{owner_id}")
        floor = clock - int(catch_up * SCALE / weight)
        value, lifted = (floor, True) if own < floor else (own, False)
        if best is None or value < best[0]:
            best = (value, owner_id, weight, lifted)
    assert best is not None, "pick_member needs at least one member"
    value, owner_id, weight, lifted = best
    ledger.set_counter(f"team:{team}:pass:{owner_id}", value + int(SCALE / weight))
    if value > clock:
        ledger.set_counter(clock_key, value)
    return Pick(owner_id, value / SCALE, lifted)
