import { createHash } from 'node:crypto';
import pLimit from 'p-limit';
import { emptyTimings, generateMaskData, type GenerateOptions, type GenerateProgress } from '../amg/generator.js';
import type { PromptModel } from '../amg/prompt-model.js';
import { toRecords } from '../amg/records.js';
import { decodeImage, ImageDecodeError } from '../image/decode.js';
import type { RgbImage } from '../image/rgb-image.js';
import { ModelError } from '../model/model-error.js';
import { readOutputState, writeImageOutput } from '../output/image-output.js';
import { isHttp, isS3, joinLocation } from '../storage/location.js';
import { DEFAULT_DOWNLOAD_LIMITS, InputReadError, mayStillExist, readInput, type DownloadLimits } from '../storage/read-input.js';
import { StaleTempSweeper } from '../storage/stale-temps.js';
import { describeFsError, StorageError, writingTo } from '../storage/storage-fault.js';
import { storeFor } from '../storage/store.js';
import type { RunIdentity } from '../output/run-identity.js';
import { failureOf } from '../output/failures-files.js';
import { failuresFileName, MANIFEST_FILE, planOutputs } from '../output/layout.js';
import { toSa1b } from '../output/sa1b.js';
import type { AmgSettings } from '../settings/settings.js';
import { optionName, UsageError, type OptionNames } from '../errors.js';
import type { ImageTimings, RunEvent } from './events.js';
import { listInputs, type InputImage, type InputList, type InputSources } from './inputs.js';
import { claimOutputFolder } from '../output/manifest.js';
import { LOCK_PREFIX, lockOutputFolder } from '../output/run-lock.js';
import { shardName, shardOfPath, type Shard } from '../output/shard.js';

/**
 * A run with everything made: the model loaded, the settings resolved, the
 * identity taken and the output folder prepared (`runDataset` in `run.ts`
 * makes them from what a caller gives).
 */
export interface PreparedRunOptions {
  sources: InputSources;
  /** A folder or an s3:// prefix, already prepared (`Store.prepare`). */
  outDir: string;
  model: PromptModel;
  settings: AmgSettings;
  /** Fingerprint and provenance, recorded in the manifest and every output. */
  identity: RunIdentity;
  /** Images in flight at once (default 1). */
  jobs?: number;
  shard?: Shard;
  /** Replace outputs made with other settings or models instead of refusing them. */
  overwrite?: boolean;
  /** Stops the run: no new image starts, images being generated are dropped, writes under way finish. */
  signal?: AbortSignal;
  onEvent?: (event: RunEvent) => void;
  generate?: Pick<GenerateOptions, 'upscale' | 'processor'>;
  /** Time-out, size limit and retries of images read from HTTP(S) and S3. */
  download?: DownloadLimits;
  /** How messages name the options: the library's keys (default) or the CLI's flags. */
  names?: OptionNames;
  /** What `preflightRun` found for these sources, outDir and shard (runDataset finds it before the model loads); found here without it. */
  preflight?: Preflight;
}

export interface ImageFailure {
  path: string;
  reason: string;
}

export interface RunSummary {
  images: number;
  /** Outputs written where there was none (or an unreadable one). */
  written: number;
  /** Outputs written again because their image's bytes changed since. */
  changed: number;
  skipped: number;
  failed: ImageFailure[];
  masks: number;
  /** Point prompts decoded, over the images written. */
  prompts: number;
  skippedNonImages: number;
  /** Folders holding sam-amg outputs that input discovery did not search. */
  skippedOutputFolders: string[];
  seconds: number;
  interrupted: boolean;
}

/** Errors that concern the whole run (bad model, bad usage, failing output storage), not one image. */
function isFatal(err: unknown): boolean {
  return err instanceof ModelError || err instanceof UsageError || err instanceof StorageError;
}

function isAbort(err: unknown): boolean {
  return (err as Error)?.name === 'AbortError';
}

function reasonOf(err: unknown): string {
  if (err instanceof ImageDecodeError || err instanceof InputReadError) return err.message;
  const e = err as NodeJS.ErrnoException;
  if (e?.code === 'ENOENT') return 'file not found';
  if (e?.code === 'EACCES') return 'permission denied';
  if (e?.code === 'EISDIR') return 'is a folder, not an image';
  if (e?.code === 'EIO') return 'input/output error reading it (the storage it is on failed)';
  return String(e?.message ?? err).split('\n')[0];
}

