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
