#!/usr/bin/env bash
# Makes sure the Postgres and Redis the tests use are reachable on 127.0.0.1:
# start them when installed but stopped, install them with apt-get when missing; and
# promtool, for the alert rules' tests.
set -euo pipefail

PG_PORT=${PG_PORT:-5432}
REDIS_PORT=${REDIS_PORT:-6379}

listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_for() {
  local port=$1 name=$2
  for _ in $(seq 1 60); do listening "$port" && return 0; sleep 0.5; done
  echo "ensure-services: $name did not come up on 127.0.0.1:$port" >&2
  return 1
}

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

apt_install() {
  echo "ensure-services: installing $* with apt-get"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

trust_local_connections() {
  # A fresh Debian cluster asks for a password over TCP; the tests connect as postgres
  # over 127.0.0.1 with none, as on the CI machines.
  local hba
  hba=$(ls /etc/postgresql/*/main/pg_hba.conf | head -n 1)
  if ! grep -q "cj-fulfillment tests" "$hba"; then
    as_root sed -i '1i host all all 127.0.0.1/32 trust  # cj-fulfillment tests\nhost all all ::1/128 trust  # cj-fulfillment tests' "$hba"
  fi
}

start_postgres() {
  local version
  version=$(ls /etc/postgresql | sort -V | tail -n 1)
  as_root pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
}

if ! listening "$PG_PORT"; then
  if [ -d /etc/postgresql ] && [ -n "$(ls /etc/postgresql 2>/dev/null)" ]; then
    echo "ensure-services: starting the installed PostgreSQL"
  else
    apt_install postgresql
    trust_local_connections
  fi
  start_postgres
  wait_for "$PG_PORT" PostgreSQL
fi

if ! listening "$REDIS_PORT"; then
  if ! command -v redis-server >/dev/null; then
    apt_install redis-server
  fi
  echo "ensure-services: starting Redis"
  redis-server --daemonize yes --bind 127.0.0.1 --port "$REDIS_PORT" --save "" --appendonly no
  wait_for "$REDIS_PORT" Redis
fi
if ! command -v promtool >/dev/null; then
  # The alert rules' tests (tests/ops) run promtool; Debian ships it in prometheus.
  echo "ensure-services: installing promtool (Debian package prometheus) with apt-get"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus >/dev/null
fi
echo "ensure-services: PostgreSQL on :$PG_PORT and Redis on :$REDIS_PORT are up, promtool installed"