interface WorkItem {
  order: number;
  image: InputImage;
  out: string;
}

type Prepared =
  | { kind: 'skip' }
  | { kind: 'image'; pixels: RgbImage; sha256: string; changed: boolean; readSeconds: number; hashSeconds: number }
  | { kind: 'error'; error: unknown };

const now = () => performance.now() / 1000;

/**
 * Runs AMG over every image of the inputs (or of one shard of them), writing
 * one output per image. Outputs already complete for this fingerprint are
 * skipped, so rerunning the same command resumes. A broken image is recorded
 * and skipped; the run goes on. Failures are written to the shard's failures
 * file, with those of earlier runs that this one did not settle (removed
 * once it lists none).
 */
export async function runPrepared(opts: PreparedRunOptions): Promise<RunSummary> {
  const started = now();
  const { identity, outDir } = opts;
  const names = opts.names ?? 'keys';
  const n = (key: string) => optionName(key, names);
  // A URL is no place to write, and path.join would make it a local folder named `http:` (runDataset refuses it first).
  if (isHttp(outDir)) throw new UsageError(`${n('out')} ${outDir}: outputs go to a folder or an s3://bucket/prefix, not to an HTTP(S) URL`);
  const format = identity.format;
  const emit = (e: RunEvent) => opts.onEvent?.(e);
  const store = storeFor(outDir);
  const { list, mine, earlierFailures } = opts.preflight ?? await preflightRun({ sources: opts.sources, outDir, shard: opts.shard, names });

  const summary: RunSummary = {
    images: mine.length, written: 0, changed: 0, skipped: 0, failed: [], masks: 0, prompts: 0,
    skippedNonImages: list.skippedNonImages, skippedOutputFolders: list.skippedOutputFolders, seconds: 0, interrupted: false,
  };
  const failuresByOrder = new Map<number, ImageFailure>();
  // The images this run wrote, found complete or failed: their earlier failures are settled.
  const settled = new Set<string>();
  const fail = (item: { order: number; image: InputImage }, reason: string) => {
    const failure = { path: item.image.path, reason };
    failuresByOrder.set(item.order, failure);
    settled.add(item.image.path);
    emit({ event: 'image_failed', ...failure });
  };

  // Planned over the whole listing, so every shard agrees on which image owns which output.
  const places = planOutputs(list.images, outDir, format, [MANIFEST_FILE, failuresFileName(opts.shard), failuresFileName()]);
  const placeOf = new Map(list.images.map((image, k) => [image, places[k]]));
  const work: WorkItem[] = [];
  const refused: { order: number; image: InputImage; reason: string }[] = [];
  mine.forEach((image, order) => {
    const place = placeOf.get(image)!;
    if ('refused' in place) refused.push({ order, image, reason: place.refused });
    else work.push({ order, image, out: place.out });
  });

  const destination = `${n('out')} ${outDir}`;
  const failuresFile = joinLocation(outDir, failuresFileName(opts.shard));
  const collectFailures = () => [...failuresByOrder.entries()].sort((a, b) => a[0] - b[0]).map(([, f]) => f);
  const emitSummary = (storageFault?: string) => {
    summary.failed = collectFailures();
    summary.interrupted = opts.signal?.aborted ?? false;
    summary.seconds = now() - started;
    emit({
      event: 'summary', images: summary.images, written: summary.written, changed: summary.changed, skipped: summary.skipped,
      failed: summary.failed.length, masks: summary.masks, prompts: summary.prompts, seconds: summary.seconds, interrupted: summary.interrupted,
      ...(storageFault ? { storage_fault: storageFault } : {}),
    });
  };
  // A fault of the output storage stops the run with one line that says what is done and what to do next.
  const stopped = (err: unknown) => {
    if (!(err instanceof StorageError)) return err;
    const written = summary.written + summary.changed;
    const line = err.withDetail(`${written} image${written === 1 ? '' : 's'} written, rerun to resume`);
    emitSummary(line.message);
    return line;
  };
  // Earlier runs' failures of images this run did not settle stay listed (a run over part of the inputs keeps the rest's), unless the image is gone.
  const recordFailures = async () => {
    const unsettled = earlierFailures.filter((f) => !settled.has(f.path));
    const stillThere = await Promise.all(unsettled.map((f) => mayStillExist(f.path)));
    const failed = [...unsettled.filter((_, k) => stillThere[k]), ...collectFailures()];
    await writingTo(destination, failuresFile, async () => {
      if (failed.length > 0) await store.write(failuresFile, failed.map((f) => JSON.stringify(f)).join('\n') + '\n');
      else if (earlierFailures.length > 0) await store.remove(failuresFile);
    });
  };

  // One writer per folder: a run with other settings is refused while this one (or a shard of it) writes.
  const lock = await lockOutputFolder(outDir, identity, names);
  try {
    await writingTo(destination, joinLocation(outDir, MANIFEST_FILE), () => claimOutputFolder(outDir, identity, opts.overwrite ?? false, names))
      .catch((err) => { throw stopped(err); });
    emit({
      event: 'start', images: mine.length, skipped_non_images: list.skippedNonImages,
      skipped_output_folders: list.skippedOutputFolders,
      shard: shardName(opts.shard), jobs: opts.jobs ?? 1, fingerprint: identity.fingerprint, out: outDir,
    });
    // Images with no place in the folder fail once the run has started: a refused run lists none.
    for (const r of refused) fail(r, r.reason);

    const prepare = async (item: WorkItem): Promise<Prepared> => {
      const t = now();
      try {
        const bytes = await readInput(item.image.path, opts.download ?? DEFAULT_DOWNLOAD_LIMITS, signal, names);
        const th = now();
        const sha256 = createHash('sha256').update(bytes).digest('hex');
        const hashSeconds = now() - th;
        const state = await readOutputState(format, item.out, identity.fingerprint, sha256);
        if (state === 'complete') return { kind: 'skip' };
        if (state === 'foreign') {
          return { kind: 'error', error: new Error(`${item.out} exists and is not an output of sam-amg; it is left alone (move it, or choose another ${n('out')})`) };
        }
        if (state === 'stale' && !opts.overwrite) {
          return { kind: 'error', error: new Error(`existing output ${item.out} was made with other settings or another model; pass ${n('overwrite')} to replace it`) };
        }
        const pixels = await decodeImage(bytes);
        return { kind: 'image', pixels, sha256, changed: state === 'changed', readSeconds: now() - t - hashSeconds, hashSeconds };
      } catch (error) {
        return { kind: 'error', error };
      }
    };

    // Reading and decoding run one image ahead of the workers, so decoding
    // overlaps inference without holding more than jobs + 1 images.
    const prepared = new Map<number, Promise<Prepared>>();
    const prepareAt = (k: number) => {
      if (k < work.length && !prepared.has(k)) prepared.set(k, prepare(work[k]));
    };
    let fatal: unknown;
    // Aborted by the caller's signal, or by this run when an error ends it: no new image starts, those in flight are dropped.
    const stop = new AbortController();
    const signal = opts.signal ? AbortSignal.any([opts.signal, stop.signal]) : stop.signal;
    const sweeper = new StaleTempSweeper();
    const limit = pLimit(opts.jobs ?? 1);
    const runOne = async (k: number) => {
      if (signal.aborted) return;
      prepareAt(k);
      prepareAt(k + 1);
      const item = work[k];
      const ready = await prepared.get(k)!;
      prepared.delete(k);
      if (ready.kind === 'skip') {
        summary.skipped++;
        settled.add(item.image.path);
        emit({ event: 'image_skipped', path: item.image.path, output: item.out, reason: 'complete' });
        return;
      }
      if (ready.kind === 'error') {
        // A download cut short by the run's own stop is no failure of the image.
        if (signal.aborted && isAbort(ready.error)) return;
        fail(item, reasonOf(ready.error));
        return;
      }
      const t0 = now();
      const stages = emptyTimings();
      const counts = { prompts: 0 };
      try {
        const onProgress = opts.onEvent && ((p: GenerateProgress) => emit({
          event: 'image_progress', path: item.image.path, stage: p.stage, prompts_done: p.promptsDone, prompts_total: p.promptsTotal, crop: p.crop, crops: p.crops,
        }));
        const data = await generateMaskData(ready.pixels, opts.model, opts.settings,
          { ...opts.generate, signal, timings: stages, counts, ...(onProgress ? { onProgress } : {}) });
        const tr = now();
        const records = toRecords(data);
        const file = toSa1b(records, { width: ready.pixels.width, height: ready.pixels.height, file_name: item.image.relative },
          { ...identity, image_sha256: ready.sha256 });
        const tw = now();
        await writingTo(destination, item.out, async () => {
          // Temporary names are a disk's way to appear whole; S3 objects appear whole with their PUT.
          if (!isS3(outDir)) await sweeper.before(item.out);
          await writeImageOutput(format, item.out, file, names);
        }).catch((err) => {
          // What is left is the name's own fault (too long, a file or folder in its way): this image fails.
          throw err instanceof StorageError || (err as NodeJS.ErrnoException)?.code === undefined ? err
            : new Error(`cannot write ${item.out}: ${describeFsError(err)}`);
        });
        const timings: ImageTimings = { read: ready.readSeconds, hash: ready.hashSeconds, ...stages, rle: tw - tr, write: now() - tw };
        if (ready.changed) summary.changed++;
        else summary.written++;
        settled.add(item.image.path);
        summary.masks += records.length;
        summary.prompts += counts.prompts;
        emit({
          event: 'image_done', path: item.image.path, output: item.out, masks: records.length, prompts: counts.prompts, changed: ready.changed,
          seconds: now() - t0 + ready.readSeconds + ready.hashSeconds, timings,
        });
      } catch (err) {
        if (isFatal(err)) {
          fatal ??= err;
          stop.abort();
          return;
        }
        if (isAbort(err)) return;
        fail(item, reasonOf(err));
      }
    };
    await Promise.all(work.map((_, k) => limit(() => runOne(k))));
    if (fatal instanceof StorageError) {
      // The images that failed before the fault did fail: listed if the storage still takes the file.
      await recordFailures().catch(() => undefined);
      throw stopped(fatal);
    }
    if (fatal) throw fatal;
    await recordFailures().catch((err) => { throw stopped(err); });
    emitSummary();
    return summary;
  } finally {
    await lock.release();
  }
}

