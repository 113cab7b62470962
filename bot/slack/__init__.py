"""The Slack adapter: Bolt app, slash command handling and message delivery."""
