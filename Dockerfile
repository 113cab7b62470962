# The bot in a container: `serve` (Slack) by default, `console` for the local console.
# The whole deployment, behind a Docker socket proxy, is compose.yaml: `docker compose up -d`.
# On its own:
#
#   docker run -d -p 3000:3000 --stop-timeout 15 \
#     -v chatops-state:/data -e CHATOPS_DATABASE_URL=sqlite:////data/chatops.db \
#     -v "$PWD/chatops.toml:/etc/chatops/chatops.toml:ro" \
#     -e CHATOPS_CONFIG=/etc/chatops/chatops.toml \
#     -v /var/run/docker.sock:/var/run/docker.sock \
#     --group-add "$(stat -c %g /var/run/docker.sock)" \
#     --env-file .env docker-chatops
#
# The bot runs as an unprivileged user; --group-add gives it the socket's group. Access to the
# socket is root-equivalent on that host: prefer compose.yaml's socket proxy.
FROM python:3.11-slim

ARG VERSION=0.1.0
LABEL org.opencontainers.image.title="docker-chatops" \
      org.opencontainers.image.description="Drive Docker engines from Slack, with approvals, audit and housekeeping" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.licenses="MIT" \
      org.opencontainers.image.source="https://github.com/example/docker-chatops-bot"

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# ssh:// engines go through the system's OpenSSH client.
RUN apt-get update \
    && apt-get install -y --no-install-recommends openssh-client \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --create-home --home-dir /home/chatops chatops \
    && install -d -o chatops -g chatops /data

WORKDIR /app
# Dependencies first, at the locked versions CI tested: a change to the code does not
# reinstall them.
COPY pyproject.toml constraints.txt ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" > /tmp/requirements.txt \
    && pip install -c constraints.txt -r /tmp/requirements.txt \
    && rm /tmp/requirements.txt
COPY README.md ./
COPY bot ./bot
RUN pip install --no-deps .

USER chatops
WORKDIR /home/chatops
VOLUME ["/data"]
EXPOSE 3000
# SIGTERM: the bot stops taking requests and lets the work under way finish.
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ.get('PORT', '3000') + '/healthz', timeout=4)"]
ENTRYPOINT ["python", "-m", "bot"]
CMD ["serve"]
