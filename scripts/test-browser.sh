#!/usr/bin/env bash
# The admin widget's browser test (integrations/medusa/test/browser): Debian's Chromium,
# headless, driven by playwright-core (no browser download). Needs a running store with its
# admin built, described by STORE_ENV, so it runs inside the store harness; `make test`
# (scripts/test-store.sh) runs it so, or alone:
#
#   MEDUSA_ADMIN=true integrations/medusa-store/run-store.sh scripts/test-browser.sh
#
# Installs `chromium` with apt-get when /usr/bin/chromium (or CHROMIUM_PATH) is missing;
# `--install-only` does only that. Each test has BROWSER_TEST_TIMEOUT_MS (default 300000).
# Screenshots: BROWSER_ARTIFACTS, default integrations/medusa/test-artifacts/browser/<run>
# (gitignored); the test prints the path.
set -euo pipefail
cd "$(dirname "$0")/.."
CHROMIUM=${CHROMIUM_PATH:-/usr/bin/chromium}
if [ ! -x "$CHROMIUM" ]; then
  echo "test-browser: installing Debian's chromium with apt-get"
  as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
[ "${1:-}" != --install-only ] || exit 0
[ -n "${STORE_ENV:-}" ] || { echo "test-browser: no STORE_ENV; run it through run-store.sh" >&2; exit 1; }
echo "test-browser: $("$CHROMIUM" --version 2>/dev/null)"
cd integrations/medusa
CHROMIUM_PATH=$CHROMIUM exec node --import tsx --test --test-timeout="${BROWSER_TEST_TIMEOUT_MS:-300000}" \
  test/browser/*.test.mts
