"""Neutral views that are not a command's result: what a platform renders in its own way.

A command's answer is a ``bot.core.results.Result``; a notice is an ``IncidentView`` or a
``SummaryView`` (``bot.core.notices.incidents``). These are the rest: the Home tab's state and
one object picked from a listing, to be shown with what may be done to it.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.core.approval_records import ApprovalRecord
from bot.core.freezes import Outlook
from bot.core.notices.silences import Silence
from bot.core.plans import ObjectKind
from bot.core.results import CleanupStatus


@dataclass(frozen=True, kw_only=True, slots=True)
class EngineLine:
    """One engine as the Home tab lists it."""

    name: str
    ok: bool
    default: bool = False
    version: str | None = None  # None: not known (unreachable or slow)


@dataclass(frozen=True, kw_only=True, slots=True)
class HomeState:
    """What the Home tab shows to ``user_id``."""

    user_id: str
    roles: tuple[str, ...]  # the roles this person holds, lowest first
    allowed: tuple[str, ...]  # actions they may run at once (on the default engine)
    with_approval: tuple[str, ...]  # actions that wait for an approver
    engines: tuple[EngineLine, ...]
    pending: tuple[ApprovalRecord, ...]
    may_approve: bool
    approvers: str  # who may approve, for people to read
    housekeeping: CleanupStatus | None
    command: str = "/docker"
    freezes: Outlook | None = None  # [[freeze]] windows in force and the next; None: not shown
    silences: tuple[Silence, ...] = ()  # in force, on engines this person may read


@dataclass(frozen=True, kw_only=True, slots=True)
class PickedObject:
    """One listed object: where, which (full ID), a label, and an image's repo:tag."""

    engine: str
    kind: ObjectKind
    object_id: str
    label: str  # a name or repo:tag as listed (engine data: escape before showing)
    reference: str | None = None  # an image's repo:tag, for Pull again
