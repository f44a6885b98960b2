import { checkDeviceAvailable, parseDevice } from '../model/device.js';
import { ModelError } from '../model/model-error.js';
import type { DecoderGraphMode } from '../model/decoder-sessions.js';
import { SamOnnxModel } from '../model/sam-onnx.js';
import { chooseModel } from './model-choice.js';
import { DEFAULT_DOWNLOAD_LIMITS, type DownloadLimits } from '../storage/read-input.js';
import { isHttp } from '../storage/location.js';
import { storeFor } from '../storage/store.js';
import type { OutputFormat } from '../output/run-identity.js';
import { runIdentity } from '../runner/identity.js';
import { defaultPostprocessWorkers, PostprocessPool } from '../runner/postprocess-pool.js';
import { runDataset } from '../runner/run-dataset.js';
import { parseShard } from '../output/shard.js';
import { readJsonOption } from '../settings/json-option.js';
import { resolveSettings, SETTING_SPECS, type SettingsInput } from '../settings/settings.js';
import { checkNumber, invalid, UsageError } from '../errors.js';
import { BarReporter, JsonLinesReporter, PlainReporter, type Reporter } from './progress.js';

export const EXIT = { ok: 0, someFailed: 1, usage: 2, storage: 3, interrupted: 130 } as const;

export interface RunCliOptions {
  out?: string;
  model?: string;
  encoder?: string;
  decoder?: string;
  preset: string;
  threads?: string;
  postprocessWorkers?: string;
  promptsPerCall?: string;
  decoderGraph?: DecoderGraphMode;
  filterGraph?: 'on' | 'off';
  device?: string;
  jobs: string;
  list?: string[];
  root?: string;
  shard?: string;
  overwrite?: boolean;
  format: string;
  json?: boolean;
  quiet?: boolean;
  progressInterval?: string;
  pointGrids?: string;
  sampling?: string;
  downloadTimeout?: string;
  downloadLimit?: string;
  downloadRetries?: string;
  [setting: string]: unknown;
}

function optionKey(flag: string): string {
  return flag.replace(/^--/, '').replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
}

function readStdin(): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    process.stdin.setEncoding('utf8');
    process.stdin.on('data', (d) => (text += d));
    process.stdin.on('end', () => resolve(text));
    process.stdin.on('error', reject);
  });
}

function chooseReporter(o: RunCliOptions, interval: number): Reporter {
  if (o.json) return new JsonLinesReporter();
  if (!o.quiet && process.stderr.isTTY) return new BarReporter();
  return new PlainReporter(interval, o.quiet);
}