/** What a run finds out before any model loads (`preflightRun`). */
export interface Preflight {
  list: InputList;
  /** The images of this run's shard (all of them without one). */
  mine: InputImage[];
  /** The failures an earlier run of this shard listed. */
  earlierFailures: ImageFailure[];
  /** Whether the output folder holds an earlier run (its manifest, or a lock), which this run's fingerprint must match. */
  resuming: boolean;
}

/**
 * Everything a run can check without its model: lists the inputs (none is a
 * UsageError), takes the shard's share, and reads the failures file an
 * earlier run left (one that is not sam-amg's refuses the run). Writes nothing.
 */
export async function preflightRun(o: { sources: InputSources; outDir: string; shard?: Shard; names?: OptionNames }): Promise<Preflight> {
  const { outDir, shard } = o;
  const names = o.names ?? 'keys';
  const n = (key: string) => optionName(key, names);
  if (isHttp(outDir)) throw new UsageError(`${n('out')} ${outDir}: outputs go to a folder or an s3://bucket/prefix, not to an HTTP(S) URL`);
  const list = await listInputs({ names, ...o.sources, outDir });
  if (list.images.length === 0) {
    throw new UsageError(`no images found in ${[...o.sources.paths, ...(o.sources.lists ?? [])].join(', ')}` +
      (list.skippedNonImages ? ` (${list.skippedNonImages} file${list.skippedNonImages === 1 ? '' : 's'} without an image extension skipped)` : ''));
  }
  const mine = shard ? list.images.filter((im) => shardOfPath(im.relative, shard.count) === shard.index) : list.images;
  const earlierFailures = await readOwnFailures(outDir, joinLocation(outDir, failuresFileName(shard)), names);
  const top = (await storeFor(outDir).list(outDir, true).catch(() => undefined)) ?? [];
  const resuming = top.some((name) => name === MANIFEST_FILE || name.startsWith(LOCK_PREFIX));
  return { list, mine, earlierFailures, resuming };
}

/**
 * The failures an earlier run of this shard listed. A file there that is no
 * such list is not sam-amg's to replace: the run is refused before any image.
 */
async function readOwnFailures(outDir: string, file: string, names: OptionNames): Promise<ImageFailure[]> {
  const out = optionName('out', names);
  const bytes = await storeFor(file).read(file).catch(() => undefined);
  if (bytes === undefined) return [];
  const failures: ImageFailure[] = [];
  for (const line of bytes.toString('utf8').split('\n')) {
    if (!line.trim()) continue;
    const failure = failureOf(line);
    if (!failure) throw new UsageError(`${out} ${outDir}: ${file} is not a list of sam-amg failures and would be replaced; move it, or choose another ${out}`);
    failures.push(failure);
  }
  return failures;
}
