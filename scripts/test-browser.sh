#!/usr/bin/env bash
# Browser tests: builds the web app with Trunk (release, offline), then runs
#  1. the component tests (tests/web.rs, wasm-bindgen-test in headless Chromium via ChromeDriver),
#  2. the end-to-end test (tests/e2e/, Playwright driving the system Chromium): 5 cats + 5 dogs
#     from ../shared/data/pets (or $WHISKER_DATA), train, predict, on the CPU path and on WebGPU.
# Expects scripts/setup.sh to have run (tools, crates, weights, node_modules).
# WHISKER_E2E_BACKENDS=cpu limits the end-to-end test to one backend (WebGPU on SwiftShader is
# the slow one: several minutes).
set -euo pipefail
cd "$(dirname "$0")/.."

# The end-to-end test of model files runs the native CLI on a file the page downloaded (a no-op
# after scripts/test.sh's native tests, which build it).
echo "== cargo build --bin whisker (native CLI)"
cargo build --quiet --offline --bin whisker

# wasm builds get their own target directory, so they never wait on a native build's lock.
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-target/web}
# wasm-opt 132 from npm (scripts/setup.sh), ahead of any other on PATH.
export PATH="$PWD/node_modules/.bin:$PATH"

[[ -s static/models/mobilenet_v2.i8.bpk ]] \
  || { echo "test-browser: static/models/mobilenet_v2.i8.bpk is missing: run scripts/setup-weights.sh" >&2; exit 1; }
[[ -d node_modules/playwright-core && -x node_modules/.bin/wasm-opt ]] \
  || { echo "test-browser: node_modules (playwright-core, binaryen) is missing: run npm ci" >&2; exit 1; }

# The release wasm builds below are also wasm clippy: cargo runs clippy-driver (what `cargo clippy`
# does) on this crate only, its lints denied, while dependencies compile as usual. A separate
# `cargo clippy --target wasm32-unknown-unknown` would check every dependency a second time in
# check mode (~8 minutes on a fresh machine).
export RUSTC_WORKSPACE_WRAPPER
RUSTC_WORKSPACE_WRAPPER="$(rustc --print sysroot)/bin/clippy-driver"
export CLIPPY_ARGS="-D__CLIPPY_HACKERY__warnings__CLIPPY_HACKERY__"

# The component tests' binary (release and with the engine, like Trunk's engine build, so both
# share compiled crates) is built alongside: once Trunk is past cargo for both binaries (the page
# and the engine, each with a second, quick cargo call) and runs the engine's wasm-bindgen,
# wasm-opt (one thread) and the brotli copies, which leave the second core idle for ~10 minutes
# on a 2-core machine. Started any earlier, it would hold target/web's lock and Trunk would wait
# for it instead.
component_build_log=$(mktemp)
trunk_done=$(mktemp -u)
(
  until { pgrep -f '(wasm-bindgen|wasm-opt) .*whisker-engine' >/dev/null && ! pgrep -f 'cargo build' >/dev/null; } \
    || [[ -e $trunk_done ]]; do sleep 2; done
  cargo test --release --offline --target wasm32-unknown-unknown --test web --no-run
) >"$component_build_log" 2>&1 &
component_build=$!

echo "== trunk build --release (and clippy on the wasm crate)"
t=$SECONDS
trunk build --release || { kill "$component_build" 2>/dev/null; exit 1; }
touch "$trunk_done"
echo "   (trunk build took $((SECONDS - t)) s)"

echo "== component tests (wasm-bindgen-test, headless Chromium; clippy on tests/web.rs)"
t=$SECONDS
build_status=0
wait "$component_build" || build_status=$?
cat "$component_build_log"
rm -f "$component_build_log" "$trunk_done"
((build_status == 0)) || { echo "test-browser: the component tests did not build" >&2; exit 1; }
CHROMEDRIVER=${CHROMEDRIVER:-$(command -v chromedriver)} WASM_BINDGEN_TEST_TIMEOUT=${WASM_BINDGEN_TEST_TIMEOUT:-180} \
  cargo test --release --offline --target wasm32-unknown-unknown --test web
echo "   (component tests took $((SECONDS - t)) s, after building alongside the Trunk build)"

echo "== end-to-end test (Playwright, headless Chromium)"
t=$SECONDS
node --test --test-reporter=spec tests/e2e/
echo "   (end-to-end tests took $((SECONDS - t)) s)"
