#!/usr/bin/env bash
# Sets up what is missing (scripts/setup.sh: tools, crates, weights), then builds and serves the
# web app on http://127.0.0.1:8080 with Trunk, offline. Extra arguments go to `trunk serve`.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-target/web}
# wasm-opt 132 from npm (scripts/setup.sh), ahead of any other on PATH.
export PATH="$PWD/node_modules/.bin:$PATH"
echo "serve: building (the first build takes ~16 CPU-minutes), then http://127.0.0.1:8080"
exec trunk serve --release --address 127.0.0.1 --port 8080 "$@"
