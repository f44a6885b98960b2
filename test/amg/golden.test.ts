/**
 * Compares against values produced by the real PIL, PyTorch and OpenCV
 * (scripts/golden/make-goldens.py, run with Debian's python3 packages).
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { preprocessShape } from '../../src/amg/geometry.js';
import { cleanLowResRegions } from '../../src/amg/low-res-cleanup.js';
import { removeSmallRegions } from '../../src/amg/regions.js';
import { FullUpscaler, SparseUpscaler } from '../../src/amg/upscale.js';
import { antialiasResize, antialiasResizeRgb } from '../../src/image/antialias-resize.js';
import { pilBilinearResize } from '../../src/image/pil-resize.js';
import { IMAGENET_MEAN, IMAGENET_STD, sam2Preprocess } from '../../src/model/preprocess.js';
import { rleFromRowMajor, rleToRowMajor } from '../../src/rle/rle.js';

const reference = JSON.parse(readFileSync(new URL('../golden/reference.json', import.meta.url), 'utf8'));

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

/** The same integer formula as test_image() in make-goldens.py. */
function testImage(w: number, h: number) {
  const data = new Uint8Array(w * h * 3);
  for (let k = 0; k < data.length; k++) data[k] = (k * 7919 + Math.floor(k / 7) * 104729) % 256;
  return { width: w, height: h, data };
}

/** The same formula as low_res_logits() in make-goldens.py. */
function lowResLogits(n: number, size: number, seed: number): Float32Array {
  const out = new Float32Array(n * size * size);
  for (let k = 0; k < out.length; k++) out[k] = (((k * 7919 + seed * 104729) % 20011) / 20011) * 40 - 28;
  return out;
}

describe('PIL bilinear resize matches Pillow byte for byte', () => {
  it.each(reference.pilResize)('$w×$h → $outW×$outH', (c: { w: number; h: number; outW: number; outH: number; sha256: string; first: number[] }) => {
    expect(preprocessShape(c.h, c.w, 1024)).toEqual([c.outH, c.outW]);
    const out = pilBilinearResize(testImage(c.w, c.h), c.outW, c.outH);
    expect(Array.from(out.data.subarray(0, 12))).toEqual(c.first);
    expect(sha256(out.data)).toBe(c.sha256);
  });
});

describe('mask upscaling matches PyTorch F.interpolate', () => {
  it.each(reference.torchUpscale)('$n masks → $h×$w', (c: { h: number; w: number; n: number; seed: number; sha256: string; above: number[] }) => {
    const [resizedH, resizedW] = preprocessShape(c.h, c.w, 1024);
    const geometry = { lowRes: 256, inputSize: 1024, resizedH, resizedW, cropH: c.h, cropW: c.w };
    const full = new FullUpscaler(geometry);
    const sparse = new SparseUpscaler(geometry);
    const low = lowResLogits(c.n, 256, c.seed);
    const all = new Float32Array(c.n * c.h * c.w);
    const above = [0, 0, 0];
    for (let i = 0; i < c.n; i++) {
      all.set(full.upscale(low, i * 256 * 256, -1).logits, i * c.h * c.w);
      const s = sparse.upscale(low, i * 256 * 256, -1);
      [-1, 0, 1].forEach((t, k) => {
        for (const v of s.logits) if (v > t) above[k]++;
      });
    }
    expect(sha256(new Uint8Array(all.buffer))).toBe(c.sha256);
    expect(above).toEqual(c.above);
  });
});

