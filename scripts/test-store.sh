#!/usr/bin/env bash
# `make test`, the store part: one real Medusa 2.21 store (integrations/medusa-store/
# run-store.sh, its admin dashboard built) for both end-to-end suites:
#
# 1. tests/store (pytest): every flow a store runs, through Medusa's Admin and Store APIs;
# 2. the order page widget in a real browser (scripts/test-browser.sh: Debian's Chromium,
#    installed with apt-get first when missing, driven by playwright-core).
#
# Both run even when the first fails; the exit status is the first failure's. On failure
# run-store.sh prints the last lines of every log (Medusa, the service, cjsim, the seed).
# STORE_TEST_TIMEOUT (default 1800 s) bounds the whole run: past it run-store.sh gets a
# TERM and stops everything it started (by process group), and the run fails.
# Needs .venv (make install) and Postgres/Redis (make services).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -z "${STORE_ENV:-}" ]; then
  scripts/test-browser.sh --install-only
  status=0
  timeout --kill-after=120 "${STORE_TEST_TIMEOUT:-1800}" \
    env MEDUSA_ADMIN=true integrations/medusa-store/run-store.sh scripts/test-store.sh || status=$?
  [ "$status" -ne 124 ] || echo "test-store: stopped after ${STORE_TEST_TIMEOUT:-1800} s" >&2
  exit "$status"
fi

# Inside the store (run-store.sh runs this script again with STORE_ENV set).
status=0
echo "test-store: tests/store"
.venv/bin/python -m pytest -q -p no:cacheprovider tests/store || status=$?
echo "test-store: the widget in a browser"
scripts/test-browser.sh || { code=$?; [ "$status" -ne 0 ] || status=$code; }
exit "$status"
