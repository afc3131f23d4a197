#!/usr/bin/env bash
# Makes target/onnx/mobilenet_v2_features.onnx (torchvision's MobileNetV2 features, for the
# onnxruntime-web side of scripts/bench-extract.mjs) with PyTorch in the git-ignored venv
# .venv-torch (created if missing; torch from PyPI is a large download, ~5 GB installed).
# Skips the work when the file exists.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=target/onnx/mobilenet_v2_features.onnx
if [[ -s $OUT ]]; then
  echo "onnx: $OUT already there"
  exit 0
fi
scripts/setup-weights.sh --with-pth >/dev/null
[[ -x .venv-torch/bin/python ]] || python3 -m venv .venv-torch
.venv-torch/bin/python -c "import torch, torchvision, onnx, onnxruntime" 2>/dev/null \
  || .venv-torch/bin/pip install --quiet torch torchvision onnx onnxruntime
mkdir -p "$(dirname "$OUT")"
.venv-torch/bin/python scripts/export_onnx.py .cache/weights/mobilenet_v2-b0353104.pth "$OUT"
