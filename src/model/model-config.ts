import { readFile } from 'node:fs/promises';
import { checkNumber, invalid } from '../errors.js';
import { FAMILIES, type FamilyId } from './families.js';
import type { DigestRecord } from './file-digest.js';
import { SAM_PIXEL_MEAN, SAM_PIXEL_STD } from './preprocess.js';

/** Optional `model.json` beside the ONNX files. */
export interface ModelConfig {
  /** Encoder input side S; read from the encoder when its input is not dynamic. */
  inputSize?: number;
  /** The graph family, when detection from the graph should be overridden. */
  family?: FamilyId;
  /** File names of the pair in the model folder (default encoder.onnx, decoder.onnx). */
  encoderFile?: string;
  decoderFile?: string;
  pixelMean: readonly number[];
  pixelStd: readonly number[];
  /** SHA-256, size and modification time of the folder's files as `models pull` recorded them, by file name. */
  digests?: Readonly<Record<string, DigestRecord>>;
}

export const DEFAULT_MODEL_CONFIG: ModelConfig = { pixelMean: SAM_PIXEL_MEAN, pixelStd: SAM_PIXEL_STD };

export function parseModelConfig(json: unknown, file: string): ModelConfig {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw invalid('a JSON object', file, json);
  const raw = json as Record<string, unknown>;
  const known = new Set(['input_size', 'pixel_mean', 'pixel_std', 'name', 'family', 'encoder', 'decoder', 'files_sha256', 'files_stat', 'source']);
  for (const key of Object.keys(raw)) {
    if (!known.has(key)) throw invalid(`one of ${[...known].join(', ')}`, `a key of ${file}`, key);
  }
  const triple = (key: string, fallback: readonly number[], positive: boolean): readonly number[] => {
    const v = raw[key];
    if (v === undefined) return fallback;
    if (!Array.isArray(v) || v.length !== 3) throw invalid('an array of 3 numbers', `${key} in ${file}`, v);
    return v.map((x, i) => checkNumber(`${key}[${i}] in ${file}`, x,
      positive ? { min: 0, minExclusive: true } : {}));
  };
  if (raw.family !== undefined && !(typeof raw.family === 'string' && raw.family in FAMILIES)) {
    throw invalid(`one of ${Object.keys(FAMILIES).join(', ')}`, `family in ${file}`, raw.family);
  }
  for (const key of ['encoder', 'decoder']) {
    const v = raw[key];
    if (v !== undefined && !(typeof v === 'string' && v && !v.includes('/') && !v.includes('\\'))) {
      throw invalid('a file name in the model folder', `${key} in ${file}`, v);
    }
  }
  return {
    family: raw.family as FamilyId | undefined,
    encoderFile: raw.encoder as string | undefined,
    decoderFile: raw.decoder as string | undefined,
    inputSize: raw.input_size === undefined ? undefined
      : checkNumber(`input_size in ${file}`, raw.input_size, { integer: true, min: 1, max: 16384 }),
    pixelMean: triple('pixel_mean', SAM_PIXEL_MEAN, false),
    pixelStd: triple('pixel_std', SAM_PIXEL_STD, true),
    digests: digestsOf(raw.files_sha256, raw.files_stat),
  };
}

/** Records for the files that have both a checksum and the size and time it was taken at; others are hashed when needed. */
function digestsOf(sums: unknown, stats: unknown): Record<string, DigestRecord> | undefined {
  if (typeof sums !== 'object' || sums === null || typeof stats !== 'object' || stats === null) return undefined;
  const out: Record<string, DigestRecord> = {};
  for (const [name, sha256] of Object.entries(sums)) {
    const s = (stats as Record<string, { size?: unknown; mtime_ms?: unknown }>)[name];
    if (typeof sha256 === 'string' && typeof s?.size === 'number' && typeof s?.mtime_ms === 'number') {
      out[name] = { sha256, size: s.size, mtimeMs: s.mtime_ms };
    }
  }
  return out;
}

export async function readModelConfig(file: string): Promise<ModelConfig> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return DEFAULT_MODEL_CONFIG;
    throw err;
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw invalid('valid JSON', file, `${(err as Error).message}`);
  }
  return parseModelConfig(json, file);
}
