#!/usr/bin/env bash
# Regenerates tests/fixtures/torchvision_reference.safetensors with PyTorch: torchvision's
# MobileNetV2 with the same ImageNet weights, run on a few photos of ../shared/data/pets.
# Run once by a developer; the (small) output is committed, so tests never need PyTorch.
# Installs torch/torchvision into a throw-away venv .venv-torch (git-ignored).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup-weights.sh --with-pth
if [[ ! -x .venv-torch/bin/python ]]; then
  python3 -m venv .venv-torch
fi
.venv-torch/bin/python -c "import torch, torchvision, safetensors, PIL" 2>/dev/null \
  || .venv-torch/bin/pip install --quiet torch torchvision safetensors pillow numpy
exec .venv-torch/bin/python scripts/make_fixture.py "$@"
