import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tinyModelFiles } from '../../scripts/make-tiny-models.js';
import { buildTinyDecoder } from '../../scripts/tiny-model/tiny-sam.js';
import { generateMasks } from '../../src/amg/generator.js';
import { ModelError } from '../../src/model/model-error.js';
import { SamOnnxModel } from '../../src/model/sam-onnx.js';
import { paintScene, ROOT, TINY, TINY_BATCHED, tempDir } from '../helpers.js';

describe('tiny test models', () => {
  it('regenerate to exactly the committed bytes', () => {
    for (const [rel, bytes] of tinyModelFiles()) {
      const committed = readFileSync(path.join(ROOT, 'fixtures/models', rel));
      expect(Buffer.from(bytes).equals(committed), rel).toBe(true);
    }
  });

  it('load with the official contract: S = 1024, 256² logits, batch 1 or dynamic', async () => {
    const single = await SamOnnxModel.loadDir(TINY);
    const batched = await SamOnnxModel.loadDir(TINY_BATCHED);
    expect([single.inputSize, single.lowResSize, single.promptsPerCall]).toEqual([1024, 256, 1]);
    expect([batched.inputSize, batched.lowResSize, batched.promptsPerCall]).toEqual([1024, 256, Infinity]);
    // Sending one prompt a call is the measured default even where the graph takes more.
    expect(batched.promptsSentPerCall).toBe(1);
    await single.release();
    await batched.release();
  });

  it('give the same masks through the batch-1 and the batched decoder paths', async () => {
    const image = paintScene(96, 64, [30, 30, 30], [
      { colour: [230, 40, 40], contains: (x, y) => x >= 10 && x < 40 && y >= 10 && y < 50 },
      { colour: [40, 220, 90], contains: (x, y) => (x - 70) ** 2 + (y - 30) ** 2 < 15 ** 2 },
    ]);
    const single = await SamOnnxModel.loadDir(TINY);
    const batched = await SamOnnxModel.loadDir(TINY_BATCHED, { promptsPerCall: 64 });
    expect(batched.promptsSentPerCall).toBe(64);
    const a = await generateMasks(image, single, { pointsPerSide: 12, pointsPerBatch: 7 });
    const b = await generateMasks(image, batched, { pointsPerSide: 12, pointsPerBatch: 50 });
    expect(a.length).toBeGreaterThanOrEqual(2);
    expect(JSON.stringify(b)).toBe(JSON.stringify(a));
    await single.release();
    await batched.release();
  });
});

describe('model checks at load time', () => {
  let dir: string;
  const enc = path.join(TINY, 'encoder.onnx');
  const dec = path.join(TINY, 'decoder.onnx');
  beforeAll(() => {
    dir = tempDir();
  });
  afterAll(() => undefined);

  const loadError = async (files: { encoder: string; decoder: string; config?: string }) => {
    try {
      const m = await SamOnnxModel.load(files);
      await m.release();
    } catch (err) {
      expect(err).toBeInstanceOf(ModelError);
      return (err as Error).message;
    }
    throw new Error('expected a ModelError');
  };

  it('names a missing file', async () => {
    const missing = path.join(dir, 'nope.onnx');
    expect(await loadError({ encoder: missing, decoder: dec })).toBe(`${missing}: model file not found`);
  });

  it('names a file that is not ONNX', async () => {
    const junk = path.join(dir, 'junk.onnx');
    writeFileSync(junk, 'this is not a model');
    expect(await loadError({ encoder: enc, decoder: junk })).toMatch(new RegExp(`^${junk}: not a loadable ONNX model \\(`));
  });

  it('says when the encoder and decoder are swapped', async () => {
    expect(await loadError({ encoder: dec, decoder: enc })).toBe(`${enc}: looks like an image encoder (one input, input_image), not a mask decoder; ${dec} looks like the decoder: the two files look swapped`);
    expect(await loadError({ encoder: enc, decoder: enc })).toBe(`${enc}: looks like an image encoder (one input, input_image), not a mask decoder`);
    expect(await loadError({ encoder: dec, decoder: dec })).toMatch(/decoder\.onnx: an image encoder takes one input, but it has inputs \(image_embeddings, point_coords/);
  });

  it('refuses a single-mask decoder and names the multimask file to use', async () => {
    const single = path.join(dir, 'single.onnx');
    writeFileSync(single, buildTinyDecoder({ singleMask: true }));
    expect(await loadError({ encoder: enc, decoder: single })).toMatch(/single\.onnx: a single-mask decoder .* cannot serve automatic mask generation; use the multimask export .*sam_mask_decoder_multi\.onnx/);
  });

  it('validates model.json with the common message shape', async () => {
    const cfg = path.join(dir, 'model.json');
    writeFileSync(cfg, JSON.stringify({ input_size: -3 }));
    await expect(SamOnnxModel.load({ encoder: enc, decoder: dec, config: cfg })).rejects.toThrow(
      `Expected integer in [1, 16384] for input_size in ${cfg} but received -3 of type number`,
    );
    writeFileSync(cfg, JSON.stringify({ input_size: 512 }));
    expect(await loadError({ encoder: enc, decoder: dec, config: cfg })).toMatch(/input is 1024 pixels square but model.json says input_size 512/);
  });

  it('reads model.json from a model folder', async () => {
    const folder = tempDir();
    copyFileSync(enc, path.join(folder, 'encoder.onnx'));
    copyFileSync(dec, path.join(folder, 'decoder.onnx'));
    writeFileSync(path.join(folder, 'model.json'), JSON.stringify({ input_size: 1024, pixel_std: [1, 2, 0] }));
    await expect(SamOnnxModel.loadDir(folder)).rejects.toThrow(/Expected number > 0 for pixel_std\[2\] in .*model\.json but received 0 of type number/);
  });
});
