from __future__ import annotations

from datetime import timedelta

import pytest

from bot.render.humanize import ellipsis, human_duration, human_size, short_id


@pytest.mark.parametrize(
    ("size", "text"),
    [
        (0, "0B"),
        (999, "999B"),
        (1000, "1kB"),
        (1_984_000, "1.98MB"),
        (187_000_000, "187MB"),
        (5_300_000_000, "5.3GB"),
    ],
)
def test_sizes_like_docker(size: int, text: str) -> None:
    assert human_size(size) == text


@pytest.mark.parametrize(
    ("delta", "text"),
    [
        (timedelta(milliseconds=200), "Less than a second"),
        (timedelta(seconds=1), "1 second"),
        (timedelta(seconds=45), "45 seconds"),
        (timedelta(seconds=90), "About a minute"),
        (timedelta(minutes=59), "59 minutes"),
        (timedelta(minutes=70), "About an hour"),
        (timedelta(hours=47), "47 hours"),
        (timedelta(days=3), "3 days"),
        (timedelta(days=20), "2 weeks"),
        (timedelta(days=90), "3 months"),
        (timedelta(days=800), "2 years"),
    ],
)
def test_durations_like_docker(delta: timedelta, text: str) -> None:
    assert human_duration(delta) == text


def test_ids_and_ellipsis() -> None:
    assert short_id("sha256:" + "ab" * 32) == "abababababab"
    assert short_id("0123456789abcdef") == "0123456789ab"
    assert ellipsis("short", 20) == "short"
    assert ellipsis("a" * 30, 20) == "a" * 19 + "…"
