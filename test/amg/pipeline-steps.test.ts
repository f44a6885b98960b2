/** The contract's per-step behaviour (docs: amg-semantics.md §3–§9) on hand-made inputs. */
import { describe, expect, it } from 'vitest';
import { processBatch, type CropFrame } from '../../src/amg/batch.js';
import { windowToImageRle } from '../../src/amg/crop-rle.js';
import { generateMasks } from '../../src/amg/generator.js';
import { MaskData } from '../../src/amg/mask-data.js';
import { finishCrop, mergeCrops, removeSmallRegionsAll } from '../../src/amg/postprocess.js';
import type { PromptModel } from '../../src/amg/prompt-model.js';
import { toRecords } from '../../src/amg/records.js';
import { FullUpscaler } from '../../src/amg/upscale.js';
import { normalizeAndPad } from '../../src/model/preprocess.js';
import { rleFromRowMajor, type Rle } from '../../src/rle/rle.js';
import { DEFAULT_SETTINGS } from '../../src/settings/settings.js';

const rle = (rows: number[][]): Rle => rleFromRowMajor(Uint8Array.from(rows.flat()), rows.length, rows[0].length);

describe('§3 normalise and pad', () => {
  it('normalises per channel into NCHW and leaves the padding at 0', () => {
    const img = { width: 2, height: 1, data: Uint8Array.from([10, 20, 30, 40, 50, 60]) };
    const out = normalizeAndPad(img, 3, [10, 20, 30], [2, 4, 5]);
    // channel 0: (10-10)/2, (40-10)/2; channel 1: 0, 30/4; channel 2: 0, 30/5
    expect(Array.from(out)).toEqual([
      0, 15, 0, 0, 0, 0, 0, 0, 0,
      0, 7.5, 0, 0, 0, 0, 0, 0, 0,
      0, 6, 0, 0, 0, 0, 0, 0, 0,
    ]);
  });
});

describe('§4 prompts', () => {
  it('sends grid points scaled by resized/crop size, in the resized frame, batch by batch', async () => {
    const calls: number[][] = [];
    const model: PromptModel = {
      lowResSize: 4,
      embed: async (crop) => {
        const resizedH = Math.trunc(crop.height * 1024 / Math.max(crop.width, crop.height) + 0.5);
        return { pointScaleX: 1024 / crop.width, pointScaleY: resizedH / crop.height, maskFrame: 1024, maskHeight: resizedH, maskWidth: 1024 };
      },
      decode: async (_e, points, count) => {
        calls.push(Array.from(points.subarray(0, count * 2)));
        return { lowRes: new Float32Array(count * 3 * 16).fill(-10), iouPreds: new Float32Array(count * 3) };
      },
    };
    // 300 × 200 image: resized 1024 × 683; grid(2) points at 1/4 and 3/4.
    await generateMasks({ width: 300, height: 200, data: new Uint8Array(300 * 200 * 3) }, model, { pointsPerSide: 2, pointsPerBatch: 3 });
    const sx = 1024 / 300;
    const sy = 683 / 200;
    const f = Math.fround;
    expect(calls).toEqual([
      [f(75 * sx), f(50 * sy), f(225 * sx), f(50 * sy), f(75 * sx), f(150 * sy)],
      [f(225 * sx), f(150 * sy)],
    ]);
  });
});

describe('§5 per batch', () => {
  // A 4×4 crop at (2, 1) of a 6×8 image; low-res = crop size so the upscale is the identity.
  const frame = (cropBox: [number, number, number, number], imageH = 6, imageW = 8): CropFrame => ({
    cropBox, imageH, imageW,
    upscaler: new FullUpscaler({ lowRes: 4, inputSize: 4, resizedH: 4, resizedW: 4, cropH: 4, cropW: 4 }),
  });
  const plane = (rows: number[][]) => rows.flat();
  const inside = plane([[-5, -5, -5, -5], [-5, 5, 5, -5], [-5, 5, 5, -5], [-5, -5, -5, -5]]);
  const soft = plane([[-5, -5, -5, -5], [-5, 0.5, 5, -5], [-5, 5, 5, -5], [-5, -5, -5, -5]]);

  it('filters predicted IoU strictly above, stability at or above, in that order', () => {
    const c = {
      count: 3,
      lowRes: Float32Array.from([...inside, ...inside, ...soft]),
      iouPreds: Float32Array.from([0.88, 0.89, 0.95]),
      points: Float64Array.from([1, 1, 2, 2, 3, 3]),
    };
    // candidate 0: IoU 0.88 is not > 0.88; candidate 2: stability 3/4 < 0.95.
    const out = processBatch(c, frame([2, 1, 6, 5]), DEFAULT_SETTINGS);
    expect(Array.from(out.iouPreds)).toEqual([Math.fround(0.89)]);
    expect(Array.from(out.points)).toEqual([2, 2]);
    expect(Array.from(out.stability)).toEqual([1]);
    // The box stays in crop coordinates (inclusive), the RLE is in the image frame.
    expect(Array.from(out.boxes)).toEqual([1, 1, 2, 2]);
    // 6×8 image, mask at rows 2..3 of columns 3..4: 3·6 + 2 zeros, 2 ones, 2 + 2 zeros, 2 ones, the remaining 48 - 28.
    expect(Array.from(out.rles[0].counts)).toEqual([20, 2, 4, 2, 20]);
    expect(Array.from(out.cropBoxes)).toEqual([2, 1, 6, 5]);
  });

  it('keeps stability-failing masks when the filter is off, and drops boxes near inner crop edges', () => {
    const edge = plane([[-5, -5, -5, -5], [-5, -5, 5, 5], [-5, -5, 5, 5], [-5, -5, -5, -5]]);
    const c = { count: 2, lowRes: Float32Array.from([...soft, ...edge]), iouPreds: Float32Array.from([0.9, 0.9]), points: new Float64Array(4) };
    // Crop [0,0,4,4] of a 100×100 image: the edge mask reaches x=3, within 20 px of the crop's right side x=4.
    const out = processBatch(c, frame([0, 0, 4, 4], 100, 100), { ...DEFAULT_SETTINGS, stabilityScoreThresh: 0 });
    // Both are within 20 px of the crop's right/bottom edges, which are inside the image: both dropped.
    expect(out.length).toBe(0);
    // When the crop is the whole image, its edges are image edges: both kept, the soft one at stability 3/4.
    const whole = processBatch(c, frame([0, 0, 4, 4], 4, 4), { ...DEFAULT_SETTINGS, stabilityScoreThresh: 0 });
    expect(Array.from(whole.stability)).toEqual([0.75, 1]);
  });
});

