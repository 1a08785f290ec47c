# Tollgate: one small, non-root image for every role (see deploy/docker-entrypoint.sh).
#   docker build -t tollgate .
#   docker run --rm -e DATABASE_URL=... tollgate migrate          # wait for the database, migrate, load the config
#   docker run -p 4000:4000 -e DATABASE_URL=... -e REDIS_URL=... tollgate web
#   docker run -e DATABASE_URL=... -e REDIS_URL=... tollgate worker   # and one `beat`
# It needs BuildKit (Docker 23+ by default, DOCKER_BUILDKIT=1 on 20.10), or buildah / podman with --format docker (their
# default OCI format drops the HEALTHCHECK). The base is an ARG, for a registry mirror:
#   docker build --build-arg PYTHON_IMAGE=mirror.example.com/python:3.11-slim-bookworm -t tollgate .
# With no environment it serves the embedded default (SQLite in /var/lib/tollgate, the offline mock provider).

ARG PYTHON_IMAGE=python:3.11-slim-bookworm
FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
# strip, for the shared objects below (this stage only). Debian's point releases replace package versions, so a
# pinned version would break the build; the runtime stage installs nothing.
# hadolint ignore=DL3008
RUN apt-get update && apt-get install -y --no-install-recommends binutils && rm -rf /var/lib/apt/lists/*
WORKDIR /src
RUN python -m venv /opt/venv
COPY pyproject.toml ./
COPY apps ./apps
COPY gatewaysite ./gatewaysite
COPY deploy/slim-venv.sh ./
# The dependencies only (the application itself is copied to /app below, once), trimmed to what runs: 210 MB of
# packages become about 121 MB on disk, a 101 MB layer (deploy/slim-venv.sh says what goes and why).
RUN /opt/venv/bin/pip install . \
    && /opt/venv/bin/pip uninstall --yes tollgate \
    && /opt/venv/bin/pip uninstall --yes pip setuptools wheel \
    && sh slim-venv.sh /opt/venv

FROM ${PYTHON_IMAGE}
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PATH=/opt/venv/bin:$PATH \
    TOLLGATE_VAR_DIR=/var/lib/tollgate TOLLGATE_PRODUCTION=1 TOLLGATE_CONFIG=/app/examples/config.yaml PORT=4000
RUN useradd --system --uid 10001 --gid 0 --home-dir /app --no-create-home tollgate \
    && mkdir -p /var/lib/tollgate && chown 10001:0 /var/lib/tollgate && chmod 0770 /var/lib/tollgate
COPY --from=build /opt/venv /opt/venv
WORKDIR /app
COPY manage.py ./
COPY gatewaysite ./gatewaysite
COPY apps ./apps
COPY templates ./templates
COPY static ./static
COPY examples ./examples
COPY --chmod=0755 deploy/docker-entrypoint.sh /usr/local/bin/tollgate-entrypoint
USER 10001
EXPOSE 4000
STOPSIGNAL SIGTERM
# One HEALTHCHECK for every role (the entrypoint's `healthcheck` knows which runs). Start-up counts no failures for
# 60 s: an embedded container migrates its SQLite first, and on a loaded 2-core machine it took 33 to 70 s to answer.
HEALTHCHECK --interval=15s --timeout=3s --start-period=60s --retries=3 \
    CMD ["tollgate-entrypoint", "healthcheck"]
ENTRYPOINT ["tollgate-entrypoint"]
CMD ["web"]
