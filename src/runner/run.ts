import { checkNumber, invalid, optionName, UsageError, type OptionNames } from '../errors.js';
import { DECODER_GRAPH_MODES, type DecoderGraphMode } from '../model/decoder-sessions.js';
import { checkDeviceAvailable, parseDevice, probeDevice } from '../model/device.js';
import { chooseModel } from '../model/model-choice.js';
import { SamOnnxModel } from '../model/sam-onnx.js';
import type { OutputFormat } from '../output/run-identity.js';
import { parseShard, shardName } from '../output/shard.js';
import { loadRegistry } from '../model/registry.js';
import { readJsonOption } from '../settings/json-option.js';
import {
  checkSettings, completeSettings, DEFAULT_SETTINGS, SETTING_SPECS, type CheckedSettings, type NumericSettingKey, type Sampling, type SettingsInput,
} from '../settings/settings.js';
import type { ProgressFn } from '../storage/download.js';
import { isHttp } from '../storage/location.js';
import { DEFAULT_DOWNLOAD_LIMITS, type DownloadLimits } from '../storage/read-input.js';
import { storeFor } from '../storage/store.js';
import type { RunEvent } from './events.js';
import { runIdentity } from './identity.js';
import { defaultPostprocessWorkers, PostprocessPool } from './postprocess-pool.js';
import { preflightRun, runPrepared, type RunSummary } from './run-dataset.js';

/** Every AMG setting by its key (`pointsPerSide: 8`), as a number or the text of one. */
export type SettingOptions = { [K in NumericSettingKey]?: number | string };

/**
 * A dataset run as the CLI takes it, with camelCase names: what to read,
 * where to write, which model, the settings and how to run. Numbers may be
 * given as numbers or as their text. Every value is checked before any model
 * loads, each bad one a UsageError in the message shape of `invalid`.
 */
export interface DatasetRunOptions extends SettingOptions {
  /** Image files, folders (searched recursively), glob patterns, http(s):// URLs and s3://bucket/prefix. */
  inputs: string[];
  /** Files (or http(s)://, s3:// objects) listing one image a line; '-' reads standard input. */
  lists?: string[];
  /** What list entries are named relative to (default: the current folder). */
  listRoot?: string;
  /** The text of standard input, for a list '-' (default: reads process.stdin). */
  readStdin?: () => Promise<string>;
  /** The output folder or s3://bucket/prefix; never an HTTP(S) URL. */
  out: string;
  /** A registry model name (default: the registry's default, pulled on first use) or a model folder. */
  model?: string;
  /** Encoder and decoder ONNX files, together, instead of `model`. */
  encoder?: string;
  decoder?: string;
  /** Execution provider: cpu (default), cuda[:N], tensorrt[:N], webgpu, coreml, dml. */
  device?: string;
  /** onnxruntime intra-op threads per session (default: all cores). */
  threads?: number | string;
  /** Images in flight at once (default 1). */
  jobs?: number | string;
  /** Post-processing worker threads (0: on the calling thread; default: all cores but one with more than 2 cores). */
  postprocessWorkers?: number | string;
  /** Prompts per decoder call where the decoder takes several (default 1 on the CPU, pointsPerBatch elsewhere). */
  promptsPerCall?: number | string;
  decoderGraph?: DecoderGraphMode;
  /** The batch filters as a graph on the device (default: on for GPU devices, off on the CPU). */
  filterGraph?: 'on' | 'off' | boolean;
  /** default, dense, sa1b or fast; explicit settings override it. */
  preset?: string;
  /** json (SA-1B, default) or png (the reference amg.py folders). */
  format?: OutputFormat;
  /** `i/n`: only shard i of n (0-based). */
  shard?: string;
  /** Replace outputs made with other settings or models. */
  overwrite?: boolean;
  /** Seconds without data before an image download fails (default 30). */
  downloadTimeout?: number | string;
  /** MiB: larger http(s):// and s3:// images fail unread (default 512). */
  downloadLimit?: number | string;
  /** Further attempts of a failed download (default 3). */
  downloadRetries?: number | string;
  /** The reference's point_grids: one list of normalised [x, y] points per crop layer, or a JSON file holding them. */
  pointGrids?: string | number[][][];
  /** grid (default) or hierarchical. */
  sampling?: Sampling;
  /** Stops the run: no new image starts, writes under way finish, and the summary says `interrupted`. */
  signal?: AbortSignal;
  /** Each event of the run as it happens (loading, start, image_progress, image_done, image_failed, image_skipped, summary). */
  onEvent?: (event: RunEvent) => void;
  /** Lines worth telling a person: a model pull's size, source and licence, and what loading the model found. */
  onNotice?: (line: string) => void;
  /** Called for each file of a model pull once its server answers; returns a callback for the bytes received. */
  onModelDownload?: (label: string, url: string) => ProgressFn | undefined;
  /** How messages name options: by these keys (default), or by the CLI's flags. */
  names?: OptionNames;
}

