"""README's table of environment settings is the one the settings model makes."""

from __future__ import annotations

from pathlib import Path

from bot.settings_doc import BEGIN, END, environment_table

README = Path(__file__).resolve().parents[2] / "README.md"


def readme_table(text: str) -> str:
    start = text.index(BEGIN) + len(BEGIN)
    return text[start : text.index(END, start)].strip()


def test_the_readme_has_the_table_the_settings_make() -> None:
    made = environment_table()
    assert "| `CHATOPS_PORT` | `3000` |" in made and "`SLACK_BOT_TOKEN_FILE`" in made
    assert readme_table(README.read_text()) == made, (
        "README.md's settings table is out of date: python -m bot.settings_doc prints it"
    )


def test_a_stale_table_is_caught() -> None:
    stale = README.read_text().replace("| `CHATOPS_PORT` | `3000` |", "| `PORT` | `3000` |")
    assert readme_table(stale) != environment_table()
