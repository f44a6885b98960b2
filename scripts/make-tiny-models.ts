/**
 * Writes the committed test models: fixtures/models/tiny (batch-1 decoder, as
 * the official export), fixtures/models/tiny-batched (dynamic prompt axis),
 * tiny-fp16 and tiny-int8 (the same in half-precision and quantised form) and
 * one pair per family in fixtures/models/families.
 * Run with `npm run make-tiny-models`; a test checks the bytes do not drift.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  buildEdgeSam, buildEfficientSam, buildEfficientVitSam, buildHwcEncoder, buildSam2,
} from './tiny-model/tiny-families.js';
import { buildTinyDecoder, buildTinyEncoder } from './tiny-model/tiny-sam.js';
import { withFloat16Io, withInt8Output } from './tiny-model/variants.js';

export const TINY_MODEL_DIRS = { tiny: false, 'tiny-batched': true } as const;

/** One tiny model per supported family besides the official one, in fixtures/models/families/<family>. */
export const FAMILY_MODEL_DIRS = ['sam-hwc', 'edgesam', 'efficientvit-sam', 'sam2', 'efficientsam'] as const;

export function tinyModelFiles(): Map<string, Uint8Array> {
  const files = new Map<string, Uint8Array>();
  for (const [dir, batched] of Object.entries(TINY_MODEL_DIRS)) {
    files.set(`${dir}/encoder.onnx`, buildTinyEncoder());
    files.set(`${dir}/decoder.onnx`, buildTinyDecoder({ batched }));
  }
  // The forms quantised and half-precision exports take: float16 at every input and output of both graphs,
  // and an int8 QDQ pair on the embedding (its values lie within ±2.7, SAM-normalised colours).
  files.set('tiny-fp16/encoder.onnx', withFloat16Io(buildTinyEncoder()));
  files.set('tiny-fp16/decoder.onnx', withFloat16Io(buildTinyDecoder()));
  files.set('tiny-int8/encoder.onnx', withInt8Output(buildTinyEncoder(), 'image_embeddings', 2.7 / 127));
  files.set('tiny-int8/decoder.onnx', buildTinyDecoder());
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
