import { readFileSync, writeFileSync } from 'node:fs';
import * as ort from 'onnxruntime-node';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GraphBuilder, type Dim } from '../../src/graph/graph-builder.js';
import { generateMasks } from '../../src/amg/generator.js';
import { graphInfo, type FamilyId } from '../../src/model/families.js';
import { parseModel, protoGraphInfo } from '../../src/graph/proto-info.js';
import { SamOnnxModel } from '../../src/model/sam-onnx.js';
import { decodeCountsString } from '../../src/rle/coco-string.js';
import { rleToRowMajor } from '../../src/rle/rle.js';
import { maskIou, paintScene, ROOT, shapeMask, tempDir, TINY, type Shape } from '../helpers.js';

const W = 200;
const H = 150;
const shapes: Shape[] = [
  { colour: [220, 40, 40], contains: (x, y) => x >= 15 && x < 80 && y >= 20 && y < 75 },
  { colour: [40, 200, 70], contains: (x, y) => (x - 145) ** 2 + (y - 50) ** 2 < 32 ** 2 },
  { colour: [240, 210, 40], contains: (x, y) => ((x - 110) / 50) ** 2 + ((y - 118) / 20) ** 2 < 1 },
];
const scene = paintScene(W, H, [90, 90, 90], shapes);

// The SAM forms are exported with one prompt a call, like segment_anything's own export; asked for 16, their prompt axis is freed (prompt-axis.ts).
const cases: [string, FamilyId, number, boolean][] = [
  ['families/sam-hwc', 'sam', Infinity, true],
  ['families/edgesam', 'edgesam', 1, false],
  ['families/efficientvit-sam', 'efficientvit-sam', Infinity, false],
  // samexporter's SAM 2 graph runs only one prompt a call (see sam2-export.ts).
  ['families/sam2', 'sam2', 1, false],
  ['families/efficientsam', 'efficientsam', Infinity, false],
  ['tiny-fp16', 'sam', Infinity, true],
  ['tiny-int8', 'sam', Infinity, true],
];

describe.each(cases)('the %s form', (dir, family, perCall, freed) => {
  let model: SamOnnxModel;
  beforeAll(async () => {
    // Several prompts a call where the graph allows, so the batched feeds are exercised too.
    model = await SamOnnxModel.loadDir(path.join(ROOT, 'fixtures/models', dir), { promptsPerCall: 16 });
  });
  afterAll(async () => {
    await model.release();
  });

  it(`is detected as ${family} from its graph`, () => {
    expect(model.family).toBe(family);
    expect(model.promptsPerCall).toBe(perCall);
    expect(model.promptAxisFreed).toBe(freed);
  });

  it('runs AMG through its own code path and finds every shape', async () => {
    const records = await generateMasks(scene, model, { pointsPerSide: 16 });
    const masks = records.map((r) => rleToRowMajor({ size: r.segmentation.size, counts: decodeCountsString(r.segmentation.counts) }));
    shapes.forEach((_, k) => {
      const ious = masks.map((m) => maskIou(m, shapeMask(W, H, shapes, k)));
      expect(ious.filter((v) => v > 0.5).length, `shape ${k}`).toBe(1);
      expect(Math.max(...ious)).toBeGreaterThanOrEqual(0.95);
    });
  });
});

it('reads every fixture graph\'s inputs and outputs from the file as onnxruntime reports them', async () => {
  const dirs = ['tiny', 'tiny-batched', 'tiny-fp16', 'tiny-int8', ...cases.map(([dir]) => dir)];
  let checked = 0;
  for (const dir of new Set(dirs)) {
    for (const name of ['encoder.onnx', 'decoder.onnx']) {
      const file = path.join(ROOT, 'fixtures/models', dir, name);
      const session = await ort.InferenceSession.create(file);
      const fromSession = graphInfo(session, file);
      await session.release();
      expect(protoGraphInfo(parseModel(readFileSync(file))!, file), file).toEqual(fromSession);
      checked++;
    }
  }
  expect(checked).toBe(18);
});

