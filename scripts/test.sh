#!/usr/bin/env bash
# The one test command (README, CI): set up, then lint, native tests, wasm build, browser tests.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh

log=$(mktemp)
trap 'rm -f "$log"' EXIT

echo "== fmt"
cargo fmt --check
echo "== clippy (native)"
cargo clippy --all-targets --quiet -- -D warnings
echo "== native tests"
cargo test --quiet --all-targets 2>&1 | tee -a "$log"
echo "== clippy (wasm)"
CARGO_TARGET_DIR=target/web cargo clippy --offline --target wasm32-unknown-unknown --quiet -- -D warnings
echo "== browser tests"
scripts/test-browser.sh 2>&1 | tee -a "$log"

# One closing line over every suite that ran.
# cargo/wasm-bindgen-test: "N passed; M failed"; node --test: "ℹ pass N" / "ℹ fail M".
passed=$(grep -Eo '([0-9]+ passed|ℹ pass [0-9]+)' "$log" | grep -Eo '[0-9]+' | awk '{s += $1} END {print s + 0}')
failed=$(grep -Eo '([0-9]+ failed|ℹ fail [0-9]+)' "$log" | grep -Eo '[0-9]+' | awk '{s += $1} END {print s + 0}')
echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
