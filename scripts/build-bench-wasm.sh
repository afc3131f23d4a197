#!/usr/bin/env bash
# Builds Whisker's side of the browser benchmark (examples/bench_web.rs) into target/bench-web/:
# the release wasm (same profile, features and rustflags as the app's), wasm-bindgen, and, as
# for the app (index.html), wasm-opt -O1 from npm's binaryen. Prints the wasm's bytes.
# Usage: scripts/build-bench-wasm.sh [--wasm-opt LEVEL|0]   (0: skip wasm-opt, for quick tries)
set -euo pipefail
cd "$(dirname "$0")/.."
OPT=1
if [[ ${1:-} == --wasm-opt ]]; then OPT=$2; fi
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-target/web}
OUT=${BENCH_WASM_DIR:-target/bench-web}
cargo build --quiet --release --target wasm32-unknown-unknown --example bench_web
mkdir -p "$OUT"
wasm-bindgen --target web --no-typescript --out-dir "$OUT" --out-name whisker_bench \
  "$CARGO_TARGET_DIR/wasm32-unknown-unknown/release/examples/bench_web.wasm"
wasm="$OUT/whisker_bench_bg.wasm"
raw=$(stat -c %s "$wasm")
if [[ $OPT != 0 ]]; then
  node_modules/.bin/wasm-opt "-O$OPT" "$wasm" --output="$wasm.opt"
  mv "$wasm.opt" "$wasm"
fi
echo "bench wasm: $wasm: $raw bytes from wasm-bindgen, $(stat -c %s "$wasm") after wasm-opt -O$OPT," \
  "$(gzip -9 -c "$wasm" | wc -c) gzipped"
