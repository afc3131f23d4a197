#!/usr/bin/env bash
# Prints feature-extraction images/second of each backbone (MobileNetV2, EfficientNet-Lite0) for
# each native burn backend and for PyTorch (CPU), on the same preprocessed photos and batch size,
# in one run, and the ratios (of wall-clock time; CPU time per image is printed too: on a machine
# shared with other builds it is the steadier of the two).
# Usage: scripts/bench-native.sh [COUNT=64] [BATCH=16]   (add --features wgpu via CARGO_FEATURES)
set -euo pipefail
cd "$(dirname "$0")/.."
COUNT=${1:-64}
BATCH=${2:-16}
DATA=${WHISKER_DATA:-../shared/data/pets}
scripts/setup-weights.sh --with-pth >/dev/null
[[ -x .venv-torch/bin/python ]] || { python3 -m venv .venv-torch; }
.venv-torch/bin/python -c "import torch, torchvision, efficientnet_lite_pytorch, safetensors" 2>/dev/null \
  || .venv-torch/bin/pip install --quiet torch torchvision efficientnet-lite-pytorch==0.1.0 safetensors
inputs=$(mktemp --suffix=.safetensors)
trap 'rm -f "$inputs"' EXIT
echo "feature extraction, $COUNT photos of $DATA/val/cat, batch $BATCH, $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
burn_out=$(cargo run --quiet ${CARGO_FEATURES:+--features "$CARGO_FEATURES"} --example bench_extract -- \
  "$DATA/val/cat" "$COUNT" "$BATCH" "$inputs")
echo "$burn_out"
torch_out=$(.venv-torch/bin/python - "$inputs" "$BATCH" <<'PY'
import sys, time, torch, torchvision
from efficientnet_lite_pytorch import EfficientNet
from safetensors.torch import load_file
inputs = load_file(sys.argv[1]); batch = int(sys.argv[2])
mobilenet = torchvision.models.mobilenet_v2()
mobilenet.load_state_dict(torch.load(".cache/weights/mobilenet_v2-b0353104.pth"))
lite = EfficientNet.from_name("efficientnet-lite0")
lite.load_state_dict(torch.load(".cache/weights/efficientnet-lite0-57934424.pth"))
features = {
    "mobilenet-v2": lambda x: mobilenet.features(x),
    "efficientnet-lite0": lambda x: lite.extract_features(x),
}
for m in (mobilenet, lite):
    m.eval()
for id, f in features.items():
    x = inputs[f"inputs.{id}"]
    def run():
        with torch.inference_mode():
            for i in range(0, len(x), batch):
                torch.nn.functional.adaptive_avg_pool2d(f(x[i:i + batch]), 1)
    run()
    t, cpu = time.perf_counter(), time.process_time()
    run()
    s, cpu = time.perf_counter() - t, time.process_time() - cpu
    name = f"pytorch {torch.__version__.split('+')[0]} (CPU)"
    print(f"{id:<18} {name:<22} batch {batch:>3}: {len(x) / s:>7.2f} img/s ({s * 1000 / len(x):.1f} ms/img, {cpu * 1000 / len(x):.1f} CPU-ms/img, {len(x)} photos in {s:.2f} s, {torch.get_num_threads()} threads)")
PY
)
echo "$torch_out"
ips() { awk '{for(i=1;i<=NF;i++) if($i=="img/s") print $(i-1)}'; }
while read -r line; do
  id=${line%% *}
  backend=$(cut -c20-41 <<<"$line" | sed 's/ *$//')
  torch_ips=$(grep "^$id " <<<"$torch_out" | ips)
  awk -v n="$id on $backend" -v a="$(ips <<<"$line")" -v b="$torch_ips" \
    'BEGIN{printf "%s takes %.2fx PyTorch'"'"'s time per image (PyTorch / burn images per second)\n", n, b / a}'
done <<<"$burn_out"