const KNOWN = new Set<string>([
  'inputs', 'lists', 'listRoot', 'readStdin', 'out', 'model', 'encoder', 'decoder', 'device', 'threads', 'jobs', 'postprocessWorkers',
  'promptsPerCall', 'decoderGraph', 'filterGraph', 'preset', 'format', 'shard', 'overwrite', 'downloadTimeout', 'downloadLimit',
  'downloadRetries', 'pointGrids', 'sampling', 'signal', 'onEvent', 'onNotice', 'onModelDownload', 'names',
  ...SETTING_SPECS.map((s) => s.key),
]);

function readProcessStdin(): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    process.stdin.setEncoding('utf8');
    process.stdin.on('data', (d) => (text += d));
    process.stdin.on('end', () => resolve(text));
    process.stdin.on('error', reject);
  });
}

/** Everything a run needs that can be checked before a model loads. */
interface Checked {
  names: OptionNames;
  settings: CheckedSettings;
  threads?: number;
  jobs: number;
  workers: number;
  device: ReturnType<typeof parseDevice>;
  promptsPerCall: number;
  shard?: ReturnType<typeof parseShard>;
  download: DownloadLimits;
  format: OutputFormat;
  decoderGraph?: DecoderGraphMode;
  filterGraph?: boolean;
}

/** Checks every option, in the order the CLI always has, so the first bad one is the one named. */
async function checkOptions(o: DatasetRunOptions): Promise<Checked> {
  const names: OptionNames = o.names === 'flags' ? 'flags' : 'keys';
  const n = (key: string) => optionName(key, names);
  for (const key of Object.keys(o)) {
    if (!KNOWN.has(key)) throw invalid(`a known option (${[...KNOWN].join(', ')})`, 'option name', key);
  }
  const text = (key: keyof DatasetRunOptions) => {
    const v = o[key];
    if (v !== undefined && typeof v !== 'string') throw invalid('a string', n(key), v);
    return v as string | undefined;
  };
  const texts = (key: 'inputs' | 'lists') => {
    const v = o[key];
    if (v !== undefined && !(Array.isArray(v) && v.every((x) => typeof x === 'string'))) throw invalid('a list of strings', n(key), v);
    return v ?? [];
  };
  const out = text('out');
  if (!out) {
    if (names === 'flags') throw new UsageError('no output folder: pass --out DIR');
    throw invalid('a folder or an s3://bucket/prefix', 'out', o.out);
  }
  if (isHttp(out)) throw new UsageError(`${n('out')} ${out}: outputs go to a folder or an s3://bucket/prefix, not to an HTTP(S) URL`);
  const inputs = texts('inputs');
  const lists = texts('lists');
  for (const key of ['listRoot', 'model', 'encoder', 'decoder', 'device', 'shard', 'preset'] as const) text(key);

  const raw: SettingsInput = {};
  for (const spec of SETTING_SPECS) {
    const v = o[spec.key];
    if (v !== undefined) raw[spec.key] = v;
  }
  // A file's JSON; checkSettings checks its shape.
  const gridsFile = typeof o.pointGrids === 'string' ? o.pointGrids : undefined;
  if (gridsFile !== undefined) raw.pointGrids = (await readJsonOption(n('pointGrids'), gridsFile)).value;
  else if (o.pointGrids !== undefined) raw.pointGrids = o.pointGrids;
  if (o.sampling !== undefined) raw.sampling = o.sampling;
  let settings: CheckedSettings;
  try {
    settings = checkSettings(raw, o.preset ?? 'default', names);
  } catch (err) {
    // A bad point in the grids file: the message names the file too.
    const label = ` ${n('pointGrids')}`;
    if (err instanceof UsageError && gridsFile) throw new UsageError(err.message.replace(label, `${label} ${gridsFile}`));
    throw err;
  }

  const threads = o.threads === undefined ? undefined : checkNumber(n('threads'), o.threads, { integer: true, min: 1, max: 1024 });
  const jobs = checkNumber(n('jobs'), o.jobs ?? 1, { integer: true, min: 1, max: 256 });
  const workers = o.postprocessWorkers === undefined ? defaultPostprocessWorkers()
    : checkNumber(n('postprocessWorkers'), o.postprocessWorkers, { integer: true, min: 0, max: 256 });
  const device = parseDevice(o.device ?? 'cpu', n('device'));
  // Off the CPU, batching prompts is what pays: a batch of decoder prompts a call, where the graph allows.
  const promptsPerCall = o.promptsPerCall !== undefined
    ? checkNumber(n('promptsPerCall'), o.promptsPerCall, { integer: true, min: 1, max: 65536 })
    : device.kind === 'cpu' ? 1 : settings.given.pointsPerBatch ?? DEFAULT_SETTINGS.pointsPerBatch;
  const shard = o.shard === undefined ? undefined : parseShard(o.shard, n('shard'));
  const d = DEFAULT_DOWNLOAD_LIMITS;
  const download: DownloadLimits = {
    timeoutSeconds: checkNumber(n('downloadTimeout'), o.downloadTimeout ?? d.timeoutSeconds, { min: 0, minExclusive: true, max: 86400 }),
    maxBytes: Math.max(1, Math.floor(2 ** 20 * checkNumber(n('downloadLimit'), o.downloadLimit ?? d.maxBytes / 2 ** 20, { min: 0, minExclusive: true, max: 2 ** 20 }))),
    retries: checkNumber(n('downloadRetries'), o.downloadRetries ?? d.retries, { integer: true, min: 0, max: 100 }),
  };
  const format = o.format ?? 'json';
  if (format !== 'json' && format !== 'png') throw invalid('one of json, png', n('format'), format);
  if (o.decoderGraph !== undefined && !DECODER_GRAPH_MODES.includes(o.decoderGraph)) {
    throw invalid(`one of ${DECODER_GRAPH_MODES.join(', ')}`, n('decoderGraph'), o.decoderGraph);
  }
  const filterGraph = o.filterGraph === undefined || typeof o.filterGraph === 'boolean' ? o.filterGraph
    : o.filterGraph === 'on' ? true : o.filterGraph === 'off' ? false
      : (() => { throw invalid('one of on, off, true, false', n('filterGraph'), o.filterGraph); })();
  if (o.overwrite !== undefined && typeof o.overwrite !== 'boolean') throw invalid('a boolean', n('overwrite'), o.overwrite);
  if (inputs.length === 0 && lists.length === 0) {
    throw new UsageError(names === 'flags' ? 'no inputs: name image files, folders or patterns, or pass --list FILE'
      : 'no inputs: name image files, folders or patterns in inputs, or list files in lists');
  }
  return {
    names, settings, threads, jobs, workers, device, promptsPerCall, shard, download, format, decoderGraph: o.decoderGraph, filterGraph,
  };
}

