from __future__ import annotations

import pytest

from hub.schema import TRANSITIONS, IllegalTransition, Lead, LeadStatus, path_to


def lead(status: LeadStatus = LeadStatus.NEW) -> Lead:
    return Lead(account_id="acct_1", status=status)


def test_legal_chain_reaches_won() -> None:
    one = lead()
    for step in ("qualified", "routed", "accepted", "converted", "won"):
        one.move_to(LeadStatus(step))
    assert one.status == LeadStatus.WON
    assert not one.is_open


@pytest.mark.parametrize(
    ("start", "target"),
    [("new", "won"), ("nurture", "routed"), ("won", "lost"), ("lost", "new"), ("rejected", "routed")],
)
def test_illegal_transition_raises_and_keeps_status(start: str, target: str) -> None:
    one = lead(LeadStatus(start))
    with pytest.raises(IllegalTransition) as info:
        one.move_to(LeadStatus(target))
    assert one.status == LeadStatus(start)
    assert f"cannot move from {start} to {target}" in str(info.value)


def test_recycle_path_and_escalation_loop() -> None:
    one = lead(LeadStatus.ROUTED)
    one.move_to(LeadStatus.ESCALATED)
    one.move_to(LeadStatus.ROUTED)
    one.move_to(LeadStatus.REJECTED)
    one.move_to(LeadStatus.NURTURE)
    assert one.status == LeadStatus.NURTURE


def test_leaving_the_owner_states_clears_the_sla() -> None:
    from datetime import UTC, datetime

    one = lead(LeadStatus.ROUTED)
    one.sla_due_at = datetime(2030, 1, 1, tzinfo=UTC)
    one.move_to(LeadStatus.ACCEPTED)
    assert one.sla_due_at is None


def test_path_to_walks_legal_steps_only() -> None:
    chain = path_to(LeadStatus.ROUTED, LeadStatus.WON)
    assert chain is not None and len(chain) == 2 and chain[-1] == LeadStatus.WON
    assert path_to(LeadStatus.WON, LeadStatus.LOST) is None
    assert path_to(LeadStatus.ROUTED, LeadStatus.ROUTED) == []
    for start, targets in TRANSITIONS.items():
        for target in targets - {start}:
            chain = path_to(start, target)
            assert chain is not None and chain[-1] == target
