# Shared by scripts/test-medusa.sh and integrations/medusa-store/run-store.sh: Node.js
# >= 20.19 and npm (apt-get when missing; Node from the npm registry's node-linux-<arch>
# package into .tools/node when the system's is too old), and `npm ci` from a lock file.
# Needs ROOT (the repository) and a `log` function.
NODE_MIN=20.19
NODE_FALLBACK=20.20.2

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

version_at_least() { # version_at_least 20.20.2 20.19
  [ "$(printf '%s\n%s\n' "$2" "$1" | sort -V | head -n 1)" = "$2" ]
}

ensure_node() {
  local missing=()
  command -v node >/dev/null || missing+=(nodejs)
  command -v npm >/dev/null || missing+=(npm)
  if [ ${#missing[@]} -gt 0 ]; then
    log "installing ${missing[*]} with apt-get"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
  local local_node=$ROOT/.tools/node/node_modules/.bin
  [ -x "$local_node/node" ] && export PATH="$local_node:$PATH"
  if ! version_at_least "$(node -p 'process.versions.node')" "$NODE_MIN"; then
    # Medusa 2.21 needs Node ^20.19; Debian 12 ships 18. The npm registry's
    # node-linux-<arch> package carries the official binary.
    local arch
    case "$(uname -m)" in
      x86_64) arch=x64 ;;
      aarch64 | arm64) arch=arm64 ;;
      *) log "Node $(node --version) is older than $NODE_MIN and $(uname -m) has no fallback" >&2; exit 1 ;;
    esac
    log "Node $(node --version) is older than $NODE_MIN: installing node-linux-$arch@$NODE_FALLBACK into .tools/node"
    npm install --prefix "$ROOT/.tools/node" --no-save --no-audit --no-fund --loglevel=error \
      "node-linux-$arch@$NODE_FALLBACK"
    export PATH="$local_node:$PATH"
  fi
  log "node $(node --version), npm $(npm --version 2>/dev/null)"
}

npm_ci_once() { # npm_ci_once DIR: npm ci when node_modules is missing or older than the lock
  local dir=$1 stamp=$1/node_modules/.installed-from-lock
  if [ ! -f "$stamp" ] || [ "$dir/package-lock.json" -nt "$stamp" ]; then
    log "npm ci in ${dir#"$ROOT"/} (from package-lock.json)"
    (cd "$dir" && npm ci --prefer-offline --no-audit --no-fund --loglevel=error)
    touch "$stamp"
  fi
}
