# Shared by scripts/test-medusa.sh and integrations/medusa-store/run-store.sh: the local
# stack a Medusa test runs on. cjsim and the cj-fulfillment service on free ports, their
# Postgres databases, their logs in WORK, and the cleanup (every process this started is
# stopped by pid, the databases dropped, the logs' last lines printed on failure).
# Needs ROOT (the repository), PY (the venv's python) and a `log` function.
#
#   stack_init                      WORK, RUN_ID, the EXIT/INT/TERM traps
#   STACK_DATABASES+=(name)         dropped on exit
#   STACK_LOGS+=(name)              $WORK/name.log, shown on failure
#   stack_on_exit() { …; }          optional, run first by the cleanup
#   start_bg NAME CMD...            CMD in the background, output in $WORK/NAME.log
#   start_cjsim                     cjsim on a free port (CJSIM_URL)
#   start_service                   the service on SERVICE_PORT or a free one (CJ_FULFILLMENT_URL), migrated,
#                                   with SKU mappings for the cjsim catalogue; its settings
#                                   from export_service_env, plus service_env_extra if defined
STACK_PIDS=()
STACK_DATABASES=()
STACK_LOGS=()

# Each process start_bg starts leads a process group of its own (setsid), so stopping it
# stops what it started too (Medusa's workers, a test's browser): TERM, then KILL after 10 s.
stop_pid() {
  local pid=$1
  kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || return 0
  for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
  kill -KILL -- "-$pid" 2>/dev/null || true
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

stack_cleanup() {
  local status=$?
  trap - EXIT
  trap '' INT TERM
  if declare -F stack_on_exit >/dev/null; then stack_on_exit "$status" || true; fi
  local pid
  for pid in "${STACK_PIDS[@]}"; do stop_pid "$pid"; done
  wait 2>/dev/null || true
  [ ${#STACK_DATABASES[@]} -eq 0 ] || databases drop "${STACK_DATABASES[@]}" || true
  if [ "$status" -ne 0 ]; then
    local name
    for name in "${STACK_LOGS[@]}"; do
      [ -s "$WORK/$name.log" ] && { echo "---- last lines of $name.log"; tail -n 40 "$WORK/$name.log"; }
    done
  fi
  if [ "${STACK_KEEP_LOGS:-}" = 1 ]; then log "logs kept in $WORK"; else rm -rf "$WORK"; fi
  exit "$status"
}

stack_init() {
  WORK=$(mktemp -d)
  RUN_ID=$(date +%s)_$$
  trap stack_cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
}

free_port() {
  "$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# A background job of a script leads no process group, so `exec setsid CMD` in it makes
# CMD a group leader with the job's pid (no fork): the run_* functions do that.
start_bg() { # start_bg NAME CMD...: the new pid is ${STACK_PIDS[-1]}; CMD may be a function
  local name=$1
  shift
  "$@" >"$WORK/$name.log" 2>&1 </dev/null &
  STACK_PIDS+=("$!")
  STACK_LOGS+=("$name")
}

wait_http() { # wait_http URL NAME SECONDS: 200 from URL while the last started process lives
  "$PY" - "$1" "$2" "${STACK_PIDS[-1]}" "$3" <<'EOF'
import os, sys, time
import httpx

url, name, pid, seconds = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
deadline = time.monotonic() + seconds
while time.monotonic() < deadline:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        sys.exit(f"{name} exited before answering {url}")
    try:
        if httpx.get(url, timeout=2).status_code == 200:
            sys.exit(0)
    except httpx.TransportError:
        pass
    time.sleep(0.2)
sys.exit(f"{name} did not answer {url} within {seconds:.0f} s")
EOF
}

run_cjsim() { # run_cjsim PORT, in its own (background) shell
  cd "$ROOT"
  CJSIM_HOST=127.0.0.1 CJSIM_PORT=$1 CJSIM_QPS=10 CJSIM_LOG_LEVEL=warning \
    CJSIM_STATE="$WORK/cjsim-state.json" exec setsid "$PY" -m cjsim
}

start_cjsim() {
  local port
  port=$(free_port)
  export CJSIM_URL=http://127.0.0.1:$port
  log "cjsim on :$port"
  start_bg cjsim run_cjsim "$port"
  wait_http "$CJSIM_URL/_sim/stats" cjsim 60
}

# The service's settings. SERVICE_DB and REDIS_URL are the caller's; one cjsim account
# (CJ_API_KEY) for every process of the service, the CLI that registers webhooks too.
export_service_env() {
  export DATABASE_URL=postgresql+asyncpg://postgres@127.0.0.1:5432/$SERVICE_DB
  export REDIS_URL
  export SERVICE_API_KEYS=$CJ_FULFILLMENT_API_KEY
  export TOKEN_ENCRYPTION_KEY=stack-$RUN_ID
  export CJ_API_BASE_URL=$CJSIM_URL/api2.0/v1
  export CJ_API_KEY=$STACK_CJ_API_KEY CJ_WEBHOOK_PATH_TOKEN=stack-path-$RUN_ID
  export CJ_QPS=10
  export RUN_WORKER_IN_PROCESS=true
  export ENVIRONMENT=development LOG_FORMAT=json LOG_LEVEL=${SERVICE_LOG_LEVEL:-WARNING}
  export MEDUSA_URL=${MEDUSA_URL:-} MEDUSA_SECRET_KEY=${MEDUSA_SECRET_KEY:-}
  export NOTIFY_URL="" NOTIFY_SECRET=""
  if declare -F service_env_extra >/dev/null; then service_env_extra; fi
}

run_service() { # run_service PORT, in its own (background) shell
  cd "$ROOT" && export_service_env
  exec setsid .venv/bin/python -m uvicorn app.main:app --host 127.0.0.1 --port "$1" --no-access-log
}

start_service() { # on SERVICE_PORT, else a free port
  local port=${SERVICE_PORT:-}
  [ -n "$port" ] || port=$(free_port)
  export CJ_FULFILLMENT_URL=http://127.0.0.1:$port
  : "${CJ_FULFILLMENT_API_KEY:=stack-$("$PY" -c 'import secrets; print(secrets.token_hex(16))')}"
  export CJ_FULFILLMENT_API_KEY
  STACK_CJ_API_KEY="CJ$((RANDOM * 32768 + RANDOM))@api@stack$RUN_ID"
  "$PY" -c "import redis, sys; redis.Redis.from_url(sys.argv[1]).flushdb()" "$REDIS_URL"
  STACK_LOGS+=(service-setup)
  (
    cd "$ROOT"
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
  ) || exit 1
  log "service on :$port ($(tail -n 1 "$WORK/service-setup.log" | head -c 80))"
  start_bg service run_service "$port"
  wait_http "$CJ_FULFILLMENT_URL/health/ready" service 90
}
