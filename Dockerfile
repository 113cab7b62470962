# The bot in a container: `serve` (Slack) by default, `console` for the local console.
# The whole deployment, behind a Docker socket proxy, is compose.yaml (README, "Running in
# production"): `docker compose up -d --build`.
#
# Build arguments:
#   BASE    a Debian bookworm image with Python 3.11 (default: Docker Hub's python slim).
#           Where nothing can be pulled, scripts/base-image builds one from Debian packages
#           (python3, python3-venv, openssh-client...) and prints its name.
#   WHEELS  a folder of the build context (default wheels/, which holds no wheel as
#           committed): when it holds wheels (scripts/wheels fills wheels/ with every one the
#           image needs), pip installs from it alone, without the package index; otherwise
#           from the index.
# Both ways install the locked versions of constraints.txt, which CI tests.
#
# On its own (compose.yaml is the safer way: the bot never holds the socket there):
#
#   docker run -d -p 127.0.0.1:3000:3000 --stop-timeout 15 --init --read-only --tmpfs /tmp \
#     --cap-drop ALL --security-opt no-new-privileges \
#     -v chatops-state:/data -e CHATOPS_DATABASE_URL=sqlite:////data/chatops.db \
#     -v "$PWD/chatops.toml:/etc/chatops/chatops.toml:ro" \
#     -e CHATOPS_CONFIG=/etc/chatops/chatops.toml \
#     -v /var/run/docker.sock:/var/run/docker.sock \
#     --group-add "$(stat -c %g /var/run/docker.sock)" \
#     --env-file .env docker-chatops
ARG BASE=python:3.11-slim-bookworm
FROM ${BASE}

ARG VERSION=0.1.0
ARG WHEELS=wheels
LABEL org.opencontainers.image.title="docker-chatops" \
      org.opencontainers.image.description="Drive Docker engines from Slack, with approvals, audit and housekeeping" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.licenses="MIT" \
      org.opencontainers.image.source="https://github.com/example/docker-chatops-bot"

# The bot's own virtual environment first on PATH: Debian's python3 is externally managed,
# and the venv keeps the bot's packages apart from the base's either way.
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PATH=/opt/chatops/bin:$PATH

SHELL ["/bin/bash", "-o", "pipefail", "-c"]

# ssh:// engines go through the system's OpenSSH client (scripts/base-image's base has it; a
# base without it gets it from Debian). The numeric user 10001 owns only /data.
RUN if ! command -v ssh >/dev/null; then \
        apt-get update \
        && apt-get install -y --no-install-recommends openssh-client \
        && rm -rf /var/lib/apt/lists/*; \
    fi \
    && groupadd --system --gid 10001 chatops \
    && useradd --system --uid 10001 --gid 10001 --create-home --home-dir /home/chatops chatops \
    && install -d -o 10001 -g 10001 /data \
    && python3 -m venv /opt/chatops

WORKDIR /app
# Dependencies first, at the locked versions: a change to the code does not reinstall them.
# The PostgreSQL driver is in, so that `--profile postgres` (several replicas) works.
COPY pyproject.toml constraints.txt ./
COPY ${WHEELS}/ /tmp/wheels/
RUN python3 -c "import tomllib; p = tomllib.load(open('pyproject.toml', 'rb'))['project']; print('\n'.join(p['dependencies'] + p['optional-dependencies']['postgres']))" > /tmp/requirements.txt \
    && offline=() \
    && if compgen -G "/tmp/wheels/*.whl" >/dev/null; then offline=(--no-index --find-links /tmp/wheels); fi \
    && pip install "${offline[@]}" -c constraints.txt -r /tmp/requirements.txt setuptools \
    && rm -rf /tmp/requirements.txt /tmp/wheels
COPY README.md ./
COPY bot ./bot
# Nothing to fetch: setuptools is installed above (no build isolation, no index needed).
RUN pip install --no-index --no-deps --no-build-isolation . \
    && rm -rf build ./*.egg-info

# Numeric, so that the engine (and Kubernetes' runAsNonRoot) can tell it is not root
# without reading the image's /etc/passwd.
USER 10001:10001
WORKDIR /home/chatops
VOLUME ["/data"]
EXPOSE 3000
# SIGTERM: the bot stops taking requests and lets the work under way finish.
STOPSIGNAL SIGTERM
# Liveness: /livez answers while the process serves, whether the engines answer or not
# (/readyz, alias /healthz, is about the engines; a restart would not bring them back).
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + (os.environ.get('CHATOPS_PORT') or os.environ.get('PORT') or '3000') + '/livez', timeout=4)"]
ENTRYPOINT ["python", "-m", "bot"]
CMD ["serve"]