function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw signal.reason ?? new DOMException('This operation was aborted', 'AbortError');
}

/**
 * The library's front door, what `sam-amg <inputs...> --out DIR` runs:
 * checks every option, refuses an HTTP(S) `out`, proves `out` writable (a
 * folder is made only by the run's first write, so a run refused before it
 * leaves none; an S3 prefix is probed), lists the inputs and pulls the
 * model before any model loads, loads it, resolves the settings against its
 * family, and runs AMG over every image,
 * writing one output per image (rerunning resumes). It owns the model, the
 * post-processing workers and the output folder's lock for the run and
 * releases them whatever happens.
 *
 * An image that fails is in `summary.failed` (and the run goes on); a bad
 * option, a model that cannot be had, or output storage that fails rejects
 * (UsageError, ModelError, StorageError, RemoteFault). A signal aborted
 * before the run starts (while the model is pulled or loaded) rejects with
 * its reason; once the run has started, the run stops and resolves with
 * `summary.interrupted`.
 */
export async function runDataset(options: DatasetRunOptions): Promise<RunSummary> {
  const o = options;
  const c = await checkOptions(o);
  const n = (key: string) => optionName(key, c.names);
  const { signal } = o;
  throwIfAborted(signal);
  // Before any model is loaded: a provider that is not installed or cannot start, or an output folder that cannot be written, fails in a moment.
  checkDeviceAvailable(c.device, n('device'));
  await probeDevice(c.device, n('device'));
  // Proved writable and left as it was: the folder appears with the run's first file (its lock), so a refused run leaves none.
  await storeFor(o.out).prepare(o.out, n('out'));
  const sources = { paths: o.inputs ?? [], lists: o.lists, listRoot: o.listRoot, readStdin: o.readStdin ?? readProcessStdin };
  const preflight = await preflightRun({ sources, outDir: o.out, shard: c.shard, names: c.names });
  throwIfAborted(signal);
  const files = await chooseModel(o, { names: c.names, onNotice: o.onNotice, onDownload: o.onModelDownload, signal });
  throwIfAborted(signal);
  o.onEvent?.({
    event: 'loading', images: preflight.mine.length, skipped_non_images: preflight.list.skippedNonImages, shard: shardName(c.shard),
    model: o.model ?? (o.encoder ? `${o.encoder}, ${o.decoder}` : loadRegistry().default), out: o.out, resuming: preflight.resuming,
  });
  const model = await SamOnnxModel.load(files, {
    threads: c.threads, promptsPerCall: c.promptsPerCall, decoderGraph: c.decoderGraph, filterGraph: c.filterGraph, device: c.device, onNotice: o.onNotice,
  });
  let pool: PostprocessPool | undefined;
  try {
    throwIfAborted(signal);
    const settings = completeSettings(c.settings, model.amgReference);
    const identity = await runIdentity(files, settings, c.format);
    pool = c.workers > 0 ? new PostprocessPool(c.workers) : undefined;
    return await runPrepared({
      sources,
      outDir: o.out,
      model,
      settings,
      identity,
      jobs: c.jobs,
      shard: c.shard,
      overwrite: o.overwrite,
      signal,
      generate: { processor: pool },
      download: c.download,
      names: c.names,
      onEvent: o.onEvent,
      preflight,
    });
  } finally {
    await pool?.close();
    await model.release();
  }
}
