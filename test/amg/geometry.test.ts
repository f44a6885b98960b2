import { describe, expect, it } from 'vitest';
import { buildLayerPointGrids, buildPointGrid, generateCropBoxes, preprocessShape } from '../../src/amg/geometry.js';

describe('generateCropBoxes', () => {
  it('lays out a 1500×2250 image with 2 crop layers as the reference does', () => {
    // Hand-computed: short side 1500, overlap ratio 512/1500.
    // Layer 1: overlap int(512) = 512, crop w = ceil((512 + 2250) / 2) = 1381,
    //   crop h = ceil((512 + 1500) / 2) = 1006, x0 = [0, 869], y0 = [0, 494].
    // Layer 2: overlap int(512 / 2) = 256, crop w = ceil((768 + 2250) / 4) = 755,
    //   crop h = ceil((768 + 1500) / 4) = 567, x0 = [0, 499, 998, 1497], y0 = [0, 311, 622, 933].
    const crops = generateCropBoxes(1500, 2250, 2, 512 / 1500);
    const layer2: number[][] = [];
    for (const x0 of [0, 499, 998, 1497]) {
      for (const y0 of [0, 311, 622, 933]) layer2.push([x0, y0, Math.min(x0 + 755, 2250), Math.min(y0 + 567, 1500)]);
    }
    expect(crops.map((c) => c.box)).toEqual([
      [0, 0, 2250, 1500],
      [0, 0, 1381, 1006], [0, 494, 1381, 1500], [869, 0, 2250, 1006], [869, 494, 2250, 1500],
      ...layer2,
    ]);
    expect(crops.map((c) => c.layer)).toEqual([0, 1, 1, 1, 1, ...Array(16).fill(2)]);
    expect(layer2[15]).toEqual([1497, 933, 2250, 1500]);
  });

  it('has only the whole image without crop layers', () => {
    expect(generateCropBoxes(10, 20, 0, 0.5)).toEqual([{ box: [0, 0, 20, 10], layer: 0 }]);
  });
});

describe('point grids', () => {
  it('builds grid(4) with offsets 1/8 and y as the outer loop', () => {
    const v = [0.125, 0.375, 0.625, 0.875];
    const expected: number[] = [];
    for (const y of v) for (const x of v) expected.push(x, y);
    expect(Array.from(buildPointGrid(4))).toEqual(expected);
  });

  it('puts grid(1) in the centre', () => {
    expect(Array.from(buildPointGrid(1))).toEqual([0.5, 0.5]);
  });

  it('reproduces numpy linspace to the last bit (i * step + start, exact end)', () => {
    const g = buildPointGrid(32);
    const step = (1 - 1 / 64 - 1 / 64) / 31;
    expect(g[2 * 5]).toBe(5 * step + 1 / 64);
    expect(g[2 * 31]).toBe(1 - 1 / 64);
  });

  it('shrinks per layer by the downscale factor, truncating', () => {
    const grids = buildLayerPointGrids(32, 2, 3);
    expect(grids.map((g) => g.length / 2)).toEqual([32 * 32, 10 * 10, 3 * 3]);
  });
});

describe('preprocessShape', () => {
  it('rounds half up the way ResizeLongestSide does', () => {
    // 1024 / 2250 * 1500 = 682.67 -> 683
    expect(preprocessShape(1500, 2250, 1024)).toEqual([683, 1024]);
    // 534 * 1024 / 800 = 683.52 -> 684
    expect(preprocessShape(534, 800, 1024)).toEqual([684, 1024]);
    // 200 * 1024 / 10000 = 20.48 -> 20
    expect(preprocessShape(200, 10000, 1024)).toEqual([20, 1024]);
    expect(preprocessShape(1, 1, 1024)).toEqual([1024, 1024]);
    // exactly .5: 3 * (1024 / 2048) = 1.5 -> int(2.0) = 2
    expect(preprocessShape(3, 2048, 1024)).toEqual([2, 1024]);
  });
});
