#!/usr/bin/env bash
# The one test command (README, CI): set up, then lint, native tests, wasm build (linted), browser tests.
set -euo pipefail
cd "$(dirname "$0")/.."

# Each stage prints how long the previous one took, so a slow CI run says where its time went.
start=$SECONDS; stage_start=$SECONDS; stage_name=""
stage() {
  [[ -z $stage_name ]] || echo "   ($stage_name took $((SECONDS - stage_start)) s)"
  stage_name=$1; stage_start=$SECONDS
  [[ $1 == end ]] || echo "== $1"
}

# The native and browser tests train on the shared photos (tests/common.rs, tests/e2e/lib.mjs:
# $WHISKER_DATA, else ../shared/data/pets from the repository root): stop now if they are not
# there, not after the set-up and the native build.
data=${WHISKER_DATA:-../shared/data/pets}
if [[ ! -d $data/train/cat ]]; then
  echo "test: the test photos are not at $data (no $data/train/cat): put the pets photos there," \
    "or set WHISKER_DATA to their folder" >&2
  exit 1
fi

stage "set-up"
scripts/setup.sh

log=$(mktemp)
trap 'rm -f "$log"' EXIT

stage "fmt"
cargo fmt --check
stage "clippy (native)"
cargo clippy --all-targets --quiet -- -D warnings
stage "native tests"
cargo test --quiet --all-targets 2>&1 | tee -a "$log"
# Clippy on the wasm builds (the page's, without burn, and the engine's) runs inside the browser
# tests' release builds (scripts/test-browser.sh).
stage "browser tests (release wasm build with clippy, component tests, end to end)"
scripts/test-browser.sh 2>&1 | tee -a "$log"

stage end
echo "total $((SECONDS - start)) s"

# One closing line over every suite that ran.
# cargo/wasm-bindgen-test: "N passed; M failed"; node --test: "ℹ pass N" / "ℹ fail M".
passed=$(grep -Eo '([0-9]+ passed|ℹ pass [0-9]+)' "$log" | grep -Eo '[0-9]+' | awk '{s += $1} END {print s + 0}')
failed=$(grep -Eo '([0-9]+ failed|ℹ fail [0-9]+)' "$log" | grep -Eo '[0-9]+' | awk '{s += $1} END {print s + 0}')
echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
