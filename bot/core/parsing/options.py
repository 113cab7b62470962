"""A small option parser with the Docker CLI's (pflag's) rules, and kinder error messages.

Supported forms: ``--name value``, ``--name=value``, ``-n value``, ``-nvalue``, ``-n=value``,
bundled short flags (``-aq``), ``--flag=true|false`` and ``--`` to end options.
Unlike pflag, a single-dash long option (``-all``) is read as ``--all`` with a warning,
because that is what people who type it mean.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field

from bot.core.operations import Operation
from bot.errors import ParseError

_BOOLEAN_WORDS = {"true": True, "1": True, "false": False, "0": False}
# difflib's ratio for a word of n letters against a name of k is at most 2k/(k+n): with names
# of a dozen letters, a word this long is never close enough to suggest anything.
_MAX_SUGGESTED = 40


@dataclass(frozen=True, kw_only=True, slots=True)
class OptionSpec:
    """One option of a command. ``dest`` names the value in ``ParsedOptions``."""

    long: str
    short: str | None = None
    takes_value: bool = False
    repeatable: bool = False
    metavar: str = "VALUE"
    help: str = ""
    # Options Docker has but chat cannot honour: the value is the reason shown to the user.
    rejected: str | None = None

    @property
    def dest(self) -> str:
        return self.long.replace("-", "_")

    def spelling(self) -> str:
        short = f"-{self.short}, " if self.short else ""
        value = f" {self.metavar}" if self.takes_value else ""
        return f"{short}--{self.long}{value}"


@dataclass(kw_only=True, slots=True)
class ParsedOptions:
    """Option values and positional words of one command."""

    values: dict[str, str | bool | list[str]] = field(default_factory=dict)
    positionals: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    # Index (into positionals) of the first word that came after "--".
    after_double_dash: int | None = None
    # A command that names another (``can USER COMMAND...``): that one, parsed whole.
    nested: Operation | None = None

    def flag(self, dest: str) -> bool:
        return bool(self.values.get(dest, False))

    def value(self, dest: str) -> str | None:
        found = self.values.get(dest)
        return found if isinstance(found, str) else None

    def values_of(self, dest: str) -> list[str]:
        found = self.values.get(dest)
        return list(found) if isinstance(found, list) else []

    def given(self, dest: str) -> bool:
        return dest in self.values


class OptionTable:
    """The options of one command, indexed by spelling."""

    def __init__(self, *, command: str, usage: str, options: tuple[OptionSpec, ...]) -> None:
        self.command = command
        self.usage = usage
        self.options = options
        self._long = {opt.long: opt for opt in options}
        self._short = {opt.short: opt for opt in options if opt.short}

    def error(self, message: str) -> ParseError:
        return ParseError(message, usage=self.usage)

    def parse(self, words: list[str], *, interspersed: bool = True) -> ParsedOptions:
        """Parse ``words``; with ``interspersed=False`` options end at the first positional."""
        parsed = ParsedOptions()
        index = 0
        while index < len(words):
            word = words[index]
            index += 1
            if word == "--":
                parsed.after_double_dash = len(parsed.positionals)
                parsed.positionals.extend(words[index:])
                break
            if not word.startswith("-") or word == "-":
                parsed.positionals.append(word)
                if not interspersed:
                    parsed.positionals.extend(words[index:])
                    break
                continue
            index = self.parse_option(word, words, index, parsed)
        return parsed

    def is_option_word(self, word: str) -> bool:
        """True if ``word`` on its own would parse as one of this table's options (with its
        value inline, as in ``-deKEY=VALUE``, or in the next word)."""
        if word.startswith("--"):
            return word[2:].partition("=")[0] in self._long
        if not word.startswith("-") or len(word) < 2:
            return False
        if self._single_dash_long(word) is not None:
            return True
        for position in range(1, len(word)):
            opt = self._short.get(word[position])
            if opt is None:
                return False
            if opt.takes_value or word.startswith("=", position + 1):
                return True  # the rest of the word (or the next one) is its value
        return True

    def parse_option(self, word: str, words: list[str], index: int, parsed: ParsedOptions) -> int:
        """Consume the option ``word`` (and its value from ``words[index]`` if needed)."""
        if word.startswith("--"):
            name, equals, inline = word[2:].partition("=")
            return self._take(self._find_long(name), bool(equals), inline, words, index, parsed)
        long_form = self._single_dash_long(word)
        if long_form is not None:
            opt, has_value, inline = long_form
            parsed.warnings.append(
                f"Read `{word.partition('=')[0]}` as `--{opt.long}` "
                f"(Docker itself would read it as single-letter options)."
            )
            return self._take(opt, has_value, inline, words, index, parsed)
        # Slice the rest of a bundle only where it is used: slicing at every letter of
        # "-aaaa…" would copy the word once per letter.
        for position in range(1, len(word)):
            # Only the letters read so far are named in an error: what follows an unknown
            # letter may be a value (a secret typed as -xeKEY=VALUE).
            opt = self._find_short(word[position], word[: position + 1])
            if opt.takes_value:
                if position + 1 < len(word):
                    value = word[position + 1 :].removeprefix("=")
                    return self._take(opt, True, value, words, index, parsed)
                return self._take(opt, False, "", words, index, parsed)
            if word.startswith("=", position + 1):
                return self._take(opt, True, word[position + 2 :], words, index, parsed)
            self._take(opt, False, "", words, index, parsed)
        return index

    def _single_dash_long(self, word: str) -> tuple[OptionSpec, bool, str] | None:
        if word.startswith("--") or len(word) < 3:
            return None
        name, has_value, inline = word[1:].partition("=")
        opt = self._long.get(name)
        if opt is None or len(name) < 2:
            return None
        return opt, bool(has_value), inline

    def _take(
        self,
        opt: OptionSpec,
        has_inline: bool,
        inline: str,
        words: list[str],
        index: int,
        parsed: ParsedOptions,
    ) -> int:
        if opt.rejected:
            raise self.error(f"`--{opt.long}` cannot be used here: {opt.rejected}")
        if opt.takes_value:
            if has_inline:
                value = inline
            elif index < len(words):
                value = words[index]
                index += 1
            else:
                raise self.error(f"Option `--{opt.long}` needs a value ({opt.metavar}).")
            if opt.repeatable:
                existing = parsed.values.setdefault(opt.dest, [])
                assert isinstance(existing, list)
                existing.append(value)
            else:
                parsed.values[opt.dest] = value
            return index
        if has_inline:
            flag = _BOOLEAN_WORDS.get(inline.lower())
            if flag is None:
                raise self.error(
                    f"Option `--{opt.long}` is a flag: use it alone or as `--{opt.long}=false`."
                )
            parsed.values[opt.dest] = flag
        else:
            parsed.values[opt.dest] = True
        return index

    def _find_long(self, name: str) -> OptionSpec:
        opt = self._long.get(name)
        if opt is None:
            raise self.error(
                f"Unknown option `--{name}` for `{self.command}`.{self._suggest_long(name)}"
            )
        return opt

    def _find_short(self, letter: str, word: str) -> OptionSpec:
        opt = self._short.get(letter)
        if opt is None:
            where = f" (in `{word}…`)" if len(word) > 2 else ""
            hint = self._suggest_long(word.lstrip("-"))
            raise self.error(f"Unknown option `-{letter}`{where} for `{self.command}`.{hint}")
        return opt

    def _suggest_long(self, name: str) -> str:
        if len(name) > _MAX_SUGGESTED:
            return ""  # no option name is close to it; spare difflib the long word
        close = difflib.get_close_matches(name, list(self._long), n=1, cutoff=0.6)
        return f" Did you mean `--{close[0]}`?" if close else ""
