"""Scoped grants: actions beyond a person's role, on matching objects only. Pure values.

A ``[[grants]]`` table names who (user IDs, user group IDs, role names or ``*``), which
actions, and a scope: container name globs, labels (``key=value``, all of them), image
reference globs, ``own`` (containers the person ran through chat: ``chatops.owner`` is their
user ID) and engines. Every scope given must hold; a grant with no object scope covers
everything on its engines. Every target of a command must be covered by one grant, or the
grant covers nothing: a wrong grant can only fail closed.

What a command targets (``targets_of``) is read from the operation; what those targets are
(names, labels, images) comes from the engine as ``ContainerFacts``, asked only when a grant
could apply.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from fnmatch import fnmatchcase

from bot.core.operations import (
    ChangeContainers,
    Inspect,
    InspectType,
    Operation,
    Pull,
    RollbackContainer,
    RunContainer,
    ShowLogs,
    ShowPorts,
    ShowStats,
    ShowTop,
    UpgradeContainers,
)
from bot.core.protection import OWNER_LABEL
from bot.core.references import ImageReference, parse_image_reference
from bot.errors import ChatOpsError

# What a name or reference can hold; a glob whose literal characters fall outside can match
# nothing (a typo such as a space, or a name where an ID or a reference belongs).
_NAME_CHARACTERS = re.compile(r"[A-Za-z0-9_.-]")
_REFERENCE_CHARACTERS = re.compile(r"[A-Za-z0-9_.:/@-]")
_GLOB_CHARACTERS = frozenset("*?[]!")
# The most targets one command may have a grant checked for (each is one engine call).
MAX_GRANT_TARGETS = 50


@dataclass(frozen=True, kw_only=True, slots=True)
class Grant:
    """One ``[[grants]]`` table; ``number`` is its place in the file, from 1."""

    number: int
    who: frozenset[str]
    actions: frozenset[str]
    containers: tuple[str, ...] = ()
    labels: tuple[tuple[str, str], ...] = ()
    images: tuple[str, ...] = ()
    own: bool = False
    engines: frozenset[str] = frozenset()  # empty: every engine

    def __post_init__(self) -> None:
        problems = glob_problems(self)
        if problems:
            raise ValueError("; ".join(problems))

    @property
    def scoped(self) -> bool:
        """Does it name objects (else it covers everything on its engines)?"""
        return bool(self.containers or self.labels or self.images or self.own)

    def holds(self, *, user_id: str, groups: frozenset[str], roles: frozenset[str]) -> bool:
        """Is the person among ``who`` (by ID, user group, a role they hold, or ``*``)?"""
        return bool(self.who & ({"*", user_id} | groups | roles))

    def applies(self, *, action: str, engine: str) -> bool:
        return action in self.actions and (not self.engines or engine in self.engines)

    def scope_text(self) -> str:
        """``containers `payments-web-*`, label `team=pay``` — what it covers, for messages."""
        parts = []
        if self.containers:
            parts.append("containers " + ", ".join(f"`{g}`" for g in self.containers))
        if self.labels:
            parts.append("label " + ", ".join(f"`{k}={v}`" for k, v in self.labels))
        if self.images:
            parts.append("images " + ", ".join(f"`{g}`" for g in self.images))
        if self.own:
            parts.append("containers you ran")
        if not parts:
            parts.append("everything")
        where = f" on {', '.join(sorted(self.engines))}" if self.engines else ""
        return " and ".join(parts) + where


def glob_problems(grant: Grant) -> list[str]:
    """Scopes that can match nothing: a glob with a character no name or reference has."""
    found = []
    for glob in grant.containers:
        if not _can_match(glob, _NAME_CHARACTERS):
            found.append(f"container glob {glob!r} can match no container name")
    for glob in grant.images:
        if not _can_match(glob, _REFERENCE_CHARACTERS):
            found.append(f"image glob {glob!r} can match no image reference")
    for key, _value in grant.labels:
        if not key:
            found.append("a label needs a key (key=value)")
    return found


def _can_match(glob: str, allowed: re.Pattern[str]) -> bool:
    if not glob:
        return False
    # Inside brackets anything goes (a set may offer a valid character); outside, every
    # literal character must be one a name can hold.
    outside = re.sub(r"\[[^\]]*\]", "", glob)
    return all(c in _GLOB_CHARACTERS or allowed.fullmatch(c) for c in outside)


@dataclass(frozen=True, kw_only=True, slots=True)
class ContainerFacts:
    """What a grant looks at in one target container; ``name`` None: there is none."""

    asked: str  # as the command named it
    name: str | None
    # Its full ID: what the command then acts on, so that the name (or an ID prefix another
    # container could take meanwhile) cannot come to mean another container.
    container_id: str = ""
    labels: Mapping[str, str] = field(default_factory=dict)
    image: str = ""  # the reference it was created from, as the engine keeps it


@dataclass(frozen=True, kw_only=True, slots=True)
class Targets:
    """What one command acts on: existing containers (by the names it gives) and images."""

    containers: tuple[str, ...] = ()
    images: tuple[ImageReference, ...] = ()
    # The container a ``run`` would create, judged as it will be (its name, labels, image).
    new_container: RunContainer | None = None

    @property
    def any(self) -> bool:
        return bool(self.containers or self.images or self.new_container)


def targets_of(operation: Operation) -> Targets:
    """The objects ``operation`` names; nothing for listings and engine-wide actions, which
    only a grant without an object scope covers."""
    match operation:
        case ChangeContainers() | ShowStats():
            return Targets(containers=operation.containers)
        case ShowLogs() | ShowTop() | ShowPorts() | RollbackContainer():
            return Targets(containers=(operation.container,))
        case Inspect():
            return Targets(containers=operation.targets)
        case UpgradeContainers():
            images = (operation.image,) if operation.image is not None else ()
            return Targets(containers=operation.containers, images=images)
        case RunContainer():
            return Targets(images=(operation.image,), new_container=operation)
        case Pull():
            return Targets(images=(operation.image,))
        case _:
            return Targets()


@dataclass(frozen=True, kw_only=True, slots=True)
class Coverage:
    """How far one grant covers a command: the targets it leaves out (empty: all covered)."""

    grant: Grant
    uncovered: tuple[str, ...]

    @property
    def whole(self) -> bool:
        return not self.uncovered


def coverage(
    grant: Grant,
    *,
    targets: Targets,
    facts: tuple[ContainerFacts, ...],
    user_id: str,
) -> Coverage:
    """Which of ``targets`` ``grant`` leaves out, given the containers' ``facts``."""
    if not grant.scoped:
        return Coverage(grant=grant, uncovered=())
    if not targets.any:
        return Coverage(grant=grant, uncovered=("(every object)",))
    missed: list[str] = []
    for fact in facts:
        if not _covers_container(grant, fact, user_id=user_id):
            missed.append(fact.name or f"{fact.asked} (no such container)")
    for image in targets.images:
        # An image is covered by an image scope only: a container scope says nothing of
        # which images may be pulled or run.
        if not grant.images or not _image_matches(grant, image.familiar()):
            missed.append(image.familiar())
    new = targets.new_container
    if new is not None and (grant.containers or grant.labels):
        labels = dict(new.labels)
        made = ContainerFacts(asked=new.name or "(unnamed)", name=new.name, labels=labels)
        if not _container_scope(grant, made):
            missed.append(new.name or "an unnamed container")
    return Coverage(grant=grant, uncovered=tuple(dict.fromkeys(missed)))


