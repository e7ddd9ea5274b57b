#!/usr/bin/env bash
# `make test`, the Medusa part: the provider package in integrations/medusa.
#
# 1. Node.js >= 20.19 and npm (apt-get when missing; Node from the npm registry's
#    node-linux-<arch> package into .tools/node when the system's is too old), then
#    `npm ci` from package-lock.json when node_modules is missing or older than the lock.
# 2. tsc --noEmit (server code and admin widget), the unit tests, `medusa plugin:build`
#    and the tarball `npm pack` would publish (it must hold the provider, the routes, the
#    plugin module and the admin bundle).
# 3. The integration tests (Medusa's Fulfillment Module on Postgres), the real-service
#    suite included: cjsim and the service (its own Postgres database and Redis db, the
#    worker in-process) on free local ports, SKU mappings for the cjsim catalogue.
# Everything this script starts is stopped (by pid) and its databases dropped on exit,
# failure or interrupt included. Needs .venv (make install) and Postgres/Redis (make services).
#
# Settings: MEDUSA_IT_REDIS_URL (default redis://127.0.0.1:6379/14, flushed at the start),
# MEDUSA_IT_KEEP_LOGS=1 to keep the service and cjsim logs (their folder is printed).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
PKG=$ROOT/integrations/medusa
PY=$ROOT/.venv/bin/python

log() { echo "test-medusa: $*"; }
# shellcheck source=lib/node.sh
. "$ROOT/scripts/lib/node.sh"

ensure_node
npm_ci_once "$PKG"

