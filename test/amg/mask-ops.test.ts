import { describe, expect, it } from 'vitest';
import { countAbove, isNearCropEdge, stabilityScore, thresholdedBox } from '../../src/amg/mask-ops.js';
import { boxNms } from '../../src/amg/nms.js';
import type { UpscaledMask } from '../../src/amg/mask-ops.js';

function plane(rows: number[][]): { mask: UpscaledMask; width: number } {
  const width = rows[0].length;
  return {
    width,
    mask: {
      logits: Float32Array.from(rows.flat()),
      rowStart: new Int32Array(rows.length),
      rowEnd: new Int32Array(rows.length).fill(width),
      aboveFloor: 0,
      aboveCeiling: 0,
    },
  };
}

const stability = (mask: UpscaledMask, width: number) => stabilityScore(countAbove(mask, width, 1), countAbove(mask, width, -1));

describe('stabilityScore', () => {
  it('is count(> t + offset) / count(> t - offset)', () => {
    // > 1: 2, 1.5 (2 pixels); > -1: 2, 0.5, -0.5, 1.5 (4 pixels); -1 itself is not > -1.
    const { mask, width } = plane([[2, 0.5, -0.5], [-2, 1.5, -1]]);
    expect(stability(mask, width)).toBe(0.5);
  });

  it('rounds to float32 as the reference does', () => {
    const { mask, width } = plane([[5, 5, 0.5]]);
    expect(stability(mask, width)).toBe(Math.fround(2 / 3));
  });

  it('is NaN (rejected by every filter) when nothing is above t - offset', () => {
    const { mask, width } = plane([[-5, -3]]);
    expect(stability(mask, width)).toBeNaN();
  });

  it('ignores pixels outside the computed spans', () => {
    const { mask, width } = plane([[2, 2, 2]]);
    mask.rowStart[0] = 1;
    mask.rowEnd[0] = 2;
    mask.logits[0] = -Infinity;
    mask.logits[2] = -Infinity;
    expect(stability(mask, width)).toBe(1);
  });
});

describe('thresholdedBox', () => {
  it('is inclusive: x1 and y1 are the last foreground column and row', () => {
    const { mask, width } = plane([
      [0, 0, 0, 0],
      [0, 1, 0, 0],
      [0, 0, 1, 0],
    ]);
    expect(thresholdedBox(mask, width, 0)).toEqual([1, 1, 2, 2]);
  });

  it('gives [0, 0, 0, 0] for an empty mask and equal corners for one pixel', () => {
    expect(thresholdedBox(plane([[0, 0], [0, 0]]).mask, 2, 0)).toEqual([0, 0, 0, 0]);
    expect(thresholdedBox(plane([[0, 0], [0, 3]]).mask, 2, 0)).toEqual([1, 1, 1, 1]);
  });
});

describe('isNearCropEdge', () => {
  const crop = [0, 0, 100, 100];
  const image = [0, 0, 200, 100];
  it('drops a box within 20 px of a crop edge that is inside the image', () => {
    expect(isNearCropEdge([30, 30, 80, 50], crop, image)).toBe(true); // |80 - 100| = 20
    expect(isNearCropEdge([30, 30, 79, 50], crop, image)).toBe(false); // 21
  });

  it('keeps a box near a crop edge that is also an image edge', () => {
    expect(isNearCropEdge([0, 0, 50, 99], crop, image)).toBe(false);
  });

  it('compares the inclusive box end with the exclusive crop end (the reference quirk)', () => {
    // A mask touching the crop's last column 99 is 1 px from 100.
    expect(isNearCropEdge([10, 10, 99, 50], [0, 0, 100, 100], [0, 0, 300, 300])).toBe(true);
  });
});

describe('boxNms', () => {
  it('visits by descending score and suppresses IoU above the threshold', () => {
    const boxes = [0, 0, 10, 10, /**/ 0, 0, 10, 9, /**/ 20, 20, 30, 30, /**/ 0, 0, 10, 8];
    // IoU(0,1) = 90/100 = 0.9; IoU(0,3) = 80/100 = 0.8; box 2 is apart.
    expect(boxNms(boxes, [0.5, 0.9, 0.7, 0.6], 0.7)).toEqual([1, 2]);
  });

  it('breaks ties by keeping the earlier box', () => {
    const boxes = [0, 0, 10, 10, /**/ 0, 0, 10, 9];
    expect(boxNms(boxes, [0.9, 0.9], 0.7)).toEqual([0]);
    expect(boxNms([0, 0, 10, 9, 0, 0, 10, 10], [0.9, 0.9], 0.7)).toEqual([0]);
    // Equal scores keep their original order in the result.
    expect(boxNms([0, 0, 1, 1, 5, 5, 6, 6, 9, 9, 10, 10], [0.5, 0.5, 0.5], 0.7)).toEqual([0, 1, 2]);
  });

  it('keeps a box whose IoU equals the threshold (strictly greater suppresses)', () => {
    // IoU = 70 / 100 = 0.7 (0.699999988 in float32)
    expect(boxNms([0, 0, 10, 10, 0, 0, 10, 7], [0.9, 0.8], 0.7)).toEqual([0, 1]);
  });

  it('never suppresses with degenerate boxes (0/0 IoU)', () => {
    expect(boxNms([0, 0, 0, 0, 0, 0, 0, 0], [1, 1], 0.7)).toEqual([0, 1]);
  });

  it('computes areas without +1, the torchvision way', () => {
    // 2×2 vs 2×1 sharing a row: IoU = 2/4 = 0.5 (with +1 it would be 6/9).
    expect(boxNms([0, 0, 2, 2, 0, 0, 2, 1], [1, 0.5], 0.55)).toEqual([0, 1]);
    expect(boxNms([0, 0, 2, 2, 0, 0, 2, 1], [1, 0.5], 0.45)).toEqual([0]);
  });
});
