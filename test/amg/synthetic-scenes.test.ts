import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateMasks } from '../../src/amg/generator.js';
import type { MaskRecord } from '../../src/amg/records.js';
import { SamOnnxModel } from '../../src/model/sam-onnx.js';
import { decodeCountsString } from '../../src/rle/coco-string.js';
import { rleToRowMajor } from '../../src/rle/rle.js';
import { maskIou, paintScene, shapeMask, TINY_BATCHED, type Shape } from '../helpers.js';

const W = 240;
const H = 180;
const shapes: Shape[] = [
  { colour: [220, 40, 40], contains: (x, y) => x >= 20 && x < 90 && y >= 25 && y < 85 },
  { colour: [40, 200, 70], contains: (x, y) => (x - 170) ** 2 + (y - 55) ** 2 < 38 ** 2 },
  // triangle with corners (40, 165), (110, 165), (75, 105)
  { colour: [50, 80, 230], contains: (x, y) => y < 165 && y - 105 >= (Math.abs(x - 75) * 60) / 35 },
  { colour: [240, 210, 40], contains: (x, y) => ((x - 175) / 45) ** 2 + ((y - 140) / 25) ** 2 < 1 },
];
const background: [number, number, number] = [90, 90, 90];

function decode(r: MaskRecord): Uint8Array {
  return rleToRowMajor({ size: r.segmentation.size, counts: decodeCountsString(r.segmentation.counts) });
}

describe('AMG on flat-coloured shapes with the tiny model', () => {
  let model: SamOnnxModel;
  const image = paintScene(W, H, background, shapes);
  beforeAll(async () => {
    model = await SamOnnxModel.loadDir(TINY_BATCHED, { promptsPerCall: 64 });
  });
  afterAll(async () => {
    await model.release();
  });

  it.each([
    ['default settings', {}],
    ['the dense preset (crop layer, small-region cleanup)', {
      predIouThresh: 0.86, stabilityScoreThresh: 0.92, cropNLayers: 1, cropNPointsDownscaleFactor: 2, minMaskRegionArea: 100,
    }],
  ])('returns each shape once with IoU >= 0.95 (%s)', async (_, settings) => {
    const records = await generateMasks(image, model, settings);
    const masks = records.map(decode);
    shapes.forEach((_, k) => {
      const truth = shapeMask(W, H, shapes, k);
      const ious = masks.map((m) => maskIou(m, truth));
      const matching = ious.filter((v) => v > 0.5);
      expect(matching.length, `shape ${k}: ${ious.map((v) => v.toFixed(3)).join(' ')}`).toBe(1);
      expect(matching[0]).toBeGreaterThanOrEqual(0.95);
    });
    for (let i = 0; i < masks.length; i++) {
      for (let j = i + 1; j < masks.length; j++) expect(maskIou(masks[i], masks[j])).toBeLessThan(0.5);
    }
    // Every record is internally consistent.
    for (const [k, r] of records.entries()) {
      expect(r.segmentation.size).toEqual([H, W]);
      expect(r.area).toBe(masks[k].reduce((a, b) => a + b, 0));
      expect(r.predicted_iou).toBeGreaterThan(settings.predIouThresh ?? 0.88);
      expect(r.stability_score).toBeGreaterThanOrEqual(settings.stabilityScoreThresh ?? 0.95);
    }
  });

  it('gives byte-identical records through the sparse and the full upscaler', async () => {
        // Fewer prompts than the defaults: the check is that both paths agree on every candidate, and each costs the full path 1024² pixels.
    // The crop layer at half density (16 points on each of its crops): the full path's cost is per candidate.
    for (const settings of [{ pointsPerSide: 10 }, { cropNLayers: 1, cropNPointsDownscaleFactor: 2, minMaskRegionArea: 50, pointsPerSide: 8 }]) {
      const sparse = await generateMasks(image, model, settings, { upscale: 'sparse' });
      const full = await generateMasks(image, model, settings, { upscale: 'full' });
      expect(sparse.length).toBeGreaterThan(0);
      expect(JSON.stringify(sparse)).toBe(JSON.stringify(full));
    }
  });
});
