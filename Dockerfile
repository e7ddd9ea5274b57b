# syntax=docker/dockerfile:1.7
# Build: docker build -t cj-fulfillment .
# Migrate (a separate step, before the web and worker start):
#   docker run --rm --env-file .env cj-fulfillment alembic upgrade head
# Web:     docker run --env-file .env -p 8000:8000 cj-fulfillment
# Worker:  docker run --env-file .env cj-fulfillment python -m app.workers

FROM python:3.11-slim AS builder
ENV UV_COMPILE_BYTECODE=1 UV_LINK_MODE=copy UV_PYTHON_DOWNLOADS=never
RUN pip install --no-cache-dir uv==0.13.9
WORKDIR /app
COPY pyproject.toml uv.lock ./
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-install-project --no-dev
COPY app ./app
COPY cjsim ./cjsim
COPY migrations ./migrations
COPY alembic.ini README.md ./
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev

FROM python:3.11-slim
RUN groupadd --system --gid 999 app && useradd --system --uid 999 --gid app --home /app app
WORKDIR /app
COPY --from=builder --chown=app:app /app /app
ENV PATH="/app/.venv/bin:$PATH" PYTHONUNBUFFERED=1 PORT=8000 \
    ENVIRONMENT=production LOG_FORMAT=json
USER app
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=3s --start-period=10s --retries=3 \
    CMD python -c "import os, urllib.request; urllib.request.urlopen(f'http://127.0.0.1:{os.environ[\"PORT\"]}/health/live', timeout=2)"
CMD ["sh", "-c", "exec uvicorn app.main:app --host 0.0.0.0 --port ${PORT} --no-access-log --timeout-graceful-shutdown 20 --proxy-headers"]