describe('the pasted-crop RLE equals the RLE of the full uncropped mask', () => {
  it.each([
    [[1, 2], 3, 4, 6, 7],
    [[0, 0], 3, 4, 3, 4],
    [[3, 0], 6, 2, 6, 5],
    [[0, 2], 4, 5, 6, 5],
  ])('crop at %j of size %i×%i in a %i×%i image', ([x0, y0], h, w, H, W) => {
    for (let seed = 1; seed < 40; seed++) {
      const logits = new Float32Array(h * w).map((_, i) => (((i + 1) * seed * 7919) % 13) - 6);
      const full = new Uint8Array(H * W);
      for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) full[(y0 + y) * W + x0 + x] = logits[y * w + x] > 0 ? 1 : 0;
      const got = windowToImageRle({ logits, offset: 0, stride: w, rows: h, cols: w }, x0, y0, H, W, 0);
      expect(Array.from(got.counts)).toEqual(Array.from(rleFromRowMajor(full, H, W).counts));
    }
  });
});

function data(boxes: number[][], scores: number[], cropBoxes?: number[][]): MaskData {
  const n = boxes.length;
  return new MaskData(
    boxes.map(() => rle([[0]])),
    Int32Array.from(boxes.flat()),
    Float32Array.from(scores),
    new Float32Array(n).fill(1),
    new Float64Array(n * 2).map((_, i) => i),
    Int32Array.from((cropBoxes ?? boxes.map(() => [0, 0, 10, 10])).flat()),
  );
}

describe('§6 per crop and §7 across crops', () => {
  it('runs NMS by predicted IoU, then shifts boxes and points by the crop origin', () => {
    const d = data([[0, 0, 4, 4], [0, 0, 4, 3], [6, 6, 8, 8]], [0.9, 0.95, 0.8]);
    const out = finishCrop(d, [10, 20, 30, 40], 0.7);
    expect(Array.from(out.iouPreds)).toEqual([0.95, 0.8].map(Math.fround));
    expect(Array.from(out.boxes)).toEqual([10, 20, 14, 23, 16, 26, 18, 28]);
    expect(Array.from(out.points)).toEqual([12, 23, 14, 25]);
  });

  it('prefers masks from smaller crops', () => {
    const d = data([[0, 0, 4, 4], [0, 0, 4, 4]], [0.99, 0.5], [[0, 0, 100, 100], [0, 0, 50, 60]]);
    expect(Array.from(mergeCrops(d, 0.7).iouPreds)).toEqual([Math.fround(0.5)]);
  });
});

describe('§8 small regions', () => {
  it('prefers unchanged masks in the NMS and gives kept changed masks their new RLE and box', () => {
    // A: a 3×3 square with a one-pixel hole (changed); B: the same square already filled (unchanged).
    const holed = rle([[0, 0, 0, 0], [0, 1, 1, 1], [0, 1, 0, 1], [0, 1, 1, 1]]);
    const filled = rle([[0, 0, 0, 0], [0, 1, 1, 1], [0, 1, 1, 1], [0, 1, 1, 1]]);
    // C: far away, with a stray pixel (changed, kept since nothing overlaps it).
    const stray = rle([[1, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 1, 1]]);
    const d = new MaskData([holed, filled, stray], Int32Array.from([1, 1, 3, 3, 1, 1, 3, 3, 0, 0, 3, 3]),
      Float32Array.from([0.9, 0.8, 0.7]), new Float32Array(3), new Float64Array(6), new Int32Array(12));
    const out = removeSmallRegionsAll(d, 2, 0.7);
    // Unchanged B first (score 1), then changed C; A is a duplicate of B.
    expect(Array.from(out.iouPreds)).toEqual([0.8, 0.7].map(Math.fround));
    expect(out.rles[0]).toBe(filled);
    expect(Array.from(out.boxes)).toEqual([1, 1, 3, 3, 2, 3, 3, 3]);
    expect(Array.from(out.rles[1].counts)).toEqual(Array.from(rle([[0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 1, 1]]).counts));
  });
});

describe('§9 records', () => {
  it('writes XYWH from inclusive boxes, the area from the RLE and float32 scores', () => {
    const d = new MaskData([rle([[0, 1], [0, 0]])], Int32Array.from([1, 0, 1, 0]), Float32Array.from([0.9]),
      Float32Array.from([0.97]), Float64Array.from([1.5, 0.25]), Int32Array.from([0, 0, 2, 2]));
    expect(toRecords(d)).toEqual([{
      // column-major counts [2, 1, 1]: '2' '1' '1'
      segmentation: { size: [2, 2], counts: '211' },
      area: 1,
      bbox: [1, 0, 0, 0],
      predicted_iou: Math.fround(0.9),
      point_coords: [[1.5, 0.25]],
      stability_score: Math.fround(0.97),
      crop_box: [0, 0, 2, 2],
    }]);
  });
});
