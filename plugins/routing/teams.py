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


@dataclass(slots=True)
class Standing:
    """A member's place in the queue: their pass (after any catch-up lift) and weight."""

    owner_id: str
    weight: float
    value: int
    lifted: bool

    @property
    def load(self) -> float:
        """Leads per unit of weight so far (the pass)."""
        return self.value / SCALE


def standings(team: str, members: list[tuple[str, float]], catch_up: float, ledger: RoutingLedger) -> list[Standing]:
    """Every member of ``team`` in the order they are next in line (lowest pass first, the
    configured order on ties); availability is the caller's to check, first in line first."""
    clock = ledger.counter(f"team:{team}:clock")
    out = []
    for owner_id, weight in members:
        own = ledger.counter(f"team:{team}:pass:{owner_id}")
        floor = clock - int(catch_up * SCALE / weight)
        out.append(Standing(owner_id, weight, floor, True) if own < floor else Standing(owner_id, weight, own, False))
    out.sort(key=lambda s: s.value)  # stable: ties keep the configured order
    return out


def advance(team: str, chosen: Standing, ledger: RoutingLedger) -> None:
    """``chosen`` got a lead: their pass grows by ``1 / weight``; the team's clock moves up to it."""
    ledger.set_counter(f"team:{team}:pass:{chosen.owner_id}", chosen.value + int(SCALE / chosen.weight))
    clock_key = f"team:{team}:clock"
    if chosen.value > ledger.counter(clock_key):
        ledger.set_counter(clock_key, chosen.value)
