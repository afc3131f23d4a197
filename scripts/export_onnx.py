"""Writes torchvision's MobileNetV2 feature extractor (ImageNet weights) as ONNX for the browser
benchmark's peer, onnxruntime-web: `features -> global average pool -> flatten`, `[N, 3, 224,
224] -> [N, 1280]`, the same output Whisker's backbone extracts. The batch axis is dynamic.

Checks the file with onnxruntime (CPU) against torch itself before keeping it, and prints one
JSON line. Called by scripts/export-onnx.sh: `python export_onnx.py WEIGHTS.pth OUT.onnx`.
"""

import json
import os
import sys
import warnings

import numpy as np
import torch
import torchvision


class Features(torch.nn.Module):
    """MobileNetV2 without its classifier: pooled 1280-d features."""

    def __init__(self, net: torch.nn.Module):
        super().__init__()
        self.features = net.features

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.flatten(torch.nn.functional.adaptive_avg_pool2d(self.features(x), 1), 1)


def main(weights: str, out: str) -> None:
    net = torchvision.models.mobilenet_v2()
    net.load_state_dict(torch.load(weights, map_location="cpu", weights_only=True))
    model = Features(net).eval()

    part = out + ".part"
    example = torch.zeros(1, 3, 224, 224)
    # The TorchScript exporter: the dynamo one needs onnxscript. It folds BatchNorm into the
    # convolutions (the graph is Conv, Clip, Add, GlobalAveragePool) and warns that it is legacy.
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    torch.onnx.export(
        model,
        (example,),
        part,
        dynamo=False,
        opset_version=17,
        input_names=["input"],
        output_names=["features"],
        dynamic_axes={"input": {0: "batch"}, "features": {0: "batch"}},
    )

    import onnx
    import onnxruntime

    onnx.checker.check_model(onnx.load(part))
    session = onnxruntime.InferenceSession(part, providers=["CPUExecutionProvider"])
    generator = torch.Generator().manual_seed(7)
    worst = 0.0
    for batch in (1, 3):
        x = torch.randn(batch, 3, 224, 224, generator=generator)
        with torch.inference_mode():
            expected = model(x).numpy()
        (got,) = session.run(["features"], {"input": x.numpy()})
        assert got.shape == (batch, 1280), got.shape
        worst = max(worst, float(np.abs(got - expected).max()))
    if worst > 1e-3:
        raise SystemExit(f"the ONNX file differs from torch by {worst}")
    os.replace(part, out)
    print(
        json.dumps(
            {
                "onnx": out,
                "bytes": os.path.getsize(out),
                "torch": torch.__version__,
                "onnxruntime": onnxruntime.__version__,
                "max_abs_diff_vs_torch": worst,
            }
        )
    )


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
