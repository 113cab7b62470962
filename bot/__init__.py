"""Docker chat-ops bot: drive Docker engines from Slack or a local console."""

__version__ = "0.1.0"
