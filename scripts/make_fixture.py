"""Writes the PyTorch reference outputs the Rust tests compare against.

For each photo: PIL's decoded RGB pixels (`pixels{i}`, u8 [H, W, 3]), the torchvision eval transform's output (stored as f16, and the model is run on
exactly those rounded values so the Rust side can feed the same input), the ImageNet logits, the
1280-d pooled features and the pooled output of block 13 (to check cutting the backbone early).
"""
import json
import os
import sys

import numpy as np
import torch
import torchvision
from PIL import Image
from safetensors.torch import save_file
from torchvision import transforms

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.environ.get("WHISKER_DATA", os.path.join(ROOT, "..", "shared", "data", "pets"))
PHOTOS = [
    "val/cat/cat.1000.jpg",
    "val/cat/cat.1001.jpg",
    "val/dog/dog.1000.jpg",
    "train/other/n03028079_church.JPEG",
]
CUT_BLOCK = 13

torch.manual_seed(0)
model = torchvision.models.mobilenet_v2()
state = torch.load(os.path.join(ROOT, ".cache", "weights", "mobilenet_v2-b0353104.pth"))
model.load_state_dict(state)
model.eval()

transform = transforms.Compose([
    transforms.Resize(256),
    transforms.CenterCrop(224),
    transforms.ToTensor(),
    transforms.Normalize(mean=[0.485, 0.456, 0.406], std=[0.229, 0.224, 0.225]),
])

# PIL's decoded pixels are stored too: JPEG decoders differ by a few grey levels, and the
# preprocessing test must compare the transform alone, on identical pixels.
images = [Image.open(os.path.join(DATA, p)).convert("RGB") for p in PHOTOS]
pixels = {
    f"pixels{i}": torch.from_numpy(np.asarray(im).copy()) for i, im in enumerate(images)
}
inputs = torch.stack([transform(im) for im in images]).half()
x = inputs.float()
with torch.no_grad():
    logits = model(x)
    feats = model.features(x)
    pooled = torch.nn.functional.adaptive_avg_pool2d(feats, 1).flatten(1)
    cut = model.features[: CUT_BLOCK + 1](x)
    cut_pooled = torch.nn.functional.adaptive_avg_pool2d(cut, 1).flatten(1)

out = os.path.join(ROOT, "tests", "fixtures", "torchvision_reference.safetensors")
save_file(
    {
        "inputs": inputs.contiguous(),
        "logits": logits.contiguous(),
        "features": pooled.contiguous(),
        f"block{CUT_BLOCK}_pooled": cut_pooled.contiguous(),
        **pixels,
    },
    out,
    metadata={
        "photos": json.dumps(PHOTOS),
        "cut_block": str(CUT_BLOCK),
        "torch": torch.__version__,
        "torchvision": torchvision.__version__,
    },
)
print(f"wrote {out}: top-1 {logits.argmax(1).tolist()}", file=sys.stderr)
