import { readFileSync } from 'node:fs';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { expect, it } from 'vitest';
import { parseModel } from '../../src/graph/proto-info.js';
import { pruneOutputs } from '../../src/graph/prune.js';
import { TINY } from '../helpers.js';

it('drops the decoder outputs sam-amg does not read, and leaves the others bit for bit', async () => {
  const bytes = readFileSync(path.join(TINY, 'decoder.onnx'));
  const pruned = pruneOutputs(parseModel(bytes)!, ['low_res_masks', 'iou_predictions'])!;
  expect(pruned.length).toBeLessThan(bytes.length);
  const full = await ort.InferenceSession.create(bytes);
  const lean = await ort.InferenceSession.create(pruned);
  expect(lean.outputNames).toEqual(['iou_predictions', 'low_res_masks']);
  expect(full.outputNames).toContain('masks');
  const embedding = Float32Array.from({ length: 256 * 64 * 64 }, (_, i) => Math.sin(i * 0.37));
  const feeds = {
    image_embeddings: new ort.Tensor('float32', embedding, [1, 256, 64, 64]),
    point_coords: new ort.Tensor('float32', Float32Array.from([300, 200, 0, 0]), [1, 2, 2]),
    point_labels: new ort.Tensor('float32', Float32Array.from([1, -1]), [1, 2]),
    mask_input: new ort.Tensor('float32', new Float32Array(256 * 256), [1, 1, 256, 256]),
    has_mask_input: new ort.Tensor('float32', new Float32Array(1), [1]),
    orig_im_size: new ort.Tensor('float32', Float32Array.from([600, 800]), [2]),
  };
  const a = await full.run(feeds);
  const b = await lean.run(feeds);
  for (const name of ['low_res_masks', 'iou_predictions']) {
    expect(Buffer.from((b[name].data as Float32Array).buffer).equals(Buffer.from((a[name].data as Float32Array).buffer)), name).toBe(true);
  }
  await full.release();
  await lean.release();
});

it('leaves a model alone when every output is read', () => {
  const bytes = readFileSync(path.join(TINY, 'decoder.onnx'));
  expect(pruneOutputs(parseModel(bytes)!, ['masks', 'low_res_masks', 'iou_predictions'])).toBeUndefined();
});
