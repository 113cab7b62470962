"""What every platform's renderer shares: Docker-style columns, sizes and ages, notes on what a
result left out, pull progress, and rendering once for many readers. Nothing here knows a
platform; each one renders in its own folder (``bot/slack/render/``, ``bot/console/``)."""