def _covers_container(grant: Grant, fact: ContainerFacts, *, user_id: str) -> bool:
    if fact.name is None:
        return False
    if grant.images and not _image_matches(grant, _familiar(fact.image)):
        return False
    if grant.own and fact.labels.get(OWNER_LABEL) != user_id:
        return False
    return _container_scope(grant, fact)


def _container_scope(grant: Grant, fact: ContainerFacts) -> bool:
    if grant.containers and not any(
        fact.name is not None and fnmatchcase(fact.name, glob) for glob in grant.containers
    ):
        return False
    return all(fact.labels.get(key) == value for key, value in grant.labels)


def _image_matches(grant: Grant, reference: str) -> bool:
    """A glob's ``*`` stands within one path component: ``nginx:*`` is not
    ``nginx:5000/evil`` (the host nginx), ``registry:5000/tools/*`` is not
    ``registry:5000/tools/x/y``."""
    parts = reference.split("/")
    for glob in grant.images:
        globs = glob.split("/")
        if len(globs) == len(parts) and all(map(fnmatchcase, parts, globs)):
            return True
    return False


def _familiar(reference: str) -> str:
    try:
        return parse_image_reference(reference, default_tag=True).familiar()
    except ChatOpsError:  # an image ID, or a reference the engine kept that does not parse
        return reference


def pinned(operation: Operation, facts: tuple[ContainerFacts, ...]) -> Operation | None:
    """``operation`` acting on the checked containers by their full IDs (None: nothing to
    pin, or a container without its ID). The engine resolves a full ID before any name."""
    ids = {fact.asked: fact.container_id for fact in facts}
    if not facts or not all(ids.values()):
        return None

    def by_id(targets: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(ids[target] for target in targets)

    match operation:
        case ChangeContainers() | ShowStats() | UpgradeContainers():
            return replace(operation, containers=by_id(operation.containers))
        case ShowLogs() | ShowTop() | ShowPorts() | RollbackContainer():
            return replace(operation, container=ids[operation.container])
        case Inspect():
            return replace(operation, targets=by_id(operation.targets), type=InspectType.CONTAINER)
        case _:
            return None


def candidates(
    grants: tuple[Grant, ...],
    *,
    user_id: str,
    groups: frozenset[str],
    roles: frozenset[str],
    action: str,
    engine: str,
) -> tuple[Grant, ...]:
    """The grants that give ``action`` on ``engine`` to this person, in file order."""
    return tuple(
        grant
        for grant in grants
        if grant.applies(action=action, engine=engine)
        and grant.holds(user_id=user_id, groups=groups, roles=roles)
    )


def best(coverages: list[Coverage]) -> Coverage | None:
    """The first whole coverage; else the one that came closest (fewest left out)."""
    if not coverages:
        return None
    whole = next((c for c in coverages if c.whole), None)
    return whole or min(coverages, key=lambda c: len(c.uncovered))
