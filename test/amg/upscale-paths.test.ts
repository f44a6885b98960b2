import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateMasks } from '../../src/amg/generator.js';
import { decodeImage } from '../../src/image/decode.js';
import { SamOnnxModel } from '../../src/model/sam-onnx.js';
import { PostprocessPool } from '../../src/runner/postprocess-pool.js';
import { PHOTOS, TINY_BATCHED } from '../helpers.js';

describe('sparse and full (reference) upscaling on the photo fixtures', () => {
  let model: SamOnnxModel;
  beforeAll(async () => {
    model = await SamOnnxModel.loadDir(TINY_BATCHED, { promptsPerCall: 64 });
  });
  afterAll(() => model.release());

  // One photo wider than the encoder's 1024 (shrunk), one under it (enlarged).
  it.each(['meadow.jpg', 'still-life.jpg'])('give byte-identical records for %s', async (name) => {
    const image = await decodeImage(path.join(PHOTOS, name));
    // Filters off, so every candidate goes through upscaling, stability, boxes and RLE.
    const settings = { pointsPerSide: 6, predIouThresh: 0, stabilityScoreThresh: 0, cropNLayers: 1, cropNPointsDownscaleFactor: 2 };
    const sparse = JSON.stringify(await generateMasks(image, model, settings, { upscale: 'sparse' }));
    const full = JSON.stringify(await generateMasks(image, model, settings, { upscale: 'full' }));
    expect(JSON.parse(sparse).length).toBeGreaterThan(10);
    expect(sparse).toBe(full);
  });

  it('give the same records when post-processing runs on worker threads, with batches in flight', async () => {
    const image = await decodeImage(path.join(PHOTOS, 'shelf.jpg'));
    // The crop layer at half density: the first crop's four batches of 16 are in flight together, and each
    // candidate costs a whole crop's pixels on 2 cores, so fewer of them than the full grid's 960.
    const settings = { pointsPerSide: 8, pointsPerBatch: 16, predIouThresh: 0, stabilityScoreThresh: 0, cropNLayers: 1, cropNPointsDownscaleFactor: 2 };
    const inline = JSON.stringify(await generateMasks(image, model, settings));
    const pool = new PostprocessPool(2);
    try {
      const pooled = JSON.stringify(await generateMasks(image, model, settings, { processor: pool, batchesInFlight: 3 }));
      expect(JSON.parse(pooled).length).toBeGreaterThan(10);
      expect(pooled).toBe(inline);
    } finally {
      await pool.close();
    }
  });
});
