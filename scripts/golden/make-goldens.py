#!/usr/bin/python3
"""Reference values from the real implementations the contract names.

Run with Debian's python3 (apt-get install python3-pil python3-torch
python3-opencv python3-numpy): /usr/bin/python3 scripts/golden/make-goldens.py
It writes test/golden/reference.json, which the tests compare against. The
inputs are generated from integer formulas that test/golden-inputs.ts repeats.
"""
import hashlib
import json
import os

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image


def test_image(w, h):
    k = np.arange(w * h * 3, dtype=np.int64)
    return ((k * 7919 + (k // 7) * 104729) % 256).astype(np.uint8).reshape(h, w, 3)


def low_res_logits(n, size, seed):
    k = np.arange(n * size * size, dtype=np.int64)
    v = ((k * 7919 + seed * 104729) % 20011).astype(np.float64) / 20011.0 * 40.0 - 28.0
    return v.astype(np.float32).reshape(n, 1, size, size)


def preprocess_shape(h, w, target):
    scale = target / max(h, w)
    return int(h * scale + 0.5), int(w * scale + 0.5)


def sha(b):
    return hashlib.sha256(b).hexdigest()


out = {"versions": {"PIL": Image.__version__ if hasattr(Image, "__version__") else "?",
                    "torch": torch.__version__, "cv2": cv2.__version__}}

resize = []
for (w, h) in [(37, 23), (300, 200), (1500, 13), (5, 7), (2000, 1000), (800, 534), (1024, 1024)]:
    nh, nw = preprocess_shape(h, w, 1024)
    img = Image.fromarray(test_image(w, h)).resize((nw, nh), Image.BILINEAR)
    arr = np.asarray(img)
    resize.append({"w": w, "h": h, "outW": nw, "outH": nh, "sha256": sha(arr.tobytes()),
                   "first": arr.reshape(-1)[:12].tolist()})
out["pilResize"] = resize

upscale = []
torch.set_num_threads(int(os.environ.get("GOLDEN_THREADS", "2")))
for (h, w, n, seed) in [(300, 450, 3, 1), (97, 76, 3, 2), (1200, 1800, 3, 3), (20, 1000, 3, 4)]:
    low = torch.from_numpy(low_res_logits(n, 256, seed)).reshape(1, n, 256, 256)
    nh, nw = preprocess_shape(h, w, 1024)
    m = F.interpolate(low, (1024, 1024), mode="bilinear", align_corners=False)
    m = m[..., :nh, :nw]
    m = F.interpolate(m, (h, w), mode="bilinear", align_corners=False)
    arr = m.contiguous().numpy().astype(np.float32)
    upscale.append({"h": h, "w": w, "n": n, "seed": seed, "sha256": sha(arr.tobytes()),
                    "above": [int((arr > t).sum()) for t in (-1.0, 0.0, 1.0)]})
out["torchUpscale"] = upscale

# SAM 2's image transform (sam2/utils/transforms.py): ToTensor (uint8 / 255 in float32), torchvision's
# Resize to a square, antialiased bilinear on the float tensor, then Normalize with ImageNet statistics.
aa = []
mean = torch.tensor([0.485, 0.456, 0.406], dtype=torch.float32)[:, None, None]
std = torch.tensor([0.229, 0.224, 0.225], dtype=torch.float32)[:, None, None]
for (w, h, ow, oh) in [(2000, 1500, 1024, 1024), (300, 200, 1024, 1024), (1500, 300, 1024, 1024),
                       (37, 23, 64, 48), (1024, 1024, 1024, 1024), (5, 7, 3, 11)]:
    x = torch.from_numpy(test_image(w, h)).permute(2, 0, 1).contiguous().to(torch.float32).div(255)
    y = F.interpolate(x[None], size=(oh, ow), mode="bilinear", align_corners=False, antialias=True)[0]
    n = (y - mean) / std
    ya = y.contiguous().numpy()
    na = n.contiguous().numpy()
    aa.append({"w": w, "h": h, "outW": ow, "outH": oh, "resizedSha256": sha(ya.tobytes()), "normalisedSha256": sha(na.tobytes()),
               "first": [float(v) for v in ya.reshape(-1)[:6]]})
out["torchAntialiasResize"] = aa

# SAM 2's hole and sprinkle cleanup of low-resolution logits (SAM2Transforms.postprocess_masks with its CUDA
# connected components), here with OpenCV's 8-connected components: background components (logit <= 0) of at
# most max_area pixels become +10, foreground components (> 0) of at most max_area become -10, both found on the
# logits as given.
def cleanup_logits(size, seed):
    y, x = np.mgrid[0:size, 0:size].astype(np.int64)
    k = y * size + x
    v = (((x >> 4) * 5 + (y >> 4) * 3 + seed) % 4).astype(np.float32) - 1.5
    blob = ((x >> 2) * 13 + (y >> 2) * 7 + seed) % 29 == 0
    v = np.where(blob, -3 * v, v)
    speck = (k * 7919 + seed * 104729) % 37 == 0
    v = np.where(speck, -5 * v, v)
    return v.astype(np.float32)


def sam2_cleanup(v, max_area):
    out = v.copy()
    for fg, fill in ((v <= 0, 10.0), (v > 0, -10.0)):
        n, labels, stats, _ = cv2.connectedComponentsWithStats(fg.astype(np.uint8), connectivity=8)
        areas = stats[:, cv2.CC_STAT_AREA]
        small = (labels > 0) & (areas[labels] <= max_area)
        out = np.where(small, np.float32(fill), out)
    return out


cleanup = []
for (seed, max_area) in [(1, 1), (2, 16), (3, 100), (4, 300), (5, 0)]:
    v = cleanup_logits(256, seed)
    c = sam2_cleanup(v, max_area) if max_area > 0 else v
    cleanup.append({"seed": seed, "maxArea": max_area, "sha256": sha(c.astype(np.float32).tobytes()),
                    "filled": int(((c == 10) & (v <= 0)).sum()), "removed": int(((c == -10) & (v > 0)).sum())})
out["sam2LowResCleanup"] = cleanup

# OpenCV's labelling order, which decides ties between equally large islands.
tie = np.zeros((4, 6), np.uint8)
tie[1, 0] = 1  # row 1, column 0: first 2x2 block
tie[0, 3] = 1  # row 0, column 3: first in plain raster order
n, labels, stats, _ = cv2.connectedComponentsWithStats(tie, 8)
out["cv2TieOrder"] = {"labelAt_r1c0": int(labels[1, 0]), "labelAt_r0c3": int(labels[0, 3])}

path = os.path.join(os.path.dirname(__file__), "..", "..", "test", "golden", "reference.json")
with open(path, "w") as f:
    json.dump(out, f, indent=1)
    f.write("\n")
print(json.dumps(out["versions"]), "->", os.path.normpath(path))
