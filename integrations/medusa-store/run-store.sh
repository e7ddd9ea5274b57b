#!/usr/bin/env bash
# A real Medusa 2.21 store with the CJ provider, for end-to-end tests:
#
#   integrations/medusa-store/run-store.sh COMMAND [ARGS...]
#
# starts cjsim, a Medusa store (npm ci from package-lock.json, its own Postgres database,
# the provider installed from its `npm pack` tarball) and the cj-fulfillment service, each
# on a free local port; seeds the store through Medusa's Admin API (seed.py: currency,
# region, stock location, fulfillment set and service zone, providers and sales channel
# on the location, products with CJ SKUs and inventory levels, a calculated CJ shipping
# option, a publishable and a secret key); runs COMMAND with the store described in its
# environment (STORE_ENV names a file with the same KEY=VALUE lines; see README.md); then
# stops everything it started (by pid) and drops its databases, on failure too.
# Without COMMAND it keeps the store running until Ctrl-C.
#
# Start order, as a new store does it: Medusa first (the provider needs only the service's
# URL, not the service), then its secret API key, then the service with MEDUSA_URL and
# MEDUSA_SECRET_KEY, then the store's setup (its CJ shipping option needs the service).
#
# Settings: STORE_REDIS_URL (default redis://127.0.0.1:6379/13, flushed at the start),
# STORE_KEEP_LOGS=1 keeps the logs (their folder is printed), MEDUSA_ADMIN=true serves the
# admin dashboard (built with `medusa build` first; slower).
# Needs .venv (make install) and Postgres (make services).
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
STORE=$ROOT/integrations/medusa-store
PROVIDER=$ROOT/integrations/medusa
PY=$ROOT/.venv/bin/python

log() { echo "store: $*"; }
# shellcheck source=../../scripts/lib/node.sh
. "$ROOT/scripts/lib/node.sh"

started=$(date +%s)
ensure_node
npm_ci_once "$STORE"
npm_ci_once "$PROVIDER"

# The provider as a store installs it: the tarball `npm pack` makes, unpacked into the
# store's node_modules (its only dependency, @medusajs/framework, is the store's).
log "packing the provider"
tarball=$(cd "$PROVIDER" && npm pack --silent --pack-destination "$STORE" 2>/dev/null | tail -n 1)
rm -rf "$STORE/node_modules/medusa-fulfillment-cj"
mkdir -p "$STORE/node_modules/medusa-fulfillment-cj"
tar -xzf "$STORE/$tarball" -C "$STORE/node_modules/medusa-fulfillment-cj" --strip-components=1
rm -f "$STORE/$tarball"

