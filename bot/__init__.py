"""Docker chat-ops bot: drive Docker engines from Slack or a local console."""

from __future__ import annotations

DISTRIBUTION = "docker-chatops-bot"


def package_version() -> str:
    """The installed distribution's version, or ``unknown`` when run from a bare checkout.

    Read on demand: importlib.metadata costs some 40 ms, which ``exec`` must not pay.
    """
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(DISTRIBUTION)
    except PackageNotFoundError:
        return "unknown (not installed)"
