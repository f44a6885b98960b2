import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { generateMasks } from '../../src/amg/generator.js';
import { decodeImage } from '../../src/image/decode.js';
import { findAttentions } from '../../src/graph/fold-attention.js';
import { parseModel } from '../../src/graph/proto-info.js';
import { SamOnnxModel } from '../../src/model/sam-onnx.js';
import { encodeModel } from '../../src/graph/split.js';
import { decodeCountsString } from '../../src/rle/coco-string.js';
import { rleToColumnMajor } from '../../src/rle/rle.js';
import { floatTensor, floatValues } from '../../src/graph/tensor-proto.js';
import { PHOTOS, ROOT, tempDir } from '../helpers.js';

/** SAM's decoder architecture at width 64, exported by PyTorch (scripts/bench-models/make_mini_sam.py). */
const MINI = path.join(ROOT, 'fixtures/models/sam-mini');

/** Largest logit and IoU differences between two models' decoders over a spread of single-point prompts. */
async function decoderDifferences(a: SamOnnxModel, b: SamOnnxModel) {
  const image = await decodeImage(path.join(PHOTOS, 'meadow.jpg'));
  const [ea, eb] = [await a.embed(image), await b.embed(image)];
  const n = 24;
  const points = Float32Array.from({ length: 2 * n }, (_, i) => (i % 2 === 0 ? 20 + ((i * 211) % 1360) : 20 + ((i * 97) % 890)));
  const [x, y] = [await a.decode(ea, points, n), await b.decode(eb, points, n)];
  let logit = 0;
  let largest = 0;
  let signFlips = 0;
  for (let i = 0; i < x.lowRes.length; i++) {
    logit = Math.max(logit, Math.abs(x.lowRes[i] - y.lowRes[i]));
    largest = Math.max(largest, Math.abs(y.lowRes[i]));
    if (x.lowRes[i] > 0 !== y.lowRes[i] > 0) signFlips++;
  }
  let iou = 0;
  for (let i = 0; i < x.iouPreds.length; i++) iou = Math.max(iou, Math.abs(x.iouPreds[i] - y.iouPreds[i]));
  return { logit, largest, iou, signFlips, values: x.lowRes.length };
}