started=$(date +%s)
cd "$PKG"
log "tsc --noEmit (server and admin)"
npx --no-install tsc --noEmit
npx --no-install tsc --noEmit -p src/admin
log "unit tests"
node --import tsx --test test/unit/*.test.ts
log "medusa plugin:build"
npm run --silent build >"$PKG/.medusa-build.log" 2>&1 || { cat "$PKG/.medusa-build.log"; exit 1; }
rm -f "$PKG/.medusa-build.log"
packed=$(npm pack --dry-run --ignore-scripts --json 2>/dev/null | node -e '
  const files = JSON.parse(require("fs").readFileSync(0, "utf8"))[0].files.map((f) => f.path)
  const needed = [
    ".medusa/server/src/providers/cj/index.js",
    ".medusa/server/src/modules/cj-service/index.js",
    ".medusa/server/src/api/middlewares.js",
    ".medusa/server/src/api/admin/cj-fulfillment/orders/[id]/route.js",
    ".medusa/server/src/admin/index.mjs",
    ".medusa/server/src/admin/index.js",
  ]
  const missing = needed.filter((path) => !files.includes(path))
  if (missing.length) { console.error("missing from the tarball: " + missing.join(", ")); process.exit(1) }
  console.log(files.length + " files")')
log "npm pack would publish $packed"

# ---------------------------------------------------------------- the real service on cjsim
WORK=$(mktemp -d)
RUN_ID=$(date +%s)_$$
SERVICE_DB=cj_fulfillment_medusa_it_$RUN_ID
export MEDUSA_IT_DB_PREFIX=medusa_cj_it_$RUN_ID
REDIS_URL=${MEDUSA_IT_REDIS_URL:-redis://127.0.0.1:6379/14}
pids=()

stop_pid() {
  local pid=$1
  kill -TERM "$pid" 2>/dev/null || return 0
  for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.2; done
  kill -KILL "$pid" 2>/dev/null || true
}

cleanup() {
  local status=$?
  trap - EXIT INT TERM
  for pid in "${pids[@]}"; do stop_pid "$pid"; done
  wait 2>/dev/null || true
  "$PY" - "$SERVICE_DB" "$MEDUSA_IT_DB_PREFIX-stub" "$MEDUSA_IT_DB_PREFIX-live" <<'EOF' || true
import asyncio, sys
import asyncpg

async def drop(names):
    conn = await asyncpg.connect(host="127.0.0.1", user="postgres", database="postgres")
    try:
        for name in names:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()

asyncio.run(drop(sys.argv[1:]))
EOF
  if [ "$status" -ne 0 ]; then
    for name in cjsim service; do
      [ -s "$WORK/$name.log" ] && { echo "---- last lines of $name.log"; tail -n 40 "$WORK/$name.log"; }
    done
  fi
  if [ "${MEDUSA_IT_KEEP_LOGS:-}" = 1 ]; then log "logs kept in $WORK"; else rm -rf "$WORK"; fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

free_port() {
  "$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

wait_http() { # wait_http URL NAME PID
  "$PY" - "$@" <<'EOF'
import os, sys, time
import httpx

url, name, pid = sys.argv[1], sys.argv[2], int(sys.argv[3])
deadline = time.monotonic() + 180
while time.monotonic() < deadline:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        sys.exit(f"test-medusa: {name} exited before answering {url}")
    try:
        if httpx.get(url, timeout=1).status_code == 200:
            sys.exit(0)
    except httpx.TransportError:
        pass
    time.sleep(0.1)
sys.exit(f"test-medusa: {name} did not answer {url} within 180 s")
EOF
}

SIM_PORT=$(free_port)
SERVICE_PORT=$(free_port)
export CJSIM_URL=http://127.0.0.1:$SIM_PORT
export CJ_FULFILLMENT_URL=http://127.0.0.1:$SERVICE_PORT
export CJ_FULFILLMENT_API_KEY=medusa-it-$("$PY" -c 'import secrets; print(secrets.token_hex(16))')

log "cjsim on :$SIM_PORT"
(cd "$ROOT" && CJSIM_HOST=127.0.0.1 CJSIM_PORT=$SIM_PORT CJSIM_QPS=10 CJSIM_LOG_LEVEL=warning \
  CJSIM_STATE="$WORK/cjsim-state.json" exec "$PY" -m cjsim) >"$WORK/cjsim.log" 2>&1 </dev/null &
pids+=("$!")
wait_http "$CJSIM_URL/_sim/stats" cjsim "${pids[-1]}"

# The service's own database (created and migrated), Redis db (emptied) and SKU mappings
# for the whole cjsim catalogue.
"$PY" - "$SERVICE_DB" "$REDIS_URL" "$CJSIM_URL" "$WORK/skus.csv" <<'EOF'
import asyncio, csv, sys
import asyncpg, httpx
from redis import Redis

database, redis_url, sim_url, csv_path = sys.argv[1:]

async def create():
    conn = await asyncpg.connect(host="127.0.0.1", user="postgres", database="postgres")
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        await conn.execute(f'CREATE DATABASE "{database}"')
    finally:
        await conn.close()

asyncio.run(create())
with Redis.from_url(redis_url) as redis:
    redis.flushdb()
variants = httpx.get(f"{sim_url}/_sim/catalog", timeout=10).json()["variants"]
with open(csv_path, "w", newline="") as out:
    writer = csv.writer(out)
    writer.writerow(("sku", "vid", "from_country"))
    writer.writerows((v["sku"], v["vid"], v["from_country"]) for v in variants)
EOF

export_service_env() {
  export DATABASE_URL=postgresql+asyncpg://postgres@127.0.0.1:5432/$SERVICE_DB
  export REDIS_URL
  export SERVICE_API_KEYS=$CJ_FULFILLMENT_API_KEY
  export TOKEN_ENCRYPTION_KEY=medusa-it-$RUN_ID
  export CJ_API_BASE_URL=$CJSIM_URL/api2.0/v1
  export CJ_API_KEY="CJ$((RANDOM * 32768 + RANDOM))@api@medusa$RUN_ID"
  export CJ_QPS=10
  export RUN_WORKER_IN_PROCESS=true
  export ENVIRONMENT=development LOG_FORMAT=json LOG_LEVEL=WARNING
  export MEDUSA_URL="" MEDUSA_SECRET_KEY="" NOTIFY_URL="" NOTIFY_SECRET=""
}

(
  cd "$ROOT"
  export_service_env
  .venv/bin/alembic upgrade head >"$WORK/setup.log" 2>&1
  .venv/bin/cj-fulfillment skus import "$WORK/skus.csv" >>"$WORK/setup.log" 2>&1
) || { cat "$WORK/setup.log"; exit 1; }
log "service on :$SERVICE_PORT ($(tail -n 1 "$WORK/setup.log" | head -c 80))"
(cd "$ROOT" && export_service_env && exec .venv/bin/python -m uvicorn app.main:app \
  --host 127.0.0.1 --port "$SERVICE_PORT" --no-access-log) >"$WORK/service.log" 2>&1 </dev/null &
pids+=("$!")
wait_http "$CJ_FULFILLMENT_URL/health/ready" service "${pids[-1]}"

log "integration tests (stub service, then the real one on cjsim)"
export CJ_FULFILLMENT_REQUIRE_LIVE=1
node --import tsx --test --test-concurrency=1 test/integration/*.test.mts
log "Medusa checks passed in $(($(date +%s) - started)) s (after the Node packages were ready)"
