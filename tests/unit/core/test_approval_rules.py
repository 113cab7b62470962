"""``ApprovalRules``: the values derived from the configured rules."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.core.approvals import ApprovalRules


@pytest.mark.parametrize(
    ("interrupted_after", "renewed_every"),
    [(60, 5.0), (15, 5.0), (6, 2.0), (2, 2 / 3), (1, 0.5), (0, 0.5)],
)
def test_a_live_lease_is_renewed_well_before_it_looks_stale(
    interrupted_after: int, renewed_every: float
) -> None:
    rules = ApprovalRules(
        approvers=("admin",), interrupted_after=timedelta(seconds=interrupted_after)
    )
    assert rules.renew_leases_every.total_seconds() == pytest.approx(renewed_every)
