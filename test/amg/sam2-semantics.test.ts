/**
 * SAM 2 models follow SAM2AutomaticMaskGenerator: its default IoU threshold,
 * small regions cleaned on the low-resolution logits, mask logits not
 * clamped; samexporter's graph is run one prompt a call.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import onnxProto from 'onnx-proto';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GraphBuilder } from '../../src/graph/graph-builder.js';
import { generateMasks } from '../../src/amg/generator.js';
import { cleanLowResRegions } from '../../src/amg/low-res-cleanup.js';
import type { PromptModel } from '../../src/amg/prompt-model.js';
import { decodeImage } from '../../src/image/decode.js';
import { IMAGENET_MEAN, IMAGENET_STD, sam2Preprocess } from '../../src/model/preprocess.js';
import { parseModel } from '../../src/graph/proto-info.js';
import { dropUnneeded } from '../../src/graph/prune.js';
import { SamOnnxModel } from '../../src/model/sam-onnx.js';
import { maskFlagBroadcastsOnWidth, outputClamp, removeClamp } from '../../src/graph/sam2-export.js';
import { PostprocessPool } from '../../src/runner/postprocess-pool.js';
import { PHOTOS, ROOT, runCli, tempDir, TINY_BATCHED } from '../helpers.js';

const SAM2 = path.join(ROOT, 'fixtures/models/families/sam2');
const decoderBytes = () => readFileSync(path.join(SAM2, 'decoder.onnx'));
const photo = async (name: string) => decodeImage(readFileSync(path.join(PHOTOS, `${name}.jpg`)), name);

/** Decoder feeds for one crop of `image` and `n` prompts at the given points (1024 frame). */
async function decoderFeeds(points: number[][], hasMask: number[]): Promise<Record<string, ort.Tensor>> {
  const image = await photo('shelf');
  const encoder = await ort.InferenceSession.create(path.join(SAM2, 'encoder.onnx'));
  const embedded = await encoder.run({ image: new ort.Tensor('float32', sam2Preprocess(image, 1024, IMAGENET_MEAN, IMAGENET_STD), [1, 3, 1024, 1024]) });
  await encoder.release();
  const n = points.length;
  return {
    image_embed: embedded.image_embed, high_res_feats_0: embedded.high_res_feats_0, high_res_feats_1: embedded.high_res_feats_1,
    point_coords: new ort.Tensor('float32', Float32Array.from(points.flat()), [n, 1, 2]),
    point_labels: new ort.Tensor('float32', new Float32Array(n).fill(1), [n, 1]),
    mask_input: new ort.Tensor('float32', new Float32Array(n * 256 * 256), [n, 1, 256, 256]),
    has_mask_input: new ort.Tensor('float32', Float32Array.from(hasMask), [n]),
  };
}

describe("samexporter's ±32 clamp on the mask output", () => {
  it('is found and removed, leaving the IoUs bit for bit and the logits unclamped', async () => {
    const model = parseModel(decoderBytes())!;
    const clip = outputClamp(model, 'masks');
    expect(clip?.opType).toBe('Clip');
    const bounds = clip!.input!.slice(1);
    removeClamp(clip!);
    expect(outputClamp(model, 'masks')).toBeUndefined();
    // Its bounds go too: onnxruntime would warn, on every load, about constants nothing reads.
    const constants = (m: typeof model) => [...(m.graph!.initializer ?? []).map((t) => t.name), ...m.graph!.node!.flatMap((n) => n.opType === 'Constant' ? n.output! : [])];
    expect(constants(model)).toEqual(expect.arrayContaining(bounds));
    dropUnneeded(model);
    expect(constants(model).filter((n) => bounds.includes(n!))).toEqual([]);
    const clamped = await ort.InferenceSession.create(decoderBytes());
    const unclamped = await ort.InferenceSession.create(onnxProto.onnx.ModelProto.encode(model).finish());
    const feeds = await decoderFeeds([[300, 500]], [0]);
    const a = await clamped.run(feeds);
    const b = await unclamped.run(feeds);
    await clamped.release();
    await unclamped.release();
    expect(b.iou_predictions.data).toEqual(a.iou_predictions.data);
    const before = a.masks.data as Float32Array;
    const after = b.masks.data as Float32Array;
    let beyond = 0;
    for (let k = 0; k < after.length; k++) {
      if (Math.abs(after[k]) > 32) beyond++;
      expect(Math.min(32, Math.max(-32, after[k]))).toBe(before[k]);
    }
    // The photo's colours put many cells far beyond -32: the clamp did change values.
    expect(beyond).toBeGreaterThan(1000);
  });

  it('is left alone where the bounds are not ±32, and is not looked for outside the mask output', () => {
    const g = new GraphBuilder();
    const x = g.input('x', 'float', [4]);
    g.op('Clip', [x, g.constant('float', [], [-20]), g.constant('float', [], [20])], {}, 'masks');
    g.op('Clip', [x, g.constant('float', [], [-32]), g.constant('float', [], [32])], {}, 'other');
    g.output('masks', 'float', [4]);
    g.output('other', 'float', [4]);
    const model = parseModel(g.serialize('clips', 17))!;
    expect(outputClamp(model, 'masks')).toBeUndefined();
    expect(outputClamp(model, 'other')?.opType).toBe('Clip');
  });
});