/** `sam-amg <inputs...> --out DIR`: validates everything, then runs the dataset. */
export async function runCommand(inputs: string[], o: RunCliOptions): Promise<number> {
  if (!o.out) throw new UsageError('no output folder: pass --out DIR');
  if (isHttp(o.out)) throw new UsageError(`--out ${o.out}: outputs go to a folder or an s3://bucket/prefix, not to an HTTP(S) URL`);
  const raw: SettingsInput = {};
  for (const spec of SETTING_SPECS) {
    const v = o[optionKey(spec.flag)];
    if (v !== undefined) raw[spec.key] = v;
  }
  // The grids file's JSON; resolveSettings checks its shape.
  if (o.pointGrids !== undefined) raw.pointGrids = (await readJsonOption('--point-grids', String(o.pointGrids))).value;
  if (o.sampling !== undefined) raw.sampling = o.sampling;
  // Checked now, so a bad value fails before any model loads; the defaults not overridden depend on the model's family.
  let early;
  try {
    early = resolveSettings(raw, o.preset, 'flags');
  } catch (err) {
    // A bad point in the grids file: the message names the file too.
    if (err instanceof UsageError && o.pointGrids) throw new UsageError(err.message.replace(' --point-grids', ` --point-grids ${o.pointGrids}`));
    throw err;
  }
  const threads = o.threads === undefined ? undefined : checkNumber('--threads', o.threads, { integer: true, min: 1, max: 1024 });
  const jobs = checkNumber('--jobs', o.jobs, { integer: true, min: 1, max: 256 });
  const workers = o.postprocessWorkers === undefined ? defaultPostprocessWorkers()
    : checkNumber('--postprocess-workers', o.postprocessWorkers, { integer: true, min: 0, max: 256 });
  const device = parseDevice(o.device ?? 'cpu');
  // Off the CPU, batching prompts is what pays: a batch of decoder prompts a call, where the graph allows.
  const promptsPerCall = o.promptsPerCall !== undefined
    ? checkNumber('--prompts-per-call', o.promptsPerCall, { integer: true, min: 1, max: 65536 })
    : device.kind === 'cpu' ? 1 : early.pointsPerBatch;
  const interval = checkNumber('--progress-interval', o.progressInterval ?? '10', { min: 0 });
  const shard = o.shard === undefined ? undefined : parseShard(o.shard);
  const d = DEFAULT_DOWNLOAD_LIMITS;
  const download: DownloadLimits = {
    timeoutSeconds: checkNumber('--download-timeout', o.downloadTimeout ?? String(d.timeoutSeconds), { min: 0, minExclusive: true, max: 86400 }),
    maxBytes: Math.max(1, Math.floor(2 ** 20 * checkNumber('--download-limit', o.downloadLimit ?? String(d.maxBytes / 2 ** 20), { min: 0, minExclusive: true, max: 2 ** 20 }))),
    retries: checkNumber('--download-retries', o.downloadRetries ?? String(d.retries), { integer: true, min: 0, max: 100 }),
  };
  if (o.format !== 'json' && o.format !== 'png') throw invalid('one of json, png', '--format', o.format);
  if (inputs.length === 0 && !o.list?.length) throw new UsageError('no inputs: name image files, folders or patterns, or pass --list FILE');
  // Before any model is loaded: a provider that is not installed, or a bad --out, fails in a moment.
  checkDeviceAvailable(device);
  await storeFor(o.out).prepare(o.out, '--out');
  const files = await chooseModel(o);

  const model = await SamOnnxModel.load(files, {
    threads, promptsPerCall, decoderGraph: o.decoderGraph, filterGraph: o.filterGraph === undefined ? undefined : o.filterGraph === 'on', device, onNotice: (line) => o.quiet || process.stderr.write(`sam-amg: ${line}\n`),
  });
  const settings = resolveSettings(raw, o.preset, 'flags', model.amgReference);
  const identity = await runIdentity(files, settings, o.format as OutputFormat);
  const reporter = chooseReporter(o, interval);
  const pool = workers > 0 ? new PostprocessPool(workers) : undefined;
  const controller = new AbortController();
  const onSignal = (signal: NodeJS.Signals) => {
    if (controller.signal.aborted) process.exit(EXIT.interrupted);
    reporter.note(`sam-amg: ${signal}: stopping; writes under way finish (send it again to stop at once)`);
    controller.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const summary = await runDataset({
      sources: { paths: inputs, lists: o.list, listRoot: o.root, readStdin },
      outDir: o.out,
      model,
      settings,
      identity,
      jobs,
      shard,
      overwrite: o.overwrite,
      signal: controller.signal,
      generate: { processor: pool },
      download,
      onEvent: (e) => {
        reporter.onEvent(e);
        if (e.event === 'image_failed') reporter.note(`sam-amg: ${e.path}: ${e.reason}`);
        if (e.event === 'start' && e.skipped_output_folders.length > 0 && !o.quiet) {
          const folders = e.skipped_output_folders;
          reporter.note(`sam-amg: not searched for images: ${folders.length} folder${folders.length === 1 ? '' : 's'} holding sam-amg outputs ` +
            `(${folders.slice(0, 3).join(', ')}${folders.length > 3 ? ', …' : ''})`);
        }
      },
    });
    reporter.close();
    if (!o.quiet && !o.json) {
      const rate = summary.seconds > 0 ? (summary.written / summary.seconds).toFixed(2) : '-';
      process.stderr.write(`sam-amg: ${summary.images} images: ${summary.written} written, ` +
        `${summary.changed ? `${summary.changed} changed, ` : ''}` +
        `${summary.skipped} already done, ${summary.failed.length} failed` +
        `${summary.skippedNonImages ? `, ${summary.skippedNonImages} non-image files skipped` : ''}; ` +
        `${summary.masks} masks from ${summary.prompts} prompts in ${summary.seconds.toFixed(1)} s (${rate} images/s)` +
        `${summary.interrupted ? '; interrupted' : ''}\n`);
    }
    if (summary.interrupted) return EXIT.interrupted;
    return summary.failed.length > 0 ? EXIT.someFailed : EXIT.ok;
  } finally {
    await pool?.close();
    reporter.close();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await model.release();
  }
}

export function isUserFacing(err: unknown): err is Error {
  return err instanceof UsageError || err instanceof ModelError;
}
