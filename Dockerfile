# syntax=docker/dockerfile:1
# Every Headwater image, from one file: `--build-arg SERVICE=<a folder under services/>` picks the service.
#
#   docker build --build-arg SERVICE=gateway --build-arg PORT=8080 -t headwater/gateway:latest .
#   docker build --build-arg SERVICE=execution-tracking --build-arg PORT=8081 -t headwater/execution-tracking:latest .
#
# The image runs `python -m headwater.<service>` (ENTRYPOINT `headwater-service`); its commands:
#   migrate  upgrades the service's schema as its own role, then exits (run it first, once);
#   serve    the HTTP API on PORT, the default command;
#   worker   the Kafka subscribers, the outbox relay and the service's background loops (not the gateway);
#   the gateway also has bootstrap, create-user and set-password (`--help` lists them).
#
# Only what the service needs is installed: `uv sync --frozen --no-dev --package headwater-<service>`, from
# uv.lock exactly, into /app/.venv, with the workspace packages installed as wheels (not editable), so the
# runtime stage needs nothing but the virtual environment. The wheel holds everything under
# services/<service>/src/headwater, the Alembic migrations (adapters/db/migrations) included.

ARG PYTHON_IMAGE=python:3.11-slim

# ---------------------------------------------------------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS builder

ARG SERVICE
ARG UV_VERSION=0.13.9
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_ROOT_USER_ACTION=ignore \
    UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_PYTHON=/usr/local/bin/python3.11 \
    UV_PROJECT_ENVIRONMENT=/app/.venv

RUN test -n "${SERVICE}" || { echo "build with --build-arg SERVICE=<a folder under services/>" >&2; exit 1; }
RUN pip install "uv==${UV_VERSION}"

WORKDIR /src

# 1. Third-party dependencies only, from the lock file and every workspace member's pyproject.toml (uv needs
#    all members to read the workspace): this layer is rebuilt only when dependencies change.
COPY pyproject.toml uv.lock ./
COPY libs/common/pyproject.toml libs/common/
COPY libs/devstack/pyproject.toml libs/devstack/
COPY services/execution-tracking/pyproject.toml services/execution-tracking/
COPY services/gateway/pyproject.toml services/gateway/
COPY services/quality-alerting/pyproject.toml services/quality-alerting/
COPY services/scheduler/pyproject.toml services/scheduler/
COPY services/ingestion/pyproject.toml services/ingestion/
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --package "headwater-${SERVICE}" --no-install-workspace

# 2. The workspace packages this service depends on, as regular (non-editable) installs.
COPY libs/common/ libs/common/
COPY services/${SERVICE}/ services/${SERVICE}/
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --package "headwater-${SERVICE}" --no-editable

# 3. The command line (an exec-form ENTRYPOINT cannot expand a build argument): `headwater-service ARGS` runs
#    `python -m headwater.<service, with _ for ->` ARGS.
RUN printf '#!/bin/sh\nexec python -m headwater.%s "$@"\n' "$(echo "${SERVICE}" | tr - _)" \
        > /app/.venv/bin/headwater-service \
 && chmod 0755 /app/.venv/bin/headwater-service

# ---------------------------------------------------------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS runtime

ARG PORT=8080

RUN groupadd --system --gid 10001 headwater \
 && useradd --system --uid 10001 --gid headwater --home-dir /nonexistent --no-create-home \
        --shell /usr/sbin/nologin headwater

# Owned by root and not writable by the service user; bytecode is compiled at build time, so a read-only
# root filesystem works.
COPY --from=builder /app/.venv /app/.venv

# HEADWATER_<SETTING> is every service's fallback for HEADWATER_<SERVICE>_<SETTING>.
ENV PATH=/app/.venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    HEADWATER_HTTP_HOST=0.0.0.0 \
    HEADWATER_HTTP_PORT=${PORT}

WORKDIR /app
# Numeric, so that Kubernetes' runAsNonRoot can verify it.
USER 10001:10001
EXPOSE ${PORT}

ENTRYPOINT ["headwater-service"]
CMD ["serve"]
