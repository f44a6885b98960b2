/**
 * Compares against values produced by the real PIL, PyTorch and OpenCV
 * (scripts/golden/make-goldens.py, run with Debian's python3 packages).
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { preprocessShape } from '../src/amg/geometry.js';
import { removeSmallRegions } from '../src/amg/regions.js';
import { FullUpscaler, SparseUpscaler } from '../src/amg/upscale.js';
import { pilBilinearResize } from '../src/image/pil-resize.js';
import { rleFromRowMajor, rleToRowMajor } from '../src/rle/rle.js';

const reference = JSON.parse(readFileSync(new URL('./golden/reference.json', import.meta.url), 'utf8'));

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
