import { describe, expect, it } from 'vitest';
import { axisWeights, FullUpscaler, SparseUpscaler, type UpscaleGeometry } from '../../src/amg/upscale.js';

describe('bilinear axis weights (align_corners = false)', () => {
  it('maps 2 → 4 with clamped edges', () => {
    // source positions: -0.25 -> 0, 0.25, 0.75, 1.25 (clamped to the last index)
    const a = axisWeights(2, 4);
    expect(Array.from(a.i0)).toEqual([0, 0, 0, 1]);
    expect(Array.from(a.i1)).toEqual([1, 1, 1, 1]);
    expect(Array.from(a.w1)).toEqual([0, 0.25, 0.75, 0.25]);
    expect(Array.from(a.w0)).toEqual([1, 0.75, 0.25, 0.75]);
  });
});

function randomLowRes(size: number, seed: number, bias: number): Float32Array {
  const out = new Float32Array(size * size);
  let s = seed;
  // A smooth blob plus noise, like mask logits: strongly negative far away, some region above 0.
  const cx = (((seed * 37) % 97) / 97) * size;
  const cy = (((seed * 53) % 89) / 89) * size;
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      s = (s * 1103515245 + 12345) % 2 ** 31;
      const d = Math.hypot(x - cx, y - cy) / size;
      out[y * size + x] = bias - 40 * d + (s / 2 ** 31 - 0.5) * 3;
    }
  }
  return out;
}

describe('upscalers', () => {
  it('upsample 2×2 → 4×4 by hand', () => {
    const g: UpscaleGeometry = { lowRes: 2, inputSize: 4, resizedH: 4, resizedW: 4, cropH: 4, cropW: 4 };
    const m = new FullUpscaler(g).upscale(Float32Array.from([0, 8, 8, 16]), 0, -Infinity);
    // rows: [0, 2, 6, 8]; row 1 = .75·row0 + .25·row1 with row1 = [8, 10, 14, 16]
    expect(Array.from(m.logits.subarray(0, 4))).toEqual([0, 2, 6, 8]);
    expect(Array.from(m.logits.subarray(4, 8))).toEqual([2, 4, 8, 10]);
    expect(Array.from(m.logits.subarray(12, 16))).toEqual([8, 10, 14, 16]);
  });

  it('keeps only the top-left resized part of the S×S stage', () => {
    // 2×2 → 4×4, keep the top 2 rows, then 2 → 1 row: the crop sees rows 0..1 only.
    const g: UpscaleGeometry = { lowRes: 2, inputSize: 4, resizedH: 2, resizedW: 4, cropH: 1, cropW: 4 };
    const m = new FullUpscaler(g).upscale(Float32Array.from([0, 8, 8, 16]), 0, -Infinity);
    // rows 0 and 1 are [0,2,6,8] and [2,4,8,10]; 2 → 1 takes their mean.
    expect(Array.from(m.logits)).toEqual([1, 3, 7, 9]);
  });

  const geometries: UpscaleGeometry[] = [
    { lowRes: 64, inputSize: 256, resizedH: 171, resizedW: 256, cropH: 300, cropW: 450 }, // enlarge
    { lowRes: 64, inputSize: 256, resizedH: 256, resizedW: 200, cropH: 97, cropW: 76 }, // shrink
    { lowRes: 64, inputSize: 256, resizedH: 256, resizedW: 256, cropH: 256, cropW: 256 },
    { lowRes: 64, inputSize: 256, resizedH: 5, resizedW: 256, cropH: 2, cropW: 100 }, // panorama strip
  ];

  it.each(geometries)('sparse equals full wherever a value lies between floor and ceiling (%j)', (g) => {
    const full = new FullUpscaler(g);
    const sparse = new SparseUpscaler(g);
    const floor = -1;
    const ceiling = 1;
    let skipped = 0;
    let computed = 0;
    let inside = 0;
    for (const [seed, bias] of [[1, 5], [2, -3], [3, 30], [4, -60], [5, 0.9], [6, 12]]) {
      const low = randomLowRes(g.lowRes, seed, bias);
      const reference = full.upscale(low, 0, floor, ceiling);
      const fullValues = Float32Array.from(reference.logits);
      const fullCounts = [reference.aboveFloor, reference.aboveCeiling];
      const b = sparse.upscale(low, 0, floor, ceiling);
      // The stability score's two counts, which the sparse path keeps while it computes.
      expect([b.aboveFloor, b.aboveCeiling], `seed ${seed}`).toEqual(fullCounts);
      const wrong: string[] = [];
      for (let y = 0; y < g.cropH; y++) {
        for (let x = 0; x < g.cropW; x++) {
          const i = y * g.cropW + x;
          if (x >= b.rowStart[y] && x < b.rowEnd[y] && b.logits[i] === Infinity) {
            inside++;
            if (!(fullValues[i] > ceiling)) wrong.push(`(${x},${y}) taken as inside but full is ${fullValues[i]}`);
          } else if (x >= b.rowStart[y] && x < b.rowEnd[y] && b.logits[i] === -Infinity) {
            // A gap between two live runs of the row.
            skipped++;
            if (!(fullValues[i] <= floor)) wrong.push(`(${x},${y}) skipped in a gap but full is ${fullValues[i]}`);
          } else if (x >= b.rowStart[y] && x < b.rowEnd[y]) {
            computed++;
            if (!Object.is(b.logits[i], fullValues[i])) wrong.push(`(${x},${y}) ${b.logits[i]} != ${fullValues[i]}`);
          } else {
            skipped++;
            if (b.logits[i] !== -Infinity || !(fullValues[i] <= floor)) {
              wrong.push(`(${x},${y}) skipped but full is ${fullValues[i]}`);
            }
          }
        }
      }
      expect(wrong.slice(0, 5)).toEqual([]);
    }
    // Every kind of pixel occurs, so the comparison covers every branch.
    expect(skipped).toBeGreaterThan(0);
    expect(computed).toBeGreaterThan(0);
    if (g.cropH >= 16) expect(inside).toBeGreaterThan(0); // the panorama strip misses the blobs
  });
});
