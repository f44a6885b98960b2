#!/usr/bin/env python3
"""Writes test/fixtures/opencv-polygons.json: what real OpenCV does with small
masks and polygons, for the TypeScript tests that reimplement it
(test/export/ultralytics.ts's fillPoly, src/export/polygons.ts's outline tracer).

Needs OpenCV's Python bindings and NumPy (Debian: apt-get install -y
python3-opencv python3-numpy; run with /usr/bin/python3). Deterministic:
rerunning it gives the same file for the same OpenCV.

  /usr/bin/python3 scripts/opencv-polygon-fixtures.py
"""
import json
import os

import cv2
import numpy as np

rng = np.random.default_rng(20240529)


def rows(mask):
    return [''.join('1' if v else '0' for v in row) for row in mask]


def fill_cases():
    cases = []
    for k in range(120):
        w, h = int(rng.integers(3, 17)), int(rng.integers(3, 13))
        polys = []
        for _ in range(1 if k % 4 else 2):
            n = int(rng.integers(1, 8))
            pts = np.stack([rng.integers(0, w, n), rng.integers(0, h, n)], 1)
            if k % 5 == 0 and n > 1:
                pts[-1] = pts[0]  # a repeated vertex
            polys.append(pts.astype(np.int32))
        mask = np.zeros((h, w), np.uint8)
        cv2.fillPoly(mask, polys, 1)
        cases.append({'width': w, 'height': h, 'polygons': [p.reshape(-1).tolist() for p in polys], 'mask': rows(mask)})
    return cases


def contour_cases():
    cases = []
    for k in range(160):
        w, h = int(rng.integers(1, 13)), int(rng.integers(1, 11))
        density = [0.15, 0.35, 0.55, 0.75, 0.92][k % 5]
        mask = (rng.random((h, w)) < density).astype(np.uint8)
        if not mask.any():
            mask[int(rng.integers(0, h)), int(rng.integers(0, w))] = 1
        contours, _ = cv2.findContours(mask.copy(), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        cases.append({'width': w, 'height': h, 'mask': rows(mask), 'contours': [c.reshape(-1).tolist() for c in contours]})
    return cases


out = {
    'generator': 'scripts/opencv-polygon-fixtures.py',
    'opencv': cv2.__version__,
    'fillPoly': fill_cases(),
    'findContours': contour_cases(),
}
target = os.path.join(os.path.dirname(__file__), '..', 'test', 'fixtures', 'opencv-polygons.json')
with open(target, 'w') as f:
    json.dump(out, f, separators=(',', ':'))
    f.write('\n')
print(f"wrote {target}: {len(out['fillPoly'])} fills, {len(out['findContours'])} contour sets")
