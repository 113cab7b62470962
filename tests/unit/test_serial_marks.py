"""Scenario files whose bot is told about containers must be marked ``serial``.

scripts/test runs the scenarios in parallel workers on one shared engine. A bot with
notifications hears every container's events there, other workers' crashes included, and a
storm of them folds its own into a summary: such a file runs alone, on an engine of its own
(``pytestmark = pytest.mark.serial``; scripts/test runs these beside the rest). A cleanup applied to the whole engine needs the mark too;
that is not something this check can read off the source, so it is the author's to add.
"""

from __future__ import annotations

import re
from pathlib import Path

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"
# How a scenario configures notifications: the TOML table, or the settings' keyword.
_NOTIFIES = re.compile(r"\[notifications\]|\bnotifications\s*=|\"notifications\"\s*:")
# The whole file (pytestmark), or the tests that notify (a decorator on each).
_SERIAL = re.compile(r"^(pytestmark\s*=.*|@)pytest\.mark\.serial\b", re.MULTILINE)


def unmarked(sources: dict[str, str]) -> list[str]:
    """The files (name -> source) that configure notifications but are not marked serial."""
    return sorted(
        name
        for name, text in sources.items()
        if _NOTIFIES.search(text) and not _SERIAL.search(text)
    )


def test_every_scenario_with_notifications_runs_alone() -> None:
    sources = {path.name: path.read_text() for path in SCENARIOS.glob("test_*.py")}
    assert "test_notifications.py" in sources
    assert unmarked(sources) == []


def test_the_check_finds_an_unmarked_file() -> None:
    notifying = 'CONFIG = """\n[notifications]\nchannel = "C0"\n"""\n'
    marked = "import pytest\n\npytestmark = pytest.mark.serial\n" + notifying
    decorated = notifying + "@pytest.mark.serial\ndef test_it() -> None: ...\n"
    keyword = "serve_bot(sandbox, fake, notifications={'channel': 'C0'})\n"
    files = {"a.py": notifying, "b.py": marked, "c.py": keyword, "d.py": "x = 1\n"}
    assert unmarked(files | {"e.py": decorated}) == [
        "a.py",
        "c.py",
    ]
