#!/usr/bin/env bash
# Prints feature-extraction images/second for each native burn backend and for PyTorch (CPU)
# on the same preprocessed photos and batch size, in one run, and the ratio.
# Usage: scripts/bench-native.sh [COUNT=64] [BATCH=16]   (add --features wgpu via CARGO_FEATURES)
set -euo pipefail
cd "$(dirname "$0")/.."
COUNT=${1:-64}
BATCH=${2:-16}
DATA=${WHISKER_DATA:-../shared/data/pets}
scripts/setup-weights.sh --with-pth >/dev/null
[[ -x .venv-torch/bin/python ]] || { python3 -m venv .venv-torch; }
.venv-torch/bin/python -c "import torch, torchvision, safetensors" 2>/dev/null \
  || .venv-torch/bin/pip install --quiet torch torchvision safetensors
inputs=$(mktemp --suffix=.safetensors)
trap 'rm -f "$inputs"' EXIT
echo "feature extraction, $COUNT photos of $DATA/val/cat, batch $BATCH, $(nproc) cores"
burn_out=$(cargo run --quiet ${CARGO_FEATURES:+--features "$CARGO_FEATURES"} --example bench_extract -- \
  "$DATA/val/cat" "$COUNT" "$BATCH" "$inputs")
echo "$burn_out"
torch_out=$(.venv-torch/bin/python - "$inputs" "$BATCH" <<'PY'
import sys, time, torch, torchvision
from safetensors.torch import load_file
x = load_file(sys.argv[1])["inputs"]; batch = int(sys.argv[2])
m = torchvision.models.mobilenet_v2()
m.load_state_dict(torch.load(".cache/weights/mobilenet_v2-b0353104.pth")); m.eval()
def run():
    with torch.inference_mode():
        for i in range(0, len(x), batch):
            torch.nn.functional.adaptive_avg_pool2d(m.features(x[i:i + batch]), 1)
run()
t = time.perf_counter(); run(); s = time.perf_counter() - t
print(f"{'pytorch ' + torch.__version__ + ' (CPU)':<18} batch {batch:>3}: {len(x) / s:>7.2f} img/s ({len(x)} photos in {s:.2f} s, {torch.get_num_threads()} threads)")
PY
)
echo "$torch_out"
torch_ips=$(awk '{for(i=1;i<=NF;i++) if($i=="img/s") print $(i-1)}' <<<"$torch_out")
while read -r line; do
  ips=$(awk '{for(i=1;i<=NF;i++) if($i=="img/s") print $(i-1)}' <<<"$line")
  name=$(cut -c1-18 <<<"$line" | sed 's/ *$//')
  awk -v n="$name" -v a="$ips" -v b="$torch_ips" 'BEGIN{printf "%s takes %.2fx PyTorch'"'"'s time per image (PyTorch / burn images per second)\n", n, b / a}'
done <<<"$burn_out"
