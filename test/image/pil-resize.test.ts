import { describe, expect, it } from 'vitest';
import { bilinearCoefficients, pilBilinearResize } from '../../src/image/pil-resize.js';

function greyRow(values: number[]) {
  return { width: values.length, height: 1, data: Uint8Array.from(values.flatMap((v) => [v, v, v])) };
}

function channel0(img: { data: Uint8Array }) {
  return Array.from(img.data.filter((_, i) => i % 3 === 0));
}

describe("PIL's bilinear resize", () => {
  it('shrinks 4 → 2 with the widened triangle filter and 22-bit weights', () => {
    // scale 2, support 2. Output 0: centre 1, taps 0..2 with weights .75, .75, .25
    // normalised to 3/7, 3/7, 1/7 -> fixed 1797559, 1797559, 599186:
    // (2^21 + 100·1797559 + 200·599186) >> 22 = 71.
    // Output 1: centre 3, taps 1..3 -> 1/7, 3/7, 3/7:
    // (2^21 + 100·599186 + 200·1797559 + 255·1797559) >> 22 = 209.
    const c = bilinearCoefficients(4, 2);
    expect(Array.from(c.weights.subarray(0, 3))).toEqual([1797559, 1797559, 599186]);
    expect(channel0(pilBilinearResize(greyRow([0, 100, 200, 255]), 2, 1))).toEqual([71, 209]);
  });

  it('enlarges 2 → 4: edges copy, inner pixels round half up', () => {
    // centres .25, .75, 1.25, 1.75: [10], [.75·10 + .25·200 = 57.5 -> 58], [152.5 -> 153], [200]
    expect(channel0(pilBilinearResize(greyRow([10, 200]), 4, 1))).toEqual([10, 58, 153, 200]);
  });

  it('runs the vertical pass after the horizontal one, each rounding to 8 bits', () => {
    // Horizontal 2 → 1 on each row averages the pair; vertical 2 → 1 averages those.
    const img = { width: 2, height: 2, data: Uint8Array.from([0, 0, 0, 1, 1, 1, 2, 2, 2, 2, 2, 2]) };
    // rows: (0 + 1) / 2 = 0.5 -> 1 (round half up); (2 + 2) / 2 = 2; then (1 + 2) / 2 = 1.5 -> 2.
    expect(channel0(pilBilinearResize(img, 1, 1))).toEqual([2]);
  });

  it('leaves an image of the target size untouched', () => {
    const img = greyRow([1, 2, 3]);
    expect(pilBilinearResize(img, 3, 1)).toBe(img);
  });
});
