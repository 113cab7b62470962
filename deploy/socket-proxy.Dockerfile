# The Docker socket proxy of compose.yaml: Debian's HAProxy (the major version pinned in
# deploy/haproxy.version, which tests/scenarios/test_socket_proxy.py runs deploy/haproxy.cfg
# on) with that configuration. Build context: deploy/.
#
# BASE: a Debian bookworm image, the bot's own base (compose passes the same one). The base
# scripts/base-image builds has HAProxy already; any other gets it from Debian, at the pinned
# version. Either way the build stops unless HAProxy is that version.
ARG BASE=python:3.11-slim-bookworm
FROM ${BASE}

LABEL org.opencontainers.image.title="docker-chatops-socket-proxy" \
      org.opencontainers.image.description="Only the Docker Engine API calls docker-chatops makes, from its address alone" \
      org.opencontainers.image.licenses="MIT" \
      org.opencontainers.image.source="https://github.com/example/docker-chatops-bot"

SHELL ["/bin/bash", "-o", "pipefail", "-c"]

COPY haproxy.version /etc/haproxy/version
RUN pin=$(cat /etc/haproxy/version) \
    && if ! command -v haproxy >/dev/null; then \
        apt-get update \
        && apt-get install -y --no-install-recommends "haproxy=${pin}.*" \
        && rm -rf /var/lib/apt/lists/*; \
    fi \
    && if ! haproxy -v | grep -F "version ${pin}."; then \
        echo "HAProxy ${pin} is wanted (deploy/haproxy.version)" >&2; exit 1; \
    fi
COPY haproxy.cfg /etc/haproxy/haproxy.cfg
# The configuration as compose runs it must load.
RUN PROXY_BIND=:2375 DOCKER_SOCKET=/var/run/docker.sock BOT_ADDRESS=127.0.0.1 \
    haproxy -c -f /etc/haproxy/haproxy.cfg

# No state, no pid file, no chroot: a numeric user that holds nothing but the socket's group
# (compose: group_add). 2375 needs no capability.
USER 10002:10002
EXPOSE 2375
STOPSIGNAL SIGTERM
CMD ["haproxy", "-db", "-f", "/etc/haproxy/haproxy.cfg"]
