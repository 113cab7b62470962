"""``bot.composition.slack``: the values it derives from the settings."""

from __future__ import annotations

import pytest

from bot.composition.slack import lease_renewal_seconds
from bot.settings import load_settings


@pytest.mark.parametrize(
    ("interrupted_after", "renewed_every"),
    [("60s", 5.0), ("15s", 5.0), ("6s", 2.0), ("2s", 2 / 3), ("1s", 0.5), ("0s", 0.5)],
)
def test_a_live_lease_is_renewed_well_before_it_looks_stale(
    interrupted_after: str, renewed_every: float
) -> None:
    settings = load_settings(
        _env_file=None,
        slack_bot_token="xoxb-test",
        approvals={"interrupted_after": interrupted_after},
    )
    assert lease_renewal_seconds(settings) == pytest.approx(renewed_every)
