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
# shellcheck source=lib/stack.sh
. "$ROOT/scripts/lib/stack.sh"
stack_init
SERVICE_DB=cj_fulfillment_medusa_it_$RUN_ID
export MEDUSA_IT_DB_PREFIX=medusa_cj_it_$RUN_ID
REDIS_URL=${MEDUSA_IT_REDIS_URL:-redis://127.0.0.1:6379/14}
STACK_KEEP_LOGS=${MEDUSA_IT_KEEP_LOGS:-}
STACK_DATABASES+=("$SERVICE_DB" "$MEDUSA_IT_DB_PREFIX-stub" "$MEDUSA_IT_DB_PREFIX-live")

start_cjsim
databases create "$SERVICE_DB"
start_service

log "integration tests (stub service, then the real one on cjsim)"
export CJ_FULFILLMENT_REQUIRE_LIVE=1
node --import tsx --test --test-concurrency=1 test/integration/*.test.mts
log "Medusa checks passed in $(($(date +%s) - started)) s (after the Node packages were ready)"
