import { readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { generateMaskData } from '../amg/generator.js';
import type { PromptModel } from '../amg/prompt-model.js';
import { toRecords } from '../amg/records.js';
import { decodeImage, ImageDecodeError } from '../image/decode.js';
import type { RgbImage } from '../image/rgb-image.js';
import { ModelError } from '../model/model-error.js';
import { writeFileAtomic } from '../output/atomic-write.js';
import { outputPathFor, toSa1b } from '../output/sa1b.js';
import type { AmgSettings } from '../settings/settings.js';
import { UsageError } from '../settings/validate.js';
import { listInputs, type InputImage } from './inputs.js';

export const FAILURES_FILE = 'failures.jsonl';

export interface DatasetRunOptions {
  inputs: string[];
  outDir: string;
  model: PromptModel;
  settings: AmgSettings;
  /** Receives one line per failed image; the caller decides where it goes. */
  onFailure?: (failure: ImageFailure) => void;
  onImageDone?: (image: InputImage, masks: number) => void;
}

export interface ImageFailure {
  path: string;
  reason: string;
}

export interface RunSummary {
  images: number;
  written: number;
  failed: ImageFailure[];
  masks: number;
  skippedNonImages: number;
  seconds: number;
}

/** Errors that concern the whole run (bad model, bad usage), not one image. */
function isFatal(err: unknown): boolean {
  return err instanceof ModelError || err instanceof UsageError;
}

function reasonOf(err: unknown): string {
  if (err instanceof ImageDecodeError) return err.message;
  const e = err as NodeJS.ErrnoException;
  if (e?.code === 'ENOENT') return 'file disappeared before it was read';
  if (e?.code === 'EACCES') return 'permission denied';
  return String(e?.message ?? err).split('\n')[0];
}

async function readAndDecode(image: InputImage): Promise<RgbImage> {
  return decodeImage(await readFile(image.path));
}

/**
 * Runs AMG over every image of the inputs, writing one SA-1B JSON per image.
 * A broken image is recorded and skipped; the run goes on. Failures are also
 * written to `<out>/failures.jsonl` (removed when a run has none).
 */
export async function runDataset(opts: DatasetRunOptions): Promise<RunSummary> {
  const started = performance.now();
  const list = await listInputs(opts.inputs);
  if (list.images.length === 0) {
    throw new UsageError(`no images found in ${opts.inputs.join(', ')}` +
      (list.skippedNonImages ? ` (${list.skippedNonImages} files without an image extension skipped)` : ''));
  }
  const summary: RunSummary = {
    images: list.images.length, written: 0, failed: [], masks: 0, skippedNonImages: list.skippedNonImages, seconds: 0,
  };
  const fail = (image: InputImage, reason: string) => {
    const failure = { path: image.path, reason };
    summary.failed.push(failure);
    opts.onFailure?.(failure);
  };

  const owners = new Map<string, InputImage>();
  const work: { image: InputImage; out: string }[] = [];
  for (const image of list.images) {
    const out = outputPathFor(opts.outDir, image.relative);
    const owner = owners.get(out);
    if (owner) {
      fail(image, `output ${out} is already the output of ${owner.path}; rename one of them`);
      continue;
    }
    owners.set(out, image);
    work.push({ image, out });
  }

  // Decoding the next image overlaps inference on the current one.
  const decodeNext = (k: number) => (k < work.length ? readAndDecode(work[k].image) : undefined);
  const settle = (p: Promise<RgbImage> | undefined) => p?.then((v) => ({ ok: true as const, v }), (e) => ({ ok: false as const, e }));
  let pending = settle(decodeNext(0));
  for (let k = 0; k < work.length; k++) {
    const { image, out } = work[k];
    const decoded = await pending!;
    pending = settle(decodeNext(k + 1));
    if (!decoded.ok) {
      fail(image, reasonOf(decoded.e));
      continue;
    }
    try {
      const pixels = decoded.v;
      const records = toRecords(await generateMaskData(pixels, opts.model, opts.settings));
      const file = toSa1b(records, { width: pixels.width, height: pixels.height, file_name: image.relative });
      await writeFileAtomic(out, JSON.stringify(file));
      summary.written++;
      summary.masks += records.length;
      opts.onImageDone?.(image, records.length);
    } catch (err) {
      if (isFatal(err)) throw err;
      fail(image, reasonOf(err));
    }
  }

  const failuresFile = path.join(opts.outDir, FAILURES_FILE);
  if (summary.failed.length > 0) {
    await writeFileAtomic(failuresFile, summary.failed.map((f) => JSON.stringify(f)).join('\n') + '\n');
  } else {
    await rm(failuresFile, { force: true });
  }
  summary.seconds = (performance.now() - started) / 1000;
  return summary;
}
