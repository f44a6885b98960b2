import { readFileSync } from 'node:fs';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { channelMeansAsConv, findChannelMeans } from '../../src/graph/fold-channel-mean.js';
import { findUpscaling, upscaleChannelsLast, upscalingProbes } from '../../src/graph/fold-upscaling.js';
import { parseModel } from '../../src/graph/proto-info.js';
import { pruneOutputs } from '../../src/graph/prune.js';
import { encodeModel } from '../../src/graph/split.js';
import { ROOT } from '../helpers.js';

type Model = NonNullable<ReturnType<typeof parseModel>>;
const OUTPUTS = ['low_res_masks', 'iou_predictions'];

/** SAM's decoder at width 64 (fixtures/models/sam-mini), cut to the outputs sam-amg reads. */
function miniDecoder(): Model {
  const model = parseModel(readFileSync(path.join(ROOT, 'fixtures/models/sam-mini/decoder.onnx')))!;
  pruneOutputs(model, OUTPUTS);
  return model;
}

let seed = 99;
const random = (n: number, scale: number) => Float32Array.from({ length: n }, () => {
  seed = (seed * 1103515245 + 12345) % 2147483648;
  return (seed / 2147483648 - 0.5) * scale;
});

/**
 * The mini decoder with SAM 2's high-resolution features: graph inputs
 * `feat_s1` [1, 16, 128, 128] and `feat_s0` [1, 8, 256, 256] added to the
 * first and the second transposed convolution's output.
 */
function withFeatures(model: Model): Model {
  const graph = model.graph!;
  const convs = graph.node!.filter((n) => n.opType === 'ConvTranspose');
  expect(convs).toHaveLength(2);
  const inputs: [string, number, number][] = [['feat_s1', 16, 128], ['feat_s0', 8, 256]];
  convs.forEach((conv, i) => {
    const [name, channels, side] = inputs[i];
    const out = conv.output![0];
    conv.output = [`${out}_before_features`];
    graph.node!.splice(graph.node!.indexOf(conv) + 1, 0, { name: `add_${name}`, opType: 'Add', input: [conv.output[0], name], output: [out] });
    graph.input!.push({ name, type: { tensorType: { elemType: 1, shape: { dim: [1, channels, side, side].map((d) => ({ dimValue: d })) } } } });
  });
  return model;
}

const FEATURES = { feat_s1: [1, 16, 128, 128], feat_s0: [1, 8, 256, 256] } as const;

/** A call with a mask prompt too, so the prompt encoder's LayerNorm2d layers do work. */
function feeds(): Record<string, ort.Tensor> {
  seed = 99;
  return {
    ...Object.fromEntries(Object.entries(FEATURES).map(([name, dims]) => [name, new ort.Tensor('float32', random(dims.reduce((a, b) => a * b, 1), 4), [...dims])])),
    image_embeddings: new ort.Tensor('float32', random(64 * 64 * 64, 2), [1, 64, 64, 64]),
    point_coords: new ort.Tensor('float32', Float32Array.from([410, 220, 0, 0]), [1, 2, 2]),
    point_labels: new ort.Tensor('float32', Float32Array.from([1, -1]), [1, 2]),
    mask_input: new ort.Tensor('float32', random(256 * 256, 8), [1, 1, 256, 256]),
    has_mask_input: new ort.Tensor('float32', Float32Array.from([1]), [1]),
    orig_im_size: new ort.Tensor('float32', Float32Array.from([256, 256]), [2]),
  };
}

/** The graph's outputs on `feeds()`, plus the shapes of `probes`. */
async function run(model: Model, probes: string[] = []) {
  const copy = parseModel(encodeModel(model))!;
  copy.graph!.output!.push(...probes.map((name) => ({ name })));
  const session = await ort.InferenceSession.create(encodeModel(copy));
  try {
    const all = feeds();
    const out = await session.run(Object.fromEntries(session.inputNames.map((n) => [n, all[n]])));
    return { out, shapes: new Map(probes.map((p) => [p, out[p].dims.map(Number)])) };
  } finally {
    await session.release();
  }
}

function largestDifference(a: ort.InferenceSession.OnnxValueMapType, b: ort.InferenceSession.OnnxValueMapType) {
  let diff = 0;
  let largest = 0;
  for (const name of OUTPUTS) {
    const [x, y] = [a[name].data as Float32Array, b[name].data as Float32Array];
    expect(a[name].dims).toEqual(b[name].dims);
    for (let i = 0; i < x.length; i++) {
      diff = Math.max(diff, Math.abs(x[i] - y[i]));
      largest = Math.max(largest, Math.abs(y[i]));
    }
  }
  return { diff, largest };
}

