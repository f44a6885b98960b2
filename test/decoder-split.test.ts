import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { generateMasks } from '../src/amg/generator.js';
import { decodeImage } from '../src/image/decode.js';
import { SamOnnxModel } from '../src/model/sam-onnx.js';
import { paintScene, PHOTOS, ROOT, type Shape } from './helpers.js';

const shapes: Shape[] = [
  { colour: [220, 40, 40], contains: (x, y) => x >= 15 && x < 80 && y >= 20 && y < 75 },
  { colour: [40, 200, 70], contains: (x, y) => (x - 145) ** 2 + (y - 50) ** 2 < 32 ** 2 },
];
const scene = paintScene(200, 150, [90, 90, 90], shapes);

// Every fixture model, each family's I/O form, and the batched graph both one prompt and 8 prompts a call.
const cases: [string, number][] = [
  ['tiny', 1], ['tiny-batched', 1], ['tiny-batched', 8], ['tiny-fp16', 1], ['tiny-int8', 1],
  ['families/sam-hwc', 1], ['families/edgesam', 1], ['families/efficientvit-sam', 1],
  ['families/sam2', 1], ['families/efficientsam', 1],
];

async function recordsOf(dir: string, promptsPerCall: number, decoderGraph: 'split' | 'whole', image = scene) {
  const model = await SamOnnxModel.loadDir(path.join(ROOT, 'fixtures/models', dir), { promptsPerCall, decoderGraph });
  try {
    // Filters off: every candidate's logits reach the records, so any changed bit would show.
    const records = await generateMasks(image, model, { pointsPerSide: 6, predIouThresh: 0, stabilityScoreThresh: 0 });
    return { json: JSON.stringify(records), count: records.length, split: model.decoderSplit };
  } finally {
    await model.release();
  }
}

describe('the decoder split into a per-crop and a per-prompt part', () => {
  it.each(cases)('gives byte-identical records for %s at %i prompt(s) a call', async (dir, perCall) => {
    const whole = await recordsOf(dir, perCall, 'whole');
    const split = await recordsOf(dir, perCall, 'split');
    expect(whole.split).toBeUndefined();
    // The tiny decoders' colour map comes from the embedding alone: it must move to the per-crop part.
    expect(split.split?.hoisted).toBeGreaterThan(0);
    expect(split.count).toBeGreaterThan(0);
    expect(split.json).toBe(whole.json);
  });

  it('gives byte-identical records on a photo fixture, with a crop layer', async () => {
    const image = await decodeImage(path.join(PHOTOS, 'still-life.jpg'));
    const run = async (decoderGraph: 'split' | 'whole') => {
      const model = await SamOnnxModel.loadDir(path.join(ROOT, 'fixtures/models/tiny'), { decoderGraph });
      try {
        return JSON.stringify(await generateMasks(image, model, { pointsPerSide: 8, cropNLayers: 1, cropNPointsDownscaleFactor: 2 }));
      } finally {
        await model.release();
      }
    };
    const split = await run('split');
    expect(JSON.parse(split).length).toBeGreaterThan(0);
    expect(split).toBe(await run('whole'));
  });
});