describe('folding the decoder\'s attentions', () => {
  it('finds every attention of a PyTorch export by its structure, the scaled-inputs form included', () => {
    const model = parseModel(readFileSync(path.join(MINI, 'decoder.onnx')))!;
    const found = findAttentions(model);
    // Two blocks of self, token→image and image→token attention, and the final token→image one.
    expect(found.map((m) => m.name)).toEqual([
      '/blocks.0/self_attn/Softmax', '/blocks.0/cross_t2i/Softmax', '/blocks.0/cross_i2t/Softmax',
      '/blocks.1/self_attn/Softmax', '/blocks.1/cross_t2i/Softmax', '/blocks.1/cross_i2t/Softmax', '/final_attn/Softmax',
    ]);
    const cross = found[1];
    expect([cross.q.inDim, cross.q.outDim, cross.out.inDim, cross.out.outDim]).toEqual([64, 32, 32, 64]);
    // 1/√d with d = 16 (32 channels, 2 heads): divided in the blocks, √ of it on q and on kᵀ in the final attention.
    expect(cross.scale).toBeCloseTo(0.25, 7);
    expect(found[6].scale).toBeCloseTo(0.25, 6);
  });

  it('folds the per-prompt image-side work, and its outputs agree with the exported graph\'s to float rounding', async () => {
    const folded = await SamOnnxModel.loadDir(MINI);
    const whole = await SamOnnxModel.loadDir(MINI, { decoderGraph: 'whole' });
    const staged = await SamOnnxModel.loadDir(MINI, { decoderGraph: 'staged' });
    try {
      // Block 0's image side is the crop's own (its key/value and query projections run once per crop):
      // only its image→token output projection is folded; block 1's and the final attention are folded whole.
      expect(folded.decoderFolds!.attentions.map((a) => [a.name, a.folds])).toEqual([
        ['/blocks.0/cross_i2t/Softmax', ['output']],
        ['/blocks.1/cross_t2i/Softmax', ['keys-values']],
        ['/blocks.1/cross_i2t/Softmax', ['query', 'output']],
        ['/final_attn/Softmax', ['keys-values']],
      ]);
      for (const a of folded.decoderFolds!.attentions) expect(a.macsAfter).toBeLessThan(0.5 * a.macsBefore);
      // The output upscaling runs channels-last, its LayerNorm2d's channel means with it; the mask prompt's
      // (run once per crop) stay as they are.
      expect(folded.decoderFolds!.channelsLast).toBe(true);
      expect(folded.decoderFolds!.channelMeans).toBe(0);
      expect(staged.decoderFolds).toBeUndefined();
      const d = await decoderDifferences(folded, whole);
      expect(d.largest).toBeGreaterThan(10);
      expect(d.logit).toBeLessThan(1e-4);
      expect(d.iou).toBeLessThan(1e-6);
      expect(d.logit).toBeGreaterThan(0); // other rounding: not the exported graph's bits
      expect(d.signFlips).toBe(0);
      const exact = await decoderDifferences(staged, whole);
      expect([exact.logit, exact.iou]).toEqual([0, 0]);
    } finally {
      await Promise.all([folded.release(), whole.release(), staged.release()]);
    }
  });

  it('gives the exported graph\'s masks in AMG on a photo, but for pixels whose logit is within rounding of zero', async () => {
    const image = await decodeImage(path.join(PHOTOS, 'still-life.jpg'));
    const run = async (decoderGraph: 'folded' | 'whole') => {
      const model = await SamOnnxModel.loadDir(MINI, { decoderGraph });
      try {
        // Filters off (the weights are random), NMS too: every candidate reaches the records.
        return await generateMasks(image, model, { pointsPerSide: 6, predIouThresh: 0, stabilityScoreThresh: 0, boxNmsThresh: 1 });
      } finally {
        await model.release();
      }
    };
    const [folded, whole] = [await run('folded'), await run('whole')];
    expect(whole.length).toBeGreaterThan(100);
    expect(folded.length).toBe(whole.length);
    let identical = 0;
    folded.forEach((r, i) => {
      const w = whole[i];
      expect(r.point_coords).toEqual(w.point_coords);
      expect(r.predicted_iou).toBeCloseTo(w.predicted_iou, 6);
      expect(r.stability_score).toBeCloseTo(w.stability_score, 4);
      if (r.segmentation.counts === w.segmentation.counts) {
        identical++;
        return;
      }
      const [a, b] = [r, w].map((m) => rleToColumnMajor({ size: m.segmentation.size, counts: decodeCountsString(m.segmentation.counts) }));
      let differ = 0;
      for (let k = 0; k < a.length; k++) if (a[k] !== b[k]) differ++;
      // Measured here: 3 of 108 masks differ, by one pixel each, in masks of about 200 000 pixels.
      expect(differ).toBeLessThanOrEqual(2 + w.area * 1e-5);
    });
    expect(identical).toBeGreaterThanOrEqual(0.9 * whole.length);
  });

  it('runs unfolded, saying so once, where the fold does not reproduce the exported graph', async () => {
    // A key bias so large that the exported graph's own scores lose their precision to it: in real
    // arithmetic the softmax cancels it (the fold drops it), in float32 the two graphs part.
    const model = parseModel(readFileSync(path.join(MINI, 'decoder.onnx')))!;
    const initializers = model.graph!.initializer!;
    const at = initializers.findIndex((t) => t.name === 'blocks.1.cross_t2i.k.bias');
    expect(at).toBeGreaterThanOrEqual(0);
    initializers[at] = floatTensor(initializers[at].name!, [32], floatValues(initializers[at])!.map((v) => v + 3e7));
    const dir = tempDir();
    copyFileSync(path.join(MINI, 'encoder.onnx'), path.join(dir, 'encoder.onnx'));
    writeFileSync(path.join(dir, 'decoder.onnx'), encodeModel(model));
    const notices: string[] = [];
    const loaded = await SamOnnxModel.loadDir(dir, { onNotice: (m) => notices.push(m) });
    try {
      expect(notices).toEqual([
        `${path.join(dir, 'decoder.onnx')}: its attentions run unfolded: the folded graph did not reproduce the whole graph's outputs within float rounding`,
      ]);
      expect(loaded.decoderFolds).toBeUndefined();
      expect(loaded.decoderSplit?.staged).toBe(true);
    } finally {
      await loaded.release();
    }
  });
});
