"""What makes an approved plan no longer hold, for the real and the fake engine alike.

An approval binds the exact objects planned (by ID). If a name now means another object, or is
gone, the whole plan is refused: approvers approved those objects, not whatever the names mean
by now. (A cleanup plan skips changed objects instead: ``bot.core.cleanup``.)
"""

from __future__ import annotations

from bot.core.humanize import short_id
from bot.core.plans import PlanItem
from bot.errors import PlanChanged


def item_change(item: PlanItem, current_id: str | None) -> str | None:
    """What changed about ``item`` (``current_id``: what its target names now, None: gone)."""
    if current_id is None:
        return f"{item.target} no longer exists"
    if current_id != item.id:
        return f"{item.target} is now {short_id(current_id)}, not the planned {short_id(item.id)}"
    return None


def refuse_changed(changes: list[str]) -> None:
    """Raise ``PlanChanged`` naming every change, if there is any."""
    if changes:
        raise PlanChanged(
            "Nothing was done, because the plan no longer holds: " + "; ".join(changes)
        )