describe("SAM 2's image transform matches PyTorch's antialiased float resize bit for bit", () => {
  type Case = { w: number; h: number; outW: number; outH: number; resizedSha256: string; normalisedSha256: string; first: number[] };
  it.each(reference.torchAntialiasResize)('$w×$h → $outW×$outH', (c: Case) => {
    const image = testImage(c.w, c.h);
    const unit = new Float32Array(3 * c.w * c.h);
    for (let ch = 0; ch < 3; ch++) for (let p = 0; p < c.w * c.h; p++) unit[ch * c.w * c.h + p] = image.data[3 * p + ch] / 255;
    const resized = antialiasResize(unit, 3, c.h, c.w, c.outH, c.outW);
    expect(Array.from(resized.subarray(0, 6))).toEqual(c.first);
    expect(sha256(new Uint8Array(resized.buffer))).toBe(c.resizedSha256);
    // The encoder's path, reading the 8-bit pixels directly and running the height pass along rows.
    expect(sha256(new Uint8Array(antialiasResizeRgb(image, c.outH, c.outW).buffer))).toBe(c.resizedSha256);
    if (c.outW === c.outH) {
      const normalised = sam2Preprocess(image, c.outW, IMAGENET_MEAN, IMAGENET_STD);
      expect(sha256(new Uint8Array(normalised.buffer))).toBe(c.normalisedSha256);
    }
  });

  it('differs from the 8-bit PIL resize SAM 1 uses by PIL\'s rounding alone', () => {
    const c = reference.torchAntialiasResize[0];
    const pil = pilBilinearResize(testImage(c.w, c.h), c.outW, c.outH);
    const unit = sam2Preprocess(testImage(c.w, c.h), c.outW, [0, 0, 0], [1, 1, 1]);
    let roundedOtherwise = 0;
    let largest = 0;
    for (let p = 0; p < c.outW * c.outH; p++) {
      const exact = unit[p] * 255;
      if (Math.round(exact) !== pil.data[3 * p]) roundedOtherwise++;
      largest = Math.max(largest, Math.abs(exact - pil.data[3 * p]));
    }
    // The same filter: within one 8-bit step everywhere, yet about a sixth of the pixels (measured 17 %) round the other way.
    expect(largest).toBeLessThan(1);
    expect(roundedOtherwise / (c.outW * c.outH)).toBeGreaterThan(0.1);
  });
});

/** The same formula as cleanup_logits() in make-goldens.py: 16² blocks of either sign, flipped 4² blobs and single specks. */
function cleanupLogits(size: number, seed: number): Float32Array {
  const out = new Float32Array(size * size);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const k = y * size + x;
      let v = (((x >> 4) * 5 + (y >> 4) * 3 + seed) % 4) - 1.5;
      if (((x >> 2) * 13 + (y >> 2) * 7 + seed) % 29 === 0) v = -3 * v;
      if ((k * 7919 + seed * 104729) % 37 === 0) v = -5 * v;
      out[k] = v;
    }
  }
  return out;
}

describe("SAM 2's low-resolution hole and sprinkle cleanup matches OpenCV's 8-connected components", () => {
  type Case = { seed: number; maxArea: number; sha256: string; filled: number; removed: number };
  it.each(reference.sam2LowResCleanup)('max area $maxArea (seed $seed)', (c: Case) => {
    const original = cleanupLogits(256, c.seed);
    // Two planes side by side: the offset is honoured and the other plane left alone.
    const both = new Float32Array(2 * 256 * 256);
    both.set(original, 256 * 256);
    const changed = cleanLowResRegions(both, 256 * 256, 256, c.maxArea);
    const plane = both.subarray(256 * 256);
    expect(both.subarray(0, 256 * 256).every((v) => v === 0)).toBe(true);
    let filled = 0;
    let removed = 0;
    plane.forEach((v, k) => {
      if (v === 10 && original[k] <= 0) filled++;
      if (v === -10 && original[k] > 0) removed++;
    });
    expect([filled, removed]).toEqual([c.filled, c.removed]);
    expect(changed).toBe(c.filled + c.removed > 0);
    expect(sha256(new Uint8Array(plane.slice().buffer))).toBe(c.sha256);
  });
});

describe("OpenCV's component order (size ties between islands)", () => {
  it('numbers components by 2×2 block rows, and the earlier label wins a tie', () => {
    const order = reference.cv2TieOrder;
    // The island at row 1, column 0 is in an earlier 2×2 block than the one at row 0, column 3.
    expect(order.labelAt_r1c0).toBeLessThan(order.labelAt_r0c3);
    const m = new Uint8Array(4 * 6);
    m[1 * 6 + 0] = 1;
    m[0 * 6 + 3] = 1;
    const kept = rleToRowMajor(removeSmallRegions(rleFromRowMajor(m, 4, 6), 5, 'islands').rle);
    expect(kept[1 * 6 + 0]).toBe(1);
    expect(kept[0 * 6 + 3]).toBe(0);
  });
});
