import * as ort from 'onnxruntime-node';
import { expect, it } from 'vitest';
import { GraphBuilder } from '../../src/graph/graph-builder.js';
import { parseModel } from '../../src/graph/proto-info.js';
import { encodeModel, splitAtCropInputs, splitAtOutput, typeInputs } from '../../src/graph/split.js';

/** out = (e·w + p) · (w + w) + e·w, with e fixed for a crop and p a prompt. */
function graph(outputFromCrop = false): Uint8Array {
  const g = new GraphBuilder();
  const e = g.input('e', 'float', [1, 4]);
  const p = g.input('p', 'float', [1, 'n']);
  const w = g.constant('float', [4], [0.5, -1, 2, 3]);
  const a = g.op('Mul', [e, w], {}, 'a');
  const s = g.op('Add', [w, w], {}, 's');
  const b = g.op('Add', [a, p], {}, 'b');
  g.op('Add', [g.op('Mul', [b, s]), a], {}, 'out');
  g.output('out', 'float', [1, 4]);
  if (outputFromCrop) g.output('a', 'float', [1, 4]);
  return g.serialize('toy', 17);
}

it('moves what depends on the crop alone to the per-crop part, keeps constants on both sides, and computes the same', async () => {
  const split = splitAtCropInputs(parseModel(graph())!, new Set(['e']))!;
  expect(split.hoisted).toBe(1);
  expect(split.handoff).toEqual(['a']);
  expect(split.cropInputs).toEqual(['e']);
  const ops = (m: typeof split.crop) => m.graph!.node!.map((n) => `${n.opType}(${n.input!.join(',')})`);
  expect(ops(split.crop)).toEqual([expect.stringMatching(/^Mul\(e,const_\d+\)$/)]);
  // The static w + w stays with the per-prompt part, which reads it; it is not handed over.
  expect(ops(split.prompt)).toEqual([expect.stringMatching(/^Add\(const_\d+,const_\d+\)$/), 'Add(a,p)', expect.stringMatching(/^Mul\(b,s\)$/), expect.stringMatching(/^Add\(mul_\d+,a\)$/)]);

  const cropSession = await ort.InferenceSession.create(encodeModel(split.crop));
  const types = new Map(cropSession.outputNames.map((n, i) => [n, { elemType: 1, shape: (cropSession.outputMetadata[i] as { shape: number[] }).shape }]));
  const promptSession = await ort.InferenceSession.create(typeInputs(split.prompt, types));
  const whole = await ort.InferenceSession.create(graph());
  const e = new ort.Tensor('float32', Float32Array.from([1.5, -2.25, 3.125, 0.1]), [1, 4]);
  const p = new ort.Tensor('float32', Float32Array.from([0.3, 0.7, -1.1, 9]), [1, 4]);
  const handoff = await cropSession.run({ e });
  const parts = await promptSession.run({ p, a: handoff.a });
  const reference = await whole.run({ e, p });
  expect(Array.from(parts.out.data as Float32Array)).toEqual(Array.from(reference.out.data as Float32Array));
  // By hand, in float32 as onnxruntime computes it.
  const f = Math.fround;
  const expected = [0.5, -1, 2, 3].map((w, k) => {
    const ew = f((e.data as Float32Array)[k] * w);
    return f(f(f(ew + (p.data as Float32Array)[k]) * f(w + w)) + ew);
  });
  expect(Array.from(reference.out.data as Float32Array)).toEqual(expected);
  for (const s of [cropSession, promptSession, whole]) await s.release();
});

it('declines a graph with an output from the per-crop part, and one where nothing depends on the crop alone', () => {
  expect(splitAtCropInputs(parseModel(graph(true))!, new Set(['e']))).toBeUndefined();
  expect(splitAtCropInputs(parseModel(graph())!, new Set(['p']))).toBeUndefined();
});

it('cuts a prompt graph into a token stage (the IoUs) and a mask stage that reads what it needs of it', async () => {
  // tokens = p · 2; iou = tokens + 1; masks = tokens · image
  const g = new GraphBuilder();
  const p = g.input('p', 'float', [1, 4]);
  const image = g.input('image', 'float', [1, 4]);
  const tokens = g.op('Mul', [p, g.constant('float', [], [2])], {}, 'tokens');
  g.op('Add', [tokens, g.constant('float', [], [1])], {}, 'iou');
  g.op('Mul', [tokens, image], {}, 'masks');
  g.output('iou', 'float', [1, 4]);
  g.output('masks', 'float', [1, 4]);
  const stages = splitAtOutput(parseModel(g.serialize('staged', 17))!, 'iou')!;
  expect(stages.handoff).toEqual(['tokens']);
  expect(stages.tokens.graph!.node!.map((n) => n.opType)).toEqual(['Mul', 'Add']);
  expect(stages.masks.graph!.node!.map((n) => `${n.opType}(${n.input!.join(',')})`)).toEqual(['Mul(tokens,image)']);
  const first = await ort.InferenceSession.create(encodeModel(stages.tokens));
  const types = new Map([['tokens', { elemType: 1, shape: [1, 4] }]]);
  const second = await ort.InferenceSession.create(typeInputs(stages.masks, types));
  const feeds = { p: new ort.Tensor('float32', Float32Array.from([1, 2, 3, 4]), [1, 4]), image: new ort.Tensor('float32', Float32Array.from([0.5, 0.25, 2, -1]), [1, 4]) };
  const a = await first.run({ p: feeds.p });
  expect(Array.from(a.iou.data as Float32Array)).toEqual([3, 5, 7, 9]);
  const b = await second.run({ tokens: a.tokens, image: feeds.image });
  expect(Array.from(b.masks.data as Float32Array)).toEqual([1, 1, 12, -8]);
  for (const s of [first, second]) await s.release();
});

it('counts a Shape of a prompt value as per crop only when every call has the same shapes, and then asks for a check', () => {
  // out = Expand(e, Shape(p)) + p: the expansion depends on p's shape alone.
  const g = new GraphBuilder();
  const e = g.input('e', 'float', [1, 1]);
  const p = g.input('p', 'float', ['n', 4]);
  const expanded = g.op('Expand', [e, g.op('Shape', [p])], {}, 'expanded');
  g.op('Add', [expanded, p], {}, 'out');
  g.output('out', 'float', ['n', 4]);
  const bytes = g.serialize('shapes', 17);
  const fixed = splitAtCropInputs(parseModel(bytes)!, new Set(['e']), { callShapesFixed: true })!;
  expect(fixed.handoff).toEqual(['expanded']);
  expect(fixed.needsCheck).toBe(true);
  // The per-crop part reads p for its shape.
  expect(fixed.cropInputs).toEqual(['e', 'p']);
  expect(splitAtCropInputs(parseModel(bytes)!, new Set(['e']), { callShapesFixed: false })).toBeUndefined();
  expect(splitAtCropInputs(parseModel(graph())!, new Set(['e']))!.needsCheck).toBe(false);
});
