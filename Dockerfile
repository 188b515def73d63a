# syntax=docker/dockerfile:1
# Any of the three process types: clock, web or worker (the Procfile's names).
#   docker build -t comms .
#   docker run --env-file .env comms clock      # exactly one
#   docker run --env-file .env -p 8000:8000 comms web
#   docker run --env-file .env comms worker --concurrency 4    # as many as the volume needs
#   docker run --env-file .env comms db upgrade                # once per release, before the others
# Anything else is passed to `comms` as it is (e.g. `status`, `jobs`). Settings come from the
# environment (COMMS_DATABASE_URL=postgresql+psycopg://..., COMMS_QUEUE=procrastinate, ...); PORT,
# WEB_CONCURRENCY and WORKER_CONCURRENCY mean what they mean in the Procfile, and arguments given after
# the process type win over them. tests/deploy/test_dockerfile.py builds it, or replays it without an engine.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1

RUN useradd --create-home --uid 10001 comms
WORKDIR /app

COPY pyproject.toml README.md ./
COPY pipeline ./pipeline
COPY channels ./channels
COPY content_calendar ./content_calendar
COPY templates ./templates
COPY examples ./examples
RUN pip install ".[postgres]" && mkdir -p /app/var && chown -R comms:comms /app/var

COPY --chmod=755 <<'SH' /usr/local/bin/comms-process
#!/bin/sh
set -e
case "$1" in
  clock) shift; exec comms run "$@" ;;
  web) shift; exec comms web --host 0.0.0.0 --port "${PORT:-8000}" --workers "${WEB_CONCURRENCY:-4}" "$@" ;;
  worker) shift; exec comms worker --concurrency "${WORKER_CONCURRENCY:-2}" "$@" ;;
  *) exec comms "$@" ;;
esac
SH

USER comms
EXPOSE 8000
ENTRYPOINT ["comms-process"]
CMD ["clock"]