const ops = (model: Model) => (model.graph!.node ?? []).map((n) => n.opType);

/** Rewrites `match` channels-last and returns how far the outputs moved, and their largest magnitude. */
async function rewrittenChannelsLast(model: Model, match: NonNullable<ReturnType<typeof findUpscaling>>) {
  const { out: before, shapes } = await run(model, upscalingProbes(match));
  expect(upscaleChannelsLast(model, match, shapes)).toBe(true);
  expect(ops(model)).not.toContain('ConvTranspose');
  const { out: after } = await run(model);
  const moved = largestDifference(after, before);
  expect(moved.largest).toBeGreaterThan(5);
  return moved;
}

describe('graph rewrites of the folded decoder', () => {
  it('runs the output upscaling channels-last with the same result to float rounding', async () => {
    const model = miniDecoder();
    const match = findUpscaling(model)!;
    expect(match).toBeDefined();
    expect([match.first.cin, match.first.cout, match.first.k, match.second.cout, match.second.k]).toEqual([64, 16, 2, 8, 2]);
    // LayerNorm2d then GELU between the convolutions, GELU after; the exporter's Shape reads of the upscaled embedding.
    expect(match.between.nodes.map((n) => n.opType)).toEqual(['ReduceMean', 'Sub', 'Pow', 'ReduceMean', 'Add', 'Sqrt', 'Div', 'Mul', 'Add', 'Div', 'Erf', 'Add', 'Mul', 'Mul']);
    expect(match.after.nodes.map((n) => n.opType)).toEqual(['Div', 'Erf', 'Add', 'Mul', 'Mul']);
    expect(match.tokens).toBeDefined();
    const { diff, largest } = await rewrittenChannelsLast(model, match);
    expect(diff).toBeGreaterThan(0);
    expect(diff).toBeLessThan(1e-5 * largest);
  });

  it('takes SAM 2\'s high-resolution features into the channels-last upscaling, reordered to its pixel order', async () => {
    const model = withFeatures(miniDecoder());
    const match = findUpscaling(model)!;
    expect(match.between.features).toEqual(['feat_s1']);
    expect(match.after.features).toEqual(['feat_s0']);
    expect(match.between.nodes[0].opType).toBe('Add');
    const { diff, largest } = await rewrittenChannelsLast(model, match);
    expect(diff).toBeLessThan(1e-5 * largest);
    // A feature map of another resolution is not one it can reorder: the graph stays as it is.
    const other = withFeatures(miniDecoder());
    const second = findUpscaling(other)!;
    const { shapes: probed } = await run(other, upscalingProbes(second));
    expect(upscaleChannelsLast(other, second, new Map([...probed, ['feat_s0', [1, 8, 128, 128]]]))).toBe(false);
  });

  it('refuses shapes that are not the structure it found', async () => {
    const model = miniDecoder();
    const match = findUpscaling(model)!;
    const { shapes } = await run(model, upscalingProbes(match));
    const wrong = new Map(shapes);
    wrong.set(match.hyper, [1, 4, 9]);
    expect(upscaleChannelsLast(model, match, wrong)).toBe(false);
    expect(ops(model)).toContain('ConvTranspose');
  });

  it('computes channel means as 1×1 convolutions with the same result to float rounding, leaving the crop\'s own alone', async () => {
    const model = miniDecoder();
    const means = findChannelMeans(model);
    // Two LayerNorm2d in the mask prompt's downscaling, one in the output upscaling: two means each.
    expect(means).toHaveLength(6);
    const { out: before, shapes } = await run(model, means.map((n) => n.input![0]));
    const downscaling = new Set(means.filter((n) => n.name!.includes('mask_downscale')).map((n) => n.input![0]));
    expect(downscaling.size).toBe(4);
    expect(channelMeansAsConv(model, means, shapes, (v) => downscaling.has(v))).toBe(2);
    expect(ops(model).filter((op) => op === 'ReduceMean')).toHaveLength(4);
    const { out: after } = await run(model);
    // Bit for bit here (16 channels: 1/16 is exact, and the sums run in the same order); not in general.
    const { diff, largest } = largestDifference(after, before);
    expect(diff).toBeLessThan(1e-5 * largest);
  });
});
