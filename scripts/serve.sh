#!/usr/bin/env bash
# Sets up what is missing (scripts/setup.sh: tools, crates, weights), builds the web app once
# (only when its sources changed since the last build), then serves dist/ on
# http://127.0.0.1:8080, compressed and cacheable, watching nothing (scripts/serve-dist.mjs).
#
#   scripts/serve.sh           build if needed, serve
#   scripts/serve.sh --watch   Trunk's own server instead: rebuilds on every change to the app's
#                              sources (each release build: ~9 minutes on 2 cores, wasm-opt 2 of them)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-target/web}
# wasm-opt 132 from npm (scripts/setup.sh), ahead of any other on PATH.
export PATH="$PWD/node_modules/.bin:$PATH"

if [[ ${1:-} == --watch ]]; then
  shift
  exec trunk serve --release --address 127.0.0.1 --port 8080 "$@"
fi

# The app's sources, as Trunk.toml's [watch] lists them.
SOURCES=(src static index.html Cargo.toml Cargo.lock Trunk.toml)
STAMP=dist/.built
if [[ ! -f $STAMP || -n $(find "${SOURCES[@]}" -newer "$STAMP" -print -quit) ]]; then
  echo "serve: building (~9 minutes on 2 cores once the crates are built; up to ~20 the first time)"
  trunk build --release
  touch "$STAMP"
else
  echo "serve: dist/ is up to date with the sources"
fi
exec node scripts/serve-dist.mjs dist 8080
