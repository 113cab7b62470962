"""Protected objects and the bot's reserved labels: pure rules over names and labels.

A container, network or volume labelled ``chatops.protected=true`` (the bot, its socket proxy,
their networks and the state volume in ``compose.yaml``), and the bot's own container even
without the label, may be listed and nothing else from chat: no logs, inspect, top, stats,
port, no start/stop/restart/pause/rm, no joining its network or namespaces, no mounting it.
Refused at once, whatever the role, never put to approvers; housekeeping and notifications
leave it alone.

The ``chatops.`` label namespace is the bot's: ``chatops.protected`` can never be set from
chat, the others (keep, quiet, owner...) and the configured keep/quiet labels by admins only.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

PROTECTED_LABEL = "chatops.protected"
RESERVED_PREFIX = "chatops."
# Set by the bot on what it makes for a chat user: the container (``run``) and the named
# volumes it creates for a ``run``; a volume with CREATED_BY_LABEL may be mounted again.
OWNER_LABEL = "chatops.owner"
CREATED_BY_LABEL = "chatops.created-by"
CREATED_BY_CHAT = "chat"
# A label value that says "no": anything else (true, 1, yes, even a typo) protects.
_NO = frozenset({"false", "0", "no", "off"})


def is_protected(labels: Mapping[str, str] | None) -> bool:
    """Does ``labels`` carry ``chatops.protected`` with any value but an explicit no?"""
    if not labels or PROTECTED_LABEL not in labels:
        return False
    return str(labels[PROTECTED_LABEL]).strip().lower() not in _NO


@dataclass(frozen=True, kw_only=True, slots=True)
class Protection:
    """What is protected besides the label: the bot's own container(s), by full ID."""

    own_container_ids: frozenset[str] = frozenset()
    # Labels outside the namespace that carry the bot's meaning (configured keep/quiet labels).
    admin_labels: frozenset[str] = frozenset()

    def inherited_reserved(
        self, labels: Mapping[str, str] | None, *, given: Iterable[str]
    ) -> list[str]:
        """The reserved labels a new container carries that ``run`` did not set: its image's
        (a pulled image could otherwise keep itself from housekeeping and notices). Set
        explicitly, they were judged by the policy; inherited, nobody judged them."""
        typed = set(given)
        return sorted(
            key
            for key in labels or {}
            if key not in typed and is_reserved(key, admin_labels=self.admin_labels)
        )

    def container_refusal(
        self, *, container_id: str, labels: Mapping[str, str] | None, shown: str
    ) -> str | None:
        """Why chat may not touch this container (``shown``: how the user named it), or None."""
        if container_id in self.own_container_ids:
            return f"container `{shown}` is the bot's own: nothing in chat may touch it"
        if is_protected(labels):
            return refusal("container", shown)
        return None


NOTHING_PROTECTED_BUT_LABELS = Protection()


def refusal(kind: str, shown: str) -> str:
    """The one wording of a refused protected object, whatever the action."""
    return (
        f"{kind} `{shown}` is protected (label {PROTECTED_LABEL}=true): it may be listed, "
        "and nothing else from chat"
    )


def reserved_label_problems(
    keys: Iterable[str], *, is_admin: bool, admin_labels: Iterable[str] = ()
) -> list[str]:
    """Each label in ``keys`` this person may not set on a container.

    ``admin_labels``: labels outside the namespace that carry the bot's meaning anyway (the
    configured housekeeping keep label and notification quiet label).
    """
    problems: list[str] = []
    for key in keys:
        if key.strip().lower() == PROTECTED_LABEL:
            problems.append(
                f"label `{PROTECTED_LABEL}` cannot be set from chat (it is the operator's, "
                "in the deployment)"
            )
        elif is_reserved(key, admin_labels=admin_labels) and not is_admin:
            problems.append(f"label `{key}` is reserved for the bot: only admins may set it")
    return problems


def is_reserved(key: str, *, admin_labels: Iterable[str] = ()) -> bool:
    """Is ``key`` the bot's: in the ``chatops.`` namespace or one of ``admin_labels``, in any
    letter case and with any surrounding spaces?"""
    folded = key.strip().lower()
    return folded.startswith(RESERVED_PREFIX) or any(
        folded == label.lower() for label in admin_labels
    )