describe('quantised and half-precision model files', () => {
  const typesOf = async (file: string) => {
    const session = await ort.InferenceSession.create(file);
    const info = graphInfo(session, file);
    await session.release();
    return [...info.inputs.values(), ...info.outputs.values()].map((t) => t.type);
  };

  it('the fixtures really are float16 at every float edge, and int8 inside', async () => {
    const fp16 = path.join(ROOT, 'fixtures/models/tiny-fp16');
    expect(new Set(await typesOf(path.join(fp16, 'encoder.onnx')))).toEqual(new Set(['float16']));
    expect(new Set(await typesOf(path.join(fp16, 'decoder.onnx')))).toEqual(new Set(['float16']));
    const int8 = readFileSync(path.join(ROOT, 'fixtures/models/tiny-int8/encoder.onnx'));
    expect(int8.includes('QuantizeLinear')).toBe(true);
  });

  it('give the float32 model\'s masks up to the precision of their numbers', async () => {
    const reference = await SamOnnxModel.loadDir(TINY);
    const expected = await generateMasks(scene, reference, { pointsPerSide: 16 });
    await reference.release();
    for (const dir of ['tiny-fp16', 'tiny-int8']) {
      const model = await SamOnnxModel.loadDir(path.join(ROOT, 'fixtures/models', dir));
      const got = await generateMasks(scene, model, { pointsPerSide: 16 });
      await model.release();
      expect(got.length, dir).toBe(expected.length);
      got.forEach((r, i) => {
        const a = rleToRowMajor({ size: r.segmentation.size, counts: decodeCountsString(r.segmentation.counts) });
        const b = rleToRowMajor({ size: expected[i].segmentation.size, counts: decodeCountsString(expected[i].segmentation.counts) });
        expect(maskIou(a, b), `${dir} mask ${i}`).toBeGreaterThan(0.99);
        expect(Math.abs(r.predicted_iou - expected[i].predicted_iou), `${dir} mask ${i}`).toBeLessThan(0.01);
      });
    }
  });
});

it('feeds the HWC encoder the same image the NCHW one gets normalised outside', async () => {
  const nchw = await SamOnnxModel.loadDir(TINY);
  const hwc = await SamOnnxModel.loadDir(path.join(ROOT, 'fixtures/models/families/sam-hwc'));
  const a = await generateMasks(scene, nchw, { pointsPerSide: 8 });
  const b = await generateMasks(scene, hwc, { pointsPerSide: 8 });
  expect(b.map((r) => r.segmentation.counts)).toEqual(a.map((r) => r.segmentation.counts));
  await nchw.release();
  await hwc.release();
});

describe('graphs sam-amg does not run', () => {
  const dir = tempDir();
  const enc = path.join(TINY, 'encoder.onnx');
  /** A decoder-shaped graph with the given inputs and outputs (each output copies the first input). */
  const fake = (name: string, inputs: [string, Dim[], 'float' | 'int64'][], outputs: string[]) => {
    const g = new GraphBuilder();
    for (const [n, shape, t] of inputs) g.input(n, t, shape);
    for (const o of outputs) {
      g.op('Identity', [inputs[0][0]], {}, o);
      g.output(o, inputs[0][2], inputs[0][1]);
    }
    const file = path.join(dir, `${name}.onnx`);
    writeFileSync(file, g.serialize(name, 17));
    return file;
  };
  const error = (decoder: string) => SamOnnxModel.load({ encoder: enc, decoder }).then(() => 'loaded', (e: Error) => e.message);

  it('names SAM-HQ and transformers.js exports', async () => {
    const hq = fake('hq', [['image_embeddings', [1, 256, 64, 64], 'float'], ['interm_embeddings', [4, 1, 64, 64, 768], 'float'],
      ['point_coords', [1, 'n', 2], 'float'], ['orig_im_size', [2], 'float']], ['masks']);
    expect(await error(hq)).toMatch(/hq\.onnx: a SAM-HQ decoder \(input interm_embeddings\) is not supported yet; it has inputs \(image_embeddings, interm_embeddings/);
    const tjs = fake('tjs', [['image_embeddings', [1, 256, 64, 64], 'float'], ['image_positional_embeddings', [1, 256, 64, 64], 'float'],
      ['input_points', [1, 1, 1, 2], 'float'], ['input_labels', [1, 1, 1], 'int64']], ['pred_masks', 'iou_scores']);
    expect(await error(tjs)).toMatch(/tjs\.onnx: a transformers\.js SAM graph is not supported yet/);
  });

  it('lists what an unknown graph has and the families it could be', async () => {
    const odd = fake('odd', [['image_embeddings', [1, 256, 64, 64], 'float'], ['prompt', [1, 2], 'float']], ['logits']);
    const message = await error(odd);
    expect(message).toMatch(/^.*odd\.onnx: not a decoder sam-amg knows; it has inputs \(image_embeddings, prompt\) and outputs \(logits\)\. It could be: /);
    expect(message).toContain('EdgeSAM (image_embeddings, point_coords, point_labels, -> scores, masks)');
    expect(message).not.toContain('SAM 2');
  });

  it('checks dtypes of each family, e.g. EfficientSAM\'s int64 orig_im_size', async () => {
    const bad = fake('effsam', [['image_embeddings', [1, 256, 64, 64], 'float'], ['batched_point_coords', [1, 'q', 1, 2], 'float'],
      ['batched_point_labels', [1, 'q', 1], 'float'], ['orig_im_size', [2], 'float']], ['output_masks', 'iou_predictions', 'low']);
    expect(await error(bad)).toMatch(/effsam\.onnx: input orig_im_size is float32 \[2\], expected int64 of rank 1/);
  });
});
