#!/usr/bin/env bash
# `make run`: the embedded first run. SQLite, no Redis, the worker loops in-process, and
# the bundled CJ simulator unless CJ_API_KEY names a real CJ account.
set -euo pipefail
cd "$(dirname "$0")/.."

[ -f .env ] && { set -a; . ./.env; set +a; }

export PORT=${PORT:-8000}
export DATABASE_URL=${DATABASE_URL:-sqlite+aiosqlite:///./cj_fulfillment.db}
export REDIS_URL=${REDIS_URL:-}
export SERVICE_API_KEYS=${SERVICE_API_KEYS:-dev-key-change-me}
export TOKEN_ENCRYPTION_KEY=${TOKEN_ENCRYPTION_KEY:-dev-only-encryption-key}
export RUN_WORKER_IN_PROCESS=${RUN_WORKER_IN_PROCESS:-true}
export LOG_FORMAT=${LOG_FORMAT:-console}

pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; }
trap cleanup EXIT INT TERM

if [ -z "${CJ_API_KEY:-}" ]; then
  export CJSIM_PORT=${CJSIM_PORT:-8700}
  export CJ_API_BASE_URL="http://127.0.0.1:${CJSIM_PORT}/api2.0/v1"
  export CJ_API_KEY="CJ0000001@api@simulator"
  export CJ_SANDBOX=true
  # The simulator keeps its accounts, tokens and orders here, so a restart does not reset "CJ".
  export CJSIM_STATE=${CJSIM_STATE-.cjsim/state.json}
  # The simulator's webhooks come on a path token, as CJ's must (README, Tracking).
  export CJ_WEBHOOK_PATH_TOKEN=${CJ_WEBHOOK_PATH_TOKEN:-dev-path-token}
  .venv/bin/python -m cjsim &
  pids+=("$!")
  cj_target="the bundled CJ simulator on http://127.0.0.1:${CJSIM_PORT}, state ${CJSIM_STATE:-in memory}"
else
  cj_target="CJ at ${CJ_API_BASE_URL:-the default base URL}"
fi

.venv/bin/alembic upgrade head >/dev/null
first_key=${SERVICE_API_KEYS%%,*}
cat <<MSG

  cj-fulfillment listens on http://127.0.0.1:${PORT}  (talking to ${cj_target})
  database: ${DATABASE_URL}   redis: ${REDIS_URL:-none}
  try:  curl -H 'Authorization: Bearer ${first_key}' http://127.0.0.1:${PORT}/v1/fulfillment-options
        curl http://127.0.0.1:${PORT}/health/ready
  API docs: http://127.0.0.1:${PORT}/docs     stop with Ctrl-C

MSG
.venv/bin/uvicorn app.main:app --host 127.0.0.1 --port "$PORT" --no-access-log &
pids+=("$!")
wait -n "${pids[@]}"