describe("samexporter's has_mask_input, which broadcasts on the mask width", () => {
  it('is recognised in the SAM 2 form and not in a graph that reshapes it first', () => {
    expect(maskFlagBroadcastsOnWidth(parseModel(decoderBytes())!)).toBe(true);
    expect(maskFlagBroadcastsOnWidth(parseModel(readFileSync(path.join(TINY_BATCHED, 'decoder.onnx')))!)).toBe(false);
  });

  it('makes the graph fail for 4 prompts a call, so it runs one a call and says so once', async () => {
    // Quietly: onnxruntime logs the failing node before it throws.
    const session = await ort.InferenceSession.create(decoderBytes(), { logSeverityLevel: 4 });
    await expect(session.run(await decoderFeeds([[100, 100], [300, 500], [700, 200], [900, 900]], [0, 0, 0, 0]))).rejects.toThrow(/broadcast/i);
    await session.release();
    const notices: string[] = [];
    const four = await SamOnnxModel.loadDir(SAM2, { promptsPerCall: 4, onNotice: (m) => notices.push(m) });
    const one = await SamOnnxModel.loadDir(SAM2);
    expect(four.promptsSentPerCall).toBe(1);
    expect(notices).toEqual([expect.stringMatching(/decoder\.onnx: one prompt per call, not 4: its has_mask_input/)]);
    const image = await photo('still-life');
    const settings = { pointsPerSide: 8, pointsPerBatch: 20 };
    expect(JSON.stringify(await generateMasks(image, four, settings))).toBe(JSON.stringify(await generateMasks(image, one, settings)));
    await four.release();
    await one.release();
  });
});

describe("SAM 2's generator semantics", () => {
  let model: SamOnnxModel;
  beforeAll(async () => {
    model = await SamOnnxModel.loadDir(SAM2);
  });
  afterAll(async () => {
    await model.release();
  });

  it("defaults --pred-iou-thresh to SAM 2's 0.8; a value given wins", async () => {
    expect(model.amgReference).toBe('sam2');
    const image = await photo('shelf');
    const byDefault = await generateMasks(image, model, { pointsPerSide: 12 });
    expect(JSON.stringify(byDefault)).toBe(JSON.stringify(await generateMasks(image, model, { pointsPerSide: 12, predIouThresh: 0.8 })));
    const samDefault = await generateMasks(image, model, { pointsPerSide: 12, predIouThresh: 0.88 });
    // One mask of this photo scores between the two thresholds.
    expect(byDefault.filter((r) => r.predicted_iou <= 0.88)).toHaveLength(1);
    expect(samDefault).toHaveLength(byDefault.length - 1);
  });

  it('cleans small holes and sprinkles on the low-resolution logits, not full-resolution regions', async () => {
    const image = await photo('shelf');
    const area = 20;
    // The same model, its logits cleaned by hand as SAM 2's predictor does, with no cleanup asked of the generator.
    const cleanedByHand = (amgReference: 'sam' | 'sam2'): PromptModel => ({
      lowResSize: model.lowResSize,
      amgReference,
      embed: (crop) => model.embed(crop),
      decode: async (embedding, points, count, options) => {
        const out = await model.decode(embedding, points, count, options);
        for (let k = 0; k < 3 * count; k++) cleanLowResRegions(out.lowRes, k * 256 * 256, 256, area);
        return out;
      },
    });
    const settings = { pointsPerSide: 10, predIouThresh: 0.8 };
    const expected = JSON.stringify(await generateMasks(image, cleanedByHand('sam2'), settings));
    const got = JSON.stringify(await generateMasks(image, model, { ...settings, minMaskRegionArea: area }));
    expect(got).toBe(expected);
    expect(got).not.toBe(JSON.stringify(await generateMasks(image, model, settings)));
    // SAM's full-resolution cleanup on top would have changed them: the generator skips it for SAM 2.
    const both = JSON.stringify(await generateMasks(image, cleanedByHand('sam'), { ...settings, minMaskRegionArea: area }));
    expect(both).not.toBe(expected);
    // The same through post-processing workers, where the frame crosses a thread.
    const pool = new PostprocessPool(2);
    try {
      expect(JSON.stringify(await generateMasks(image, model, { ...settings, minMaskRegionArea: area }, { processor: pool }))).toBe(expected);
    } finally {
      await pool.close();
    }
  });
});

describe('the CLI on a SAM 2 model', () => {
  it('records the SAM 2 default in every output, lets a flag override it, and runs one prompt a call', async () => {
    const image = path.join(PHOTOS, 'shelf.jpg');
    const out = tempDir();
    const res = await runCli([image, '--out', out, '--model', SAM2, '--points-per-side', '8', '--prompts-per-call', '4']);
    expect(res.code, res.stderr).toBe(0);
    expect(res.stderr.split('\n').filter((l) => l.includes('one prompt per call'))).toHaveLength(1);
    const written = JSON.parse(readFileSync(path.join(out, 'shelf.json'), 'utf8'));
    expect(written.info.settings.pred_iou_thresh).toBe(0.8);
    const other = tempDir();
    const res2 = await runCli([image, '--out', other, '--model', SAM2, '--points-per-side', '8', '--pred-iou-thresh', '0.88']);
    expect(res2.code, res2.stderr).toBe(0);
    const second = JSON.parse(readFileSync(path.join(other, 'shelf.json'), 'utf8'));
    expect(second.info.settings.pred_iou_thresh).toBe(0.88);
    expect(second.info.fingerprint).not.toBe(written.info.fingerprint);
  });
});
