/**
 * Writes the committed test models: fixtures/models/tiny (batch-1 decoder, as
 * the official export) and fixtures/models/tiny-batched (dynamic prompt axis).
 * Run with `npm run make-tiny-models`; a test checks the bytes do not drift.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  buildEdgeSam, buildEfficientSam, buildEfficientVitSam, buildHwcEncoder, buildSam2,
} from './tiny-model/tiny-families.js';
import { buildTinyDecoder, buildTinyEncoder } from './tiny-model/tiny-sam.js';

export const TINY_MODEL_DIRS = { tiny: false, 'tiny-batched': true } as const;

/** One tiny model per supported family besides the official one, in fixtures/models/families/<family>. */
export const FAMILY_MODEL_DIRS = ['sam-hwc', 'edgesam', 'efficientvit-sam', 'sam2', 'efficientsam'] as const;

export function tinyModelFiles(): Map<string, Uint8Array> {
  const files = new Map<string, Uint8Array>();
  for (const [dir, batched] of Object.entries(TINY_MODEL_DIRS)) {
    files.set(`${dir}/encoder.onnx`, buildTinyEncoder());
    files.set(`${dir}/decoder.onnx`, buildTinyDecoder({ batched }));
  }
  const pairs = {
    'sam-hwc': { encoder: buildHwcEncoder(), decoder: buildTinyDecoder() },
    edgesam: buildEdgeSam(),
    'efficientvit-sam': buildEfficientVitSam(),
    sam2: buildSam2(),
    efficientsam: buildEfficientSam(),
  };
  for (const dir of FAMILY_MODEL_DIRS) {
    files.set(`families/${dir}/encoder.onnx`, pairs[dir].encoder);
    files.set(`families/${dir}/decoder.onnx`, pairs[dir].decoder);
  }
  return files;
}

const isMain = process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1]);
if (isMain) {
  const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../fixtures/models');
  for (const [rel, bytes] of tinyModelFiles()) {
    const file = path.join(root, rel);
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, bytes);
    console.log(`wrote ${path.relative(process.cwd(), file)} (${bytes.length} bytes)`);
  }
}
