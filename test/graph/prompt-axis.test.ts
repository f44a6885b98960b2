/**
 * segment_anything's own ONNX export fixes the prompt axis at 1; freed and
 * checked at load, its decoder takes a batch of prompts a call (one call per
 * batch on a GPU instead of one per prompt) and gives the same records.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { generateMasks } from '../../src/amg/generator.js';
import { parseModel, protoGraphInfo } from '../../src/graph/proto-info.js';
import { freePromptAxis } from '../../src/graph/prompt-axis.js';
import { decodeImage } from '../../src/image/decode.js';
import { SamOnnxModel } from '../../src/model/sam-onnx.js';
import { PHOTOS, TINY, TINY_BATCHED } from '../helpers.js';

describe('freePromptAxis', () => {
  it('declares a prompt axis fixed at 1 dynamic, on the named inputs and the outputs only', () => {
    const model = parseModel(readFileSync(path.join(TINY, 'decoder.onnx')))!;
    const before = protoGraphInfo(model, 'tiny');
    expect(before.inputs.get('point_coords')!.shape[0]).toBe(1);
    expect(freePromptAxis(model, ['point_coords', 'point_labels'])).toBe(true);
    const after = protoGraphInfo(model, 'tiny');
    expect(after.inputs.get('point_coords')!.shape).toEqual(['prompts', ...before.inputs.get('point_coords')!.shape.slice(1)]);
    expect(after.inputs.get('point_labels')!.shape[0]).toBe('prompts');
    expect(after.inputs.get('mask_input')!.shape).toEqual(before.inputs.get('mask_input')!.shape);
    expect(after.outputs.get('low_res_masks')!.shape).toEqual(['prompts', ...before.outputs.get('low_res_masks')!.shape.slice(1)]);
    // Already free: nothing to do.
    expect(freePromptAxis(model, ['point_coords', 'point_labels'])).toBe(false);
  });

  it('leaves a decoder whose prompt axis is dynamic alone', () => {
    const model = parseModel(readFileSync(path.join(TINY_BATCHED, 'decoder.onnx')))!;
    expect(freePromptAxis(model, ['point_coords', 'point_labels'])).toBe(false);
  });
});

describe('a decoder exported with one prompt a call takes batches once freed', () => {
  const models: SamOnnxModel[] = [];
  afterAll(async () => {
    for (const m of models) await m.release();
  });

  it.each(['whole', 'folded'] as const)('%s: the same records at 8 prompts a call as at 1', async (decoderGraph) => {
    const [one, eight] = await Promise.all([
      SamOnnxModel.loadDir(TINY, { promptsPerCall: 1, decoderGraph }),
      SamOnnxModel.loadDir(TINY, { promptsPerCall: 8, decoderGraph }),
    ]);
    models.push(one, eight);
    // Only asked for batches is the axis freed: the CPU's default of one prompt a call keeps the export as it is.
    expect([one.promptAxisFreed, one.promptsSentPerCall]).toEqual([false, 1]);
    expect([eight.promptAxisFreed, eight.promptsSentPerCall]).toEqual([true, 8]);
    const image = await decodeImage(path.join(PHOTOS, 'shelf.jpg'));
    const calls = { one: 0, eight: 0 };
    for (const [name, model] of [['one', one], ['eight', eight]] as const) {
      const decode = model.decode.bind(model);
      model.decode = (e, p, n, o) => {
        calls[name] += Math.ceil(n / model.promptsSentPerCall);
        return decode(e, p, n, o);
      };
    }
    const settings = { pointsPerSide: 12, pointsPerBatch: 16 };
    const expected = await generateMasks(image, one, settings);
    const batched = await generateMasks(image, eight, settings);
    expect(expected.length).toBeGreaterThan(0);
    expect(batched).toEqual(expected);
    expect(calls).toEqual({ one: 144, eight: 18 });
  });
});