WORK=$(mktemp -d)
RUN_ID=$(date +%s)_$$
MEDUSA_DB=medusa_store_$RUN_ID
SERVICE_DB=cj_fulfillment_store_$RUN_ID
REDIS_URL=${STORE_REDIS_URL:-redis://127.0.0.1:6379/13}
pids=()

stop_pid() {
  local pid=$1
  kill -TERM "$pid" 2>/dev/null || return 0
  for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.2; done
  kill -KILL "$pid" 2>/dev/null || true
}

databases() { # databases create|drop NAME...
  "$PY" - "$@" <<'EOF'
import asyncio, sys
import asyncpg

async def main(action, names):
    conn = await asyncpg.connect(host="127.0.0.1", user="postgres", database="postgres")
    try:
        for name in names:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            if action == "create":
                await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()

asyncio.run(main(sys.argv[1], sys.argv[2:]))
EOF
}

cleanup() {
  local status=$?
  trap - EXIT INT TERM
  for pid in "${pids[@]}"; do stop_pid "$pid"; done
  wait 2>/dev/null || true
  databases drop "$MEDUSA_DB" "$SERVICE_DB" || true
  if [ "$status" -ne 0 ]; then
    for name in cjsim medusa service seed; do
      [ -s "$WORK/$name.log" ] && { echo "---- last lines of $name.log"; tail -n 40 "$WORK/$name.log"; }
    done
  fi
  if [ "${STORE_KEEP_LOGS:-}" = 1 ]; then log "logs kept in $WORK"; else rm -rf "$WORK"; fi
  log "done in $(($(date +%s) - started)) s"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

free_port() {
  "$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

wait_http() { # wait_http URL NAME PID SECONDS
  "$PY" - "$@" <<'EOF'
import os, sys, time
import httpx

url, name, pid, seconds = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
deadline = time.monotonic() + seconds
while time.monotonic() < deadline:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        sys.exit(f"store: {name} exited before answering {url}")
    try:
        if httpx.get(url, timeout=2).status_code == 200:
            sys.exit(0)
    except httpx.TransportError:
        pass
    time.sleep(0.2)
sys.exit(f"store: {name} did not answer {url} within {seconds:.0f} s")
EOF
}

SIM_PORT=$(free_port)
SERVICE_PORT=$(free_port)
MEDUSA_PORT=$(free_port)
export CJSIM_URL=http://127.0.0.1:$SIM_PORT
export CJ_FULFILLMENT_URL=http://127.0.0.1:$SERVICE_PORT
export CJ_FULFILLMENT_API_KEY=store-$("$PY" -c 'import secrets; print(secrets.token_hex(16))')
export MEDUSA_URL=http://127.0.0.1:$MEDUSA_PORT

log "cjsim on :$SIM_PORT"
(CJSIM_HOST=127.0.0.1 CJSIM_PORT=$SIM_PORT CJSIM_QPS=10 CJSIM_LOG_LEVEL=warning \
  exec "$PY" -m cjsim) >"$WORK/cjsim.log" 2>&1 </dev/null &
pids+=("$!")
databases create "$MEDUSA_DB" "$SERVICE_DB"
wait_http "$CJSIM_URL/_sim/stats" cjsim "${pids[-1]}" 60

# ---------------------------------------------------------------- Medusa
export_medusa_env() {
  export DATABASE_URL=postgres://postgres@127.0.0.1:5432/$MEDUSA_DB
  export JWT_SECRET=store-jwt-$RUN_ID COOKIE_SECRET=store-cookie-$RUN_ID
  export STORE_CORS=http://localhost:8000 ADMIN_CORS=$MEDUSA_URL AUTH_CORS=$MEDUSA_URL
  export CJ_PROVIDER_TIMEOUT_MS=${CJ_PROVIDER_TIMEOUT_MS:-8000}
  export NODE_ENV=development MEDUSA_DISABLE_TELEMETRY=true LOG_LEVEL=${MEDUSA_LOG_LEVEL:-info}
}
export ADMIN_EMAIL=admin@store.test ADMIN_PASSWORD=store-$RUN_ID
(
  cd "$STORE"
  export_medusa_env
  log "medusa db:migrate"
  node_modules/.bin/medusa db:migrate >"$WORK/medusa-setup.log" 2>&1
  node_modules/.bin/medusa user -e "$ADMIN_EMAIL" -p "$ADMIN_PASSWORD" >>"$WORK/medusa-setup.log" 2>&1
  if [ "${MEDUSA_ADMIN:-}" = true ]; then
    log "medusa build (admin)"
    node_modules/.bin/medusa build >>"$WORK/medusa-setup.log" 2>&1
  fi
) || { tail -n 60 "$WORK/medusa-setup.log"; exit 1; }
log "medusa on :$MEDUSA_PORT"
(cd "$STORE" && export_medusa_env && exec node_modules/.bin/medusa start --port "$MEDUSA_PORT") \
  >"$WORK/medusa.log" 2>&1 </dev/null &
pids+=("$!")
wait_http "$MEDUSA_URL/health" medusa "${pids[-1]}" 240

# ---------------------------------------------------------------- the secret key (Admin API)
export STORE_ENV=$WORK/store.env
: >"$STORE_ENV"
seed() { # seed PHASE
  "$PY" "$STORE/seed.py" "$1" "$STORE_ENV" >>"$WORK/seed.log" 2>&1 || { cat "$WORK/seed.log"; exit 1; }
  set -a
  . "$STORE_ENV"
  set +a
}
log "a secret API key for the service"
seed secret-key

# ---------------------------------------------------------------- the service
# One cjsim account for every process of the service (the CLI that registers webhooks too).
CJ_API_KEY="CJ$((RANDOM * 32768 + RANDOM))@api@store$RUN_ID"
export_service_env() {
  export DATABASE_URL=postgresql+asyncpg://postgres@127.0.0.1:5432/$SERVICE_DB
  export REDIS_URL
  export SERVICE_API_KEYS=$CJ_FULFILLMENT_API_KEY
  export TOKEN_ENCRYPTION_KEY=store-$RUN_ID
  export CJ_API_BASE_URL=$CJSIM_URL/api2.0/v1
  export CJ_API_KEY
  export CJ_QPS=10 CJ_TIMEOUT_SECONDS=${CJ_TIMEOUT_SECONDS:-20}
  export RUN_WORKER_IN_PROCESS=true WORKER_POLL_SECONDS=0.5
  export SUBMIT_BUDGET_MS=${SUBMIT_BUDGET_MS:-20000}
  export SUBMIT_RETRY_INITIAL_SECONDS=1 SUBMIT_RETRY_MAX_SECONDS=2
  export ENVIRONMENT=development LOG_FORMAT=json LOG_LEVEL=INFO
  export MEDUSA_URL MEDUSA_SECRET_KEY
  export NOTIFY_URL="" NOTIFY_SECRET=""
}
"$PY" -c "import redis, sys; redis.Redis.from_url(sys.argv[1]).flushdb()" "$REDIS_URL"
(
  export_service_env
  .venv/bin/alembic upgrade head >"$WORK/service-setup.log" 2>&1
  "$PY" - "$CJSIM_URL" "$WORK/skus.csv" <<'EOF'
import csv, sys
import httpx

variants = httpx.get(f"{sys.argv[1]}/_sim/catalog", timeout=10).json()["variants"]
with open(sys.argv[2], "w", newline="") as out:
    writer = csv.writer(out)
    writer.writerow(("sku", "vid", "from_country"))
    writer.writerows((v["sku"], v["vid"], v["from_country"]) for v in variants)
EOF
  .venv/bin/cj-fulfillment skus import "$WORK/skus.csv" >>"$WORK/service-setup.log" 2>&1
) || { cat "$WORK/service-setup.log"; exit 1; }
log "service on :$SERVICE_PORT"
(export_service_env && exec .venv/bin/python -m uvicorn app.main:app \
  --host 127.0.0.1 --port "$SERVICE_PORT" --no-access-log) >"$WORK/service.log" 2>&1 </dev/null &
pids+=("$!")
wait_http "$CJ_FULFILLMENT_URL/health/ready" service "${pids[-1]}" 90
# CJ's webhooks (cjsim sends them when an order moves) reach the service.
(export_service_env && .venv/bin/cj-fulfillment cj webhooks register --url "$CJ_FULFILLMENT_URL/webhooks/cj") \
  >>"$WORK/service-setup.log" 2>&1 || { cat "$WORK/service-setup.log"; exit 1; }

# ---------------------------------------------------------------- the store (Admin API)
log "seeding the store through the Admin API"
seed store

cat >>"$STORE_ENV" <<EOF
CJSIM_URL=$CJSIM_URL
CJ_FULFILLMENT_URL=$CJ_FULFILLMENT_URL
CJ_FULFILLMENT_API_KEY=$CJ_FULFILLMENT_API_KEY
STORE_LOG_DIR=$WORK
EOF
log "store ready in $(($(date +%s) - started)) s: Medusa $MEDUSA_URL, service $CJ_FULFILLMENT_URL, cjsim $CJSIM_URL"

if [ $# -eq 0 ]; then
  log "admin: $ADMIN_EMAIL / $ADMIN_PASSWORD; Ctrl-C stops everything"
  wait -n "${pids[@]}"
else
  "$@"
fi
