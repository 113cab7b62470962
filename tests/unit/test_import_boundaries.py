"""Import boundaries, read from the source with ``ast``: the core imports no adapter, no
third-party I/O library and not the settings; the settings import nothing of Slack's; only
``serve``'s composition root (``bot/composition/slack.py``) imports both the Slack adapter and
the engines or the state, and the console's (``bot/composition/console.py``) nothing of Slack's,
the database's or the scheduler's; only the composition roots build a pipeline; and no module
of ``bot`` takes part in an import cycle."""

from __future__ import annotations

import ast
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

import bot

PACKAGE = Path(bot.__file__).parent
CORE = PACKAGE / "core"
# The libraries the adapters wrap: chat, engine, database, web server, scheduler, HTTP, settings.
CHAT_AND_IO_LIBRARIES = (
    "slack_bolt",
    "slack_sdk",
    "docker",
    "sqlalchemy",
    "waitress",
    "apscheduler",
    "requests",
    "pydantic",
    "pydantic_settings",
)
# What bot/core/ may never import, anywhere in a module (type-only and function-local imports
# included): the adapters, the composition side, and the libraries they wrap.
FORBIDDEN_IN_CORE = (
    *CHAT_AND_IO_LIBRARIES,
    "bot.settings",
    "bot.config",
    "bot.slack",
    "bot.engine",
    "bot.state",
    "bot.server",
    "bot.composition",
    "bot.render",
    "bot.housekeeping",
    "bot.workers",
    "bot.health",
    "bot.cli",
    "bot.console",
)


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def bot_modules() -> dict[str, Path]:
    return {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def imported(node: ast.Import | ast.ImportFrom, module: str, *, package: bool) -> list[str]:
    """The modules an import statement may load: ``from a import b`` names ``a`` and ``a.b``
    (``b`` may be a submodule); relative imports are resolved against ``module``."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    base = node.module or ""
    if node.level:
        anchor = module.split(".") if package else module.split(".")[:-1]
        anchor = anchor[: len(anchor) - (node.level - 1)]
        base = ".".join([*anchor, base] if base else anchor)
    return [base, *(f"{base}.{alias.name}" for alias in node.names)]


def all_imports(tree: ast.Module) -> Iterator[ast.Import | ast.ImportFrom]:
    """Every import statement, wherever it is."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node


def top_level_imports(body: list[ast.stmt]) -> Iterator[ast.Import | ast.ImportFrom]:
    """Imports that run when the module is imported: not in functions or classes, and not
    under ``if TYPE_CHECKING:`` (those never run)."""
    for node in body:
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node
        elif isinstance(node, ast.If):
            if not _is_type_checking(node.test):
                yield from top_level_imports(node.body)
            yield from top_level_imports(node.orelse)
        elif isinstance(node, ast.Try):
            for block in (node.body, node.orelse, node.finalbody):
                yield from top_level_imports(block)
            for handler in node.handlers:
                yield from top_level_imports(handler.body)


def runtime_imports(nodes: list[ast.stmt]) -> Iterator[ast.Import | ast.ImportFrom]:
    """Every import that can run: at the top, in functions and classes (an import inside a
    function still closes a cycle when the function runs), but not under ``if TYPE_CHECKING:``."""
    for node in nodes:
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node
        elif isinstance(node, ast.If) and _is_type_checking(node.test):
            yield from runtime_imports(node.orelse)
        else:
            for child in ast.iter_child_nodes(node):
                if isinstance(child, ast.stmt):
                    yield from runtime_imports([child])


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def forbidden_imports(
    source: str,
    module: str,
    *,
    package: bool = False,
    forbidden: tuple[str, ...] = FORBIDDEN_IN_CORE,
) -> list[str]:
    """``line: name`` for every import of ``module`` among ``forbidden`` (the core's list)."""
    found = []
    for node in all_imports(ast.parse(source)):
        for name in imported(node, module, package=package):
            if any(name == bad or name.startswith(bad + ".") for bad in forbidden):
                found.append(f"{node.lineno}: {name}")
                break
    return found


def import_graph(sources: Mapping[str, tuple[str, bool]]) -> dict[str, set[str]]:
    """module -> the modules of ``sources`` it imports, when imported or later, from any
    function (``sources``: module -> (source, is a package))."""
    graph: dict[str, set[str]] = {}
    for module, (source, package) in sources.items():
        edges = set()
        for node in runtime_imports(ast.parse(source).body):
            names = imported(node, module, package=package)
            edges |= {name for name in names if name in sources and name != module}
        graph[module] = edges
    return graph


def find_cycle(graph: Mapping[str, set[str]]) -> list[str] | None:
    """One import cycle as ``[a, b, ..., a]``, or None."""
    done: set[str] = set()

    def visit(module: str, path: list[str]) -> list[str] | None:
        if module in path:
            return [*path[path.index(module) :], module]
        if module in done:
            return None
        for imported_module in sorted(graph.get(module, ())):
            cycle = visit(imported_module, [*path, module])
            if cycle:
                return cycle
        done.add(module)
        return None

    for module in sorted(graph):
        cycle = visit(module, [])
        if cycle:
            return cycle
    return None


CORE_MODULES = sorted(path for path in CORE.rglob("*.py"))
# The service layer is chat-neutral: it uses the core and its own ports, never a chat SDK, the
# Docker SDK, the database or the settings (the composition root wires those in).
FORBIDDEN_IN_SERVICE = (
    "slack_bolt",
    "slack_sdk",
    "docker",
    "sqlalchemy",
    "waitress",
    "apscheduler",
    "requests",
    "pydantic",
    "pydantic_settings",
    "bot.settings",
    "bot.config",
    "bot.slack",
    "bot.engine",
    "bot.state",
    "bot.server",
    "bot.composition",
    "bot.render",
    "bot.cli",
    "bot.console",
)


# The engine adapter takes plain values (bot.config translates the settings), and knows no
# chat platform.
FORBIDDEN_IN_ENGINE = (
    "slack_bolt",
    "slack_sdk",
    "pydantic",
    "pydantic_settings",
    "bot.settings",
    "bot.config",
    "bot.slack",
    "bot.server",
    "bot.composition",
    "bot.render",
    "bot.service",
    "bot.state",
    "bot.cli",
    "bot.console",
)


# What every platform shares in rendering knows no platform: a second one adds its own folder
# (as bot/slack and bot/console are) and changes nothing here.
FORBIDDEN_IN_RENDER = (
    *CHAT_AND_IO_LIBRARIES,
    "bot.settings",
    "bot.config",
    "bot.slack",
    "bot.console",
    "bot.engine",
    "bot.state",
    "bot.server",
    "bot.composition",
    "bot.service",
    "bot.cli",
)
# Each platform's folder knows no other platform.
FORBIDDEN_IN_CONSOLE = ("slack_bolt", "slack_sdk", "bot.slack")
FORBIDDEN_IN_SLACK = ("bot.console",)
# The console's composition root builds what `exec` starts cold with (bot/composition/__init__
# runs before it, so it must import nothing either).
FORBIDDEN_IN_CONSOLE_COMPOSITION = (
    "slack_bolt",
    "slack_sdk",
    "sqlalchemy",
    "apscheduler",
    "waitress",
    "bot.slack",
    "bot.state",
    "bot.server",
    "bot.housekeeping",
    "bot.composition.slack",
)
# The settings, their translation into plain values (bot/config.py) and the ID rules they check
# (bot/chat_ids.py) know no chat adapter, and nothing of how the app is put together.
FORBIDDEN_IN_SETTINGS = (
    "slack_bolt",
    "slack_sdk",
    "bot.slack",
    "bot.console",
    "bot.server",
    "bot.composition",
)

# Each layer, and what none of its modules may import (type-only and function-local imports
# included).
LAYERS = {
    "core": FORBIDDEN_IN_CORE,
    "service": FORBIDDEN_IN_SERVICE,
    "engine": FORBIDDEN_IN_ENGINE,
    "render": FORBIDDEN_IN_RENDER,
    "console": FORBIDDEN_IN_CONSOLE,
    "slack": FORBIDDEN_IN_SLACK,
}
# Modules outside the layers' folders, and what each may not import.
MODULES = {
    "settings.py": FORBIDDEN_IN_SETTINGS,
    "config.py": FORBIDDEN_IN_SETTINGS,
    "chat_ids.py": FORBIDDEN_IN_SETTINGS,
    "composition/__init__.py": FORBIDDEN_IN_CONSOLE_COMPOSITION,
    "composition/console.py": FORBIDDEN_IN_CONSOLE_COMPOSITION,
}
LAYER_MODULES = [
    (path, forbidden)
    for layer, forbidden in LAYERS.items()
    for path in sorted((PACKAGE / layer).rglob("*.py"))
] + [(PACKAGE / name, forbidden) for name, forbidden in MODULES.items()]


@pytest.mark.parametrize(
    ("path", "forbidden"), LAYER_MODULES, ids=[module_name(path) for path, _ in LAYER_MODULES]
)
def test_each_layer_imports_only_what_it_may(path: Path, forbidden: tuple[str, ...]) -> None:
    found = forbidden_imports(
        path.read_text(),
        module_name(path),
        package=path.name == "__init__.py",
        forbidden=forbidden,
    )
    assert not found, f"{path.relative_to(PACKAGE.parent)} imports {found}"


def joins_slack_to_engines_or_state(source: str, module: str, *, package: bool) -> bool:
    """Whether a module imports (anywhere in it) both the Slack adapter and the engines or
    the state."""
    names = {
        name
        for node in all_imports(ast.parse(source))
        for name in imported(node, module, package=package)
    }

    def imports(package_name: str) -> bool:
        return any(name == package_name or name.startswith(package_name + ".") for name in names)

    return imports("bot.slack") and (imports("bot.engine") or imports("bot.state"))


def test_only_the_composition_root_joins_slack_to_the_engines_and_the_state() -> None:
    # The adapters meet the engines and the database in one place; that serve's composition
    # root is found is the check's own positive control.
    joined = [
        name
        for name, path in bot_modules().items()
        if joins_slack_to_engines_or_state(
            path.read_text(), name, package=path.name == "__init__.py"
        )
    ]
    assert joined == ["bot.composition.slack"]
    # Imports inside functions count; one side alone does not.
    late = "from bot.slack.chat import SlackChat\ndef f() -> None:\n    from ..state import audit\n"
    assert joins_slack_to_engines_or_state(late, "bot.x.y", package=False)
    assert not joins_slack_to_engines_or_state(late.split("def")[0], "bot.x.y", package=False)


def test_no_import_cycles() -> None:
    modules = bot_modules()
    sources = {
        name: (path.read_text(), path.name == "__init__.py") for name, path in modules.items()
    }
    cycle = find_cycle(import_graph(sources))
    assert cycle is None, "import cycle: " + " -> ".join(cycle or ())


def test_forbidden_imports_are_found() -> None:
    # Positive controls: the checks above would see these.
    source = (
        "from __future__ import annotations\n"
        "from typing import TYPE_CHECKING\n"
        "import docker.errors\n"
        "from bot.core.operations import Pull\n"
        "if TYPE_CHECKING:\n"
        "    from bot.settings import Settings\n"
        "def later() -> None:\n"
        "    from ...render import humanize\n"
        "    from bot import slack\n"
    )
    assert forbidden_imports(source, "bot.core.parsing.example") == [
        "3: docker.errors",
        "6: bot.settings",
        "8: bot.render",
        "9: bot.slack",
    ]
    assert forbidden_imports("import dockerfile_parse\nimport bot.core\n", "bot.core.x") == []
    assert all(module_name(path).startswith("bot.core") for path in CORE_MODULES)
    assert "bot.core.policy" in {module_name(path) for path in CORE_MODULES}


def test_cycles_are_found() -> None:
    sources = {
        "bot.a": ("from bot import b\n", False),
        "bot.b": ("from bot.c import thing\n", False),
        "bot.c": ("import bot.a\n", False),
        # Type-only imports never run; a function's do, when it runs.
        "bot.d": ("if TYPE_CHECKING:\n    import bot.e\n", False),
        "bot.e": ("import bot.d\ndef f() -> None:\n    import bot.a\n", False),
    }
    graph = import_graph(sources)
    assert graph["bot.d"] == set() and graph["bot.e"] == {"bot.a", "bot.d"}
    assert find_cycle(graph) == ["bot.a", "bot.b", "bot.c", "bot.a"]
    del sources["bot.c"]
    assert find_cycle(import_graph(sources)) is None


def builds_a_pipeline(source: str) -> bool:
    """Whether a module calls ``Pipeline(...)`` (the core's request path, built once per app)."""
    return any(
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id == "Pipeline"
        for node in ast.walk(ast.parse(source))
    )


def test_only_the_composition_roots_build_a_pipeline() -> None:
    # The wiring is apart: an entry point (bot/cli.py) or an adapter asks a composition root
    # for what to run; both roots are found, the check's own positive control.
    building = sorted(
        name for name, path in bot_modules().items() if builds_a_pipeline(path.read_text())
    )
    assert building == ["bot.composition.console", "bot.composition.slack"]
    assert not builds_a_pipeline("from bot.core.pipeline import Pipeline\npipeline: Pipeline\n")
