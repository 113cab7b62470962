"""The README's table of environment settings, made from the settings model itself.

``python -m bot.settings_doc`` prints it; a unit test fails when README.md's copy differs, so a
setting is never added, renamed or given a new default without its row.
"""

from __future__ import annotations

from pydantic import AliasChoices, BaseModel, SecretStr
from pydantic.fields import FieldInfo

from bot.settings import _SECRET_SETTINGS, RENAMED, Settings

BEGIN = "<!-- settings table: made by `python -m bot.settings_doc`; edit bot/settings.py -->"
END = "<!-- end of the settings table -->"


def environment_table() -> str:
    """A Markdown table: each environment setting, its default and what it means."""
    rows = ["| Variable | Default | Meaning |", "| --- | --- | --- |"]
    for name, field in Settings.model_fields.items():
        if _is_table(field):
            continue  # [roles], [engines.*], ...: the TOML file's, documented by its example
        meaning = field.description or ""
        if name in RENAMED:
            meaning += f" (was `{name.upper()}`, still read with a warning)"
        rows.append(f"| `{_variable(name, field)}` | {_default(field)} | {meaning} |")
    files = ", ".join(f"`{secret.upper()}_FILE`" for secret in _SECRET_SETTINGS)
    rows.append(
        f"| {files} | — | A file holding that credential (Docker and Kubernetes secrets are "
        "files); unreadable, empty or differing from the variable stops start-up. |"
    )
    return "\n".join(rows)


def _variable(name: str, field: FieldInfo) -> str:
    alias = field.validation_alias
    if isinstance(alias, AliasChoices):
        return str(alias.choices[0]).upper()
    return name.upper()


def _default(field: FieldInfo) -> str:
    value = field.get_default(call_default_factory=True)
    if value is None or isinstance(value, SecretStr):
        return "—"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    return f"`{value}`"


def _is_table(field: FieldInfo) -> bool:
    annotation = field.annotation
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return True
    origin = getattr(annotation, "__origin__", None)
    if origin is list:  # an array of tables ([[freeze]])
        (item,) = getattr(annotation, "__args__", (None,))
        return isinstance(item, type) and issubclass(item, BaseModel)
    return origin is dict


if __name__ == "__main__":
    print(BEGIN)
    print(environment_table())
    print(END)
