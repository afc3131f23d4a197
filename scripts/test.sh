#!/usr/bin/env bash
# The one test command (README, CI): set up, then lint, native tests, wasm build, browser tests.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh

echo "== fmt"
cargo fmt --check
echo "== clippy"
cargo clippy --all-targets --quiet -- -D warnings
echo "== native tests"
cargo test --quiet 2>&1 | tee /tmp/whisker-native-tests.log
