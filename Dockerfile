# The bot in a container: `serve` (Slack) by default, `console` for the local console.
# It talks to Docker through the engine's socket (or tcp/ssh):
#
#   docker run -d -p 3000:3000 \
#     -v /var/run/docker.sock:/var/run/docker.sock \
#     --group-add "$(stat -c %g /var/run/docker.sock)" \
#     --env-file .env docker-chatops
#
# The bot runs as an unprivileged user; --group-add gives it the socket's group. Access to the
# socket is root-equivalent on that host: the bot's own policy is what keeps users in bounds.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
COPY pyproject.toml README.md ./
COPY bot ./bot
RUN pip install . \
    && useradd --system --uid 10001 --create-home --home-dir /home/chatops chatops

USER chatops
# State (the SQLite file) and an optional chatops.toml live in the working directory.
WORKDIR /home/chatops
EXPOSE 3000
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ.get('PORT', '3000') + '/healthz', timeout=4)"]
ENTRYPOINT ["python", "-m", "bot"]
CMD ["serve"]
