# The service image: gunicorn with uvicorn workers (api/gunicorn.conf.py), every setting from
# the environment (docs/operators.md). No Docker engine runs in CI: this file is linted there
# (hadolint, tests/test_container.py) and the install script it runs is the one CI runs, in a
# fresh virtual environment; the image itself is not built in CI.
#
#   docker build -t baclofen-cds .
#   docker run -p 8000:8000 -v baclofen-state:/var/lib/baclofen-cds \
#       -e CDS_AUTH=required -e CDS_JWT_ISSUERS=... -e CDS_PUBLIC_BASE_URL=... baclofen-cds
#
# It listens on 0.0.0.0, so it does not start until CDS_AUTH says how callers are
# authenticated (`required`, or `open` on purpose: docs/operators.md).

# Build: gcc compiles durable-rules (released only as an sdist) while scripts/install.sh
# installs the hashed runtime lock, without test tools, into /opt/venv.
FROM python:3.12-slim-bookworm AS build
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends gcc libc6-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY pyproject.toml README.md ./
COPY requirements/ requirements/
COPY scripts/install.sh scripts/build-durable.sh scripts/
COPY engine/ engine/
COPY rules/ rules/
COPY api/ api/
RUN PYTHON=python3 scripts/install.sh --no-editable /opt/venv

# Runtime: the slim image, the virtual environment, no compiler, a user without privileges.
FROM python:3.12-slim-bookworm
RUN useradd --system --uid 10001 --user-group --home-dir /nonexistent --shell /usr/sbin/nologin cds \
    && mkdir -p /var/lib/baclofen-cds \
    && chown cds:cds /var/lib/baclofen-cds
COPY --from=build /opt/venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HOST=0.0.0.0 \
    PORT=8000 \
    CDS_DATABASE_URL=sqlite:////var/lib/baclofen-cds/cds.sqlite3
# The state (embedded store: feedback and the JWT replay memory); CDS_DATABASE_URL=postgresql://
# shares it between machines instead.
VOLUME ["/var/lib/baclofen-cds"]
WORKDIR /var/lib/baclofen-cds
USER 10001:10001
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-m", "api.probe", "/livez"]
# gunicorn replaces the CLI process and handles SIGTERM (graceful: GRACEFUL_TIMEOUT).
STOPSIGNAL SIGTERM
CMD ["baclofen-cds", "serve"]
