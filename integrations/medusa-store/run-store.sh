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
# admin dashboard (built with `medusa build` first, Medusa run from the build; slower).
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

# shellcheck source=../../scripts/lib/stack.sh
. "$ROOT/scripts/lib/stack.sh"
stack_init
MEDUSA_DB=medusa_store_$RUN_ID
SERVICE_DB=cj_fulfillment_store_$RUN_ID
REDIS_URL=${STORE_REDIS_URL:-redis://127.0.0.1:6379/13}
STACK_KEEP_LOGS=${STORE_KEEP_LOGS:-}
STACK_DATABASES+=("$MEDUSA_DB" "$SERVICE_DB")
STACK_LOGS+=(medusa-setup seed)
stack_on_exit() { log "done in $(($(date +%s) - started)) s (exit $1)"; }

start_cjsim
databases create "$MEDUSA_DB" "$SERVICE_DB"
# The service's port and key are known before Medusa starts (the provider's options).
SERVICE_PORT=$(free_port)
MEDUSA_PORT=$(free_port)
export CJ_FULFILLMENT_URL=http://127.0.0.1:$SERVICE_PORT
export CJ_FULFILLMENT_API_KEY=store-$("$PY" -c 'import secrets; print(secrets.token_hex(16))')
export MEDUSA_URL=http://127.0.0.1:$MEDUSA_PORT

# ---------------------------------------------------------------- Medusa
export_medusa_env() {
  export DATABASE_URL=postgres://postgres@127.0.0.1:5432/$MEDUSA_DB
  export JWT_SECRET=store-jwt-$RUN_ID COOKIE_SECRET=store-cookie-$RUN_ID
  export STORE_CORS=http://localhost:8000 ADMIN_CORS=$MEDUSA_URL AUTH_CORS=$MEDUSA_URL
  export CJ_PROVIDER_TIMEOUT_MS=${CJ_PROVIDER_TIMEOUT_MS:-8000}
  export NODE_ENV=${1:-development} MEDUSA_DISABLE_TELEMETRY=true LOG_LEVEL=${MEDUSA_LOG_LEVEL:-info}
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
) || exit 1
# With the admin, Medusa runs as a deployed store does, from its build (.medusa/server, the
# store's node_modules linked in), so the browser test opens the built dashboard. Under
# NODE_ENV=development `medusa start` would serve the dashboard from Vite's dev server
# instead; under production its session cookie is Secure, which plain http never gets.
MEDUSA_DIR=$STORE MEDUSA_NODE_ENV=development
if [ "${MEDUSA_ADMIN:-}" = true ]; then
  MEDUSA_DIR=$STORE/.medusa/server MEDUSA_NODE_ENV=test
  ln -sfn ../../node_modules "$MEDUSA_DIR/node_modules"
fi
log "medusa on :$MEDUSA_PORT"
run_medusa() {
  cd "$MEDUSA_DIR" && export_medusa_env "$MEDUSA_NODE_ENV"
  exec setsid node_modules/.bin/medusa start --port "$MEDUSA_PORT"
}
start_bg medusa run_medusa
wait_http "$MEDUSA_URL/health" medusa 240

# ---------------------------------------------------------------- the secret key (Admin API)
export STORE_ENV=$WORK/store.env
: >"$STORE_ENV"
seed() { # seed PHASE
  "$PY" "$STORE/seed.py" "$1" "$STORE_ENV" >>"$WORK/seed.log" 2>&1
  set -a
  . "$STORE_ENV"
  set +a
}
log "a secret API key for the service"
seed secret-key

# ---------------------------------------------------------------- the service
service_env_extra() {
  export CJ_TIMEOUT_SECONDS=${CJ_TIMEOUT_SECONDS:-20}
  export WORKER_POLL_SECONDS=0.5
  export SUBMIT_BUDGET_MS=${SUBMIT_BUDGET_MS:-20000}
  export SUBMIT_RETRY_INITIAL_SECONDS=1 SUBMIT_RETRY_MAX_SECONDS=2
}
SERVICE_LOG_LEVEL=INFO
start_service
# CJ's webhooks (cjsim sends them when an order moves) reach the service.
(export_service_env && .venv/bin/cj-fulfillment cj webhooks register --url "$CJ_FULFILLMENT_URL/webhooks/cj") \
  >>"$WORK/service-setup.log" 2>&1

# ---------------------------------------------------------------- the store (Admin API)
log "seeding the store through the Admin API"
seed store

cat >>"$STORE_ENV" <<EOF
CJSIM_URL=$CJSIM_URL
CJ_FULFILLMENT_URL=$CJ_FULFILLMENT_URL
CJ_FULFILLMENT_API_KEY=$CJ_FULFILLMENT_API_KEY
CJ_FULFILLMENT_DATABASE_URL=postgresql+asyncpg://postgres@127.0.0.1:5432/$SERVICE_DB
STORE_LOG_DIR=$WORK
EOF
log "store ready in $(($(date +%s) - started)) s: Medusa $MEDUSA_URL, service $CJ_FULFILLMENT_URL, cjsim $CJSIM_URL"

if [ $# -eq 0 ]; then
  log "admin: $ADMIN_EMAIL / $ADMIN_PASSWORD; Ctrl-C stops everything"
  wait -n "${STACK_PIDS[@]}"
else
  # In the background (its own process group, stopped with the rest), so that a TERM or
  # Ctrl-C stops it at once rather than after it ends.
  setsid "$@" </dev/null &
  STACK_PIDS+=("$!")
  status=0
  wait "${STACK_PIDS[-1]}" || status=$?
  exit "$status"
fi
