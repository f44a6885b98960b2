import { copyFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { GraphBuilder } from '../../src/graph/graph-builder.js';
import { CHANNELS, colourLogits, EMBED, firstPoint, iouHead, LOW_RES, OPSET, tokens, withMaskPrompt } from '../../scripts/tiny-model/tiny-sam.js';
import { generateMasks } from '../../src/amg/generator.js';
import { decodeImage } from '../../src/image/decode.js';
import { SamOnnxModel } from '../../src/model/sam-onnx.js';
import { paintScene, PHOTOS, ROOT, tempDir, type Shape } from '../helpers.js';

const shapes: Shape[] = [
  { colour: [220, 40, 40], contains: (x, y) => x >= 15 && x < 80 && y >= 20 && y < 75 },
  { colour: [40, 200, 70], contains: (x, y) => (x - 145) ** 2 + (y - 50) ** 2 < 32 ** 2 },
];
const scene = paintScene(200, 150, [90, 90, 90], shapes);

// Every fixture model, each family's I/O form, and batched graphs at 1 prompt and at 8 and 16 prompts a call
// (the grid's last call is short: its prompts are padded to the full count).
const cases: [string, number][] = [
  ['tiny', 1], ['tiny-batched', 1], ['tiny-batched', 8], ['tiny-fp16', 1], ['tiny-int8', 1],
  ['families/sam-hwc', 1], ['families/edgesam', 1], ['families/efficientvit-sam', 1],
  ['families/sam2', 1], ['families/sam2', 16], ['families/efficientsam', 1], ['families/efficientsam', 8],
];

type Mode = 'folded' | 'staged' | 'split' | 'whole';

async function recordsOf(dir: string, promptsPerCall: number, decoderGraph: Mode, image = scene) {
  const model = await SamOnnxModel.loadDir(path.join(ROOT, 'fixtures/models', dir), { promptsPerCall, decoderGraph });
  try {
    // Filters off: every candidate's logits reach the records, so any changed bit would show.
    const all = await generateMasks(image, model, { pointsPerSide: 6, predIouThresh: 0, stabilityScoreThresh: 0 });
    // Default filters (a denser grid, so that some prompts' masks cannot pass): a staged decoder skips their
    // mask stage. Only where that can happen: a split decoder computes every mask either way.
    const filtered = decoderGraph === 'split' ? [] : await generateMasks(image, model, { pointsPerSide: 8 });
    return {
      all: JSON.stringify(all), filtered: JSON.stringify(filtered), count: all.length, filteredCount: filtered.length,
      split: model.decoderSplit, folds: model.decoderFolds,
    };
  } finally {
    await model.release();
  }
}

describe('the decoder split into a per-crop and a per-prompt part', () => {
  it.each(cases)('gives byte-identical records for %s at %i prompt(s) a call, split, staged and folded', async (dir, perCall) => {
    const whole = await recordsOf(dir, perCall, 'whole');
    const split = await recordsOf(dir, perCall, 'split');
    const staged = await recordsOf(dir, perCall, 'staged');
    // These graphs have no attention and no channel mean to fold: the default mode runs them as staged does.
    const folded = await recordsOf(dir, perCall, 'folded');
    expect(folded.folds).toBeUndefined();
    expect(folded.all).toBe(whole.all);
    expect(folded.filtered).toBe(whole.filtered);
    expect(whole.split).toBeUndefined();
    // The tiny decoders' colour map comes from the embedding alone: it must move to the per-crop part.
    // Splits of these graphs rest on their construction alone: no load-time check.
    expect(split.split).toMatchObject({ hoisted: expect.any(Number), staged: false, checked: false });
    expect(split.split!.hoisted).toBeGreaterThan(0);
    // Stages need a mask stage: most tiny models
    // predict their IoUs from the mask logits, so all is token stage; the float16 edge casts, the
    // EfficientSAM form's output reshapes and the SAM 2 form's output (its clamp, removed at load, leaves
    // an Identity) come after the IoUs and make a small mask stage.
    expect(staged.split?.staged).toBe(['tiny-fp16', 'families/efficientsam', 'families/sam2'].includes(dir));
    expect(whole.count).toBeGreaterThan(0);
    expect(whole.filteredCount).toBeGreaterThan(0);
    expect(split.all).toBe(whole.all);
    expect(staged.all).toBe(whole.all);
    expect(staged.filtered).toBe(whole.filtered);
  });

  it('gives byte-identical records on a photo fixture, with a crop layer', async () => {
    const image = await decodeImage(path.join(PHOTOS, 'still-life.jpg'));
    const run = async (decoderGraph: Mode) => {
      const model = await SamOnnxModel.loadDir(path.join(ROOT, 'fixtures/models/tiny'), { decoderGraph });
      try {
        return JSON.stringify(await generateMasks(image, model, { pointsPerSide: 8, cropNLayers: 1, cropNPointsDownscaleFactor: 2 }));
      } finally {
        await model.release();
      }
    };
    const staged = await run('staged');
    expect(JSON.parse(staged).length).toBeGreaterThan(0);
    expect(staged).toBe(await run('whole'));
  });
});

describe('the load-time check of a split decoder', () => {
  /** The official contract around the tiny colour decoder, with `embedding` turning the input embedding into the one it reads. */
  function decoderWith(embedding: (g: GraphBuilder, emb: string, coords: string) => string): string {
    const g = new GraphBuilder();
    const emb = g.input('image_embeddings', 'float', [1, CHANNELS, EMBED, EMBED]);
    const coords = g.input('point_coords', 'float', [1, 'num_points', 2]);
    g.input('point_labels', 'float', [1, 'num_points']);
    const maskInput = g.input('mask_input', 'float', [1, 1, LOW_RES, LOW_RES]);
    const hasMask = g.input('has_mask_input', 'float', [1]);
    g.input('orig_im_size', 'float', [2]);
    const { dist, logits } = colourLogits(g, embedding(g, emb, coords), firstPoint(g, coords));
    const lowRes = tokens(g, withMaskPrompt(g, logits, maskInput, hasMask), 0, 4, 'low_res_masks');
    iouHead(g, lowRes, dist, 0, 4, 'iou_predictions');
    g.output('iou_predictions', 'float', [1, 4]);
    g.output('low_res_masks', 'float', [1, 4, LOW_RES, LOW_RES]);
    const dir = tempDir();
    copyFileSync(path.join(ROOT, 'fixtures/models/tiny/encoder.onnx'), path.join(dir, 'encoder.onnx'));
    writeFileSync(path.join(dir, 'decoder.onnx'), g.serialize('decoder', OPSET));
    return dir;
  }

  it('keeps a split that assumed a prompt\'s shape once the check passes, with the whole graph\'s records', async () => {
    // As the official export repeats the embedding per prompt: expanded to a batch read from point_coords' shape.
    const dir = decoderWith((g, emb, coords) => {
      const batch = g.op('Slice', [g.op('Shape', [coords]), g.constant('int64', [1], [0]), g.constant('int64', [1], [1])]);
      return g.op('Expand', [emb, g.op('Concat', [batch, g.constant('int64', [3], [CHANNELS, EMBED, EMBED])], { axis: 0 })]);
    });
    const notices: string[] = [];
    const split = await SamOnnxModel.loadDir(dir, { onNotice: (m) => notices.push(m) });
    const whole = await SamOnnxModel.loadDir(dir, { decoderGraph: 'whole' });
    try {
      expect(notices).toEqual([]);
      // The expansion and the colour map after it moved to the per-crop part.
      expect(split.decoderSplit).toMatchObject({ checked: true });
      expect(split.decoderSplit!.hoisted).toBeGreaterThan(3);
      const records = JSON.stringify(await generateMasks(scene, split, { pointsPerSide: 6 }));
      expect(JSON.parse(records).length).toBeGreaterThan(0);
      expect(records).toBe(JSON.stringify(await generateMasks(scene, whole, { pointsPerSide: 6 })));
    } finally {
      await split.release();
      await whole.release();
    }
  });

  it('runs a decoder whose parts do not reproduce the whole graph as one graph, and says so once', async () => {
    // Noise drawn anew on every run, added to the embedding: the per-crop part would draw it once per crop,
    // so split and whole outputs differ, as they would for a graph the analysis misread.
    const dir = decoderWith((g, emb) =>
      g.op('Add', [emb, g.op('RandomUniform', [], { shape: [1, CHANNELS, EMBED, EMBED], low: -0.0005, high: 0.0005 })]));
    const notices: string[] = [];
    const model = await SamOnnxModel.loadDir(dir, { onNotice: (m) => notices.push(m) });
    try {
      expect(model.decoderSplit).toBeUndefined();
      expect(notices).toEqual([`${path.join(dir, 'decoder.onnx')}: the decoder runs as one graph on every call: its parts did not reproduce the whole graph's output bit for bit`]);
      expect((await generateMasks(scene, model, { pointsPerSide: 4 })).length).toBeGreaterThan(0);
    } finally {
      await model.release();
    }
  });
});
