import { ModelError } from '../model/model-error.js';
import type { DecoderGraphMode } from '../model/decoder-sessions.js';
import type { OutputFormat } from '../output/run-identity.js';
import { runDataset, type DatasetRunOptions } from '../runner/run.js';
import { SETTING_SPECS, type Sampling } from '../settings/settings.js';
import { checkNumber, UsageError } from '../errors.js';
import { printedPull } from './model-choice.js';
import { BarReporter, count, JsonLinesReporter, PlainReporter, type Reporter } from './progress.js';

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

function chooseReporter(o: RunCliOptions, interval: number): Reporter {
  if (o.json) return new JsonLinesReporter(interval);
  if (!o.quiet && process.stderr.isTTY) return new BarReporter();
  return new PlainReporter(interval, o.quiet);
}

const isAbort = (err: unknown) => (err as Error)?.name === 'AbortError';

/**
 * `sam-amg <inputs...> --out DIR`: hands the flags to the library's
 * runDataset, prints its events and summary, and turns SIGINT and SIGTERM
 * into its abort signal (a second one exits at once).
 */
export async function runCommand(inputs: string[], o: RunCliOptions): Promise<number> {
  // The one option of the CLI alone, checked first: the reporter exists before the run does.
  if (inputs.length === 0 && !o.list?.length && !o.out) {
    throw new UsageError('no inputs and no --out; usage: sam-amg <images...> --out DIR [options] (see sam-amg --help)');
  }
  const interval = checkNumber('--progress-interval', o.progressInterval ?? '10', { min: 0 });
  const options: DatasetRunOptions = {
    inputs, lists: o.list, listRoot: o.root, out: o.out as string, model: o.model, encoder: o.encoder, decoder: o.decoder,
    device: o.device, threads: o.threads, jobs: o.jobs, postprocessWorkers: o.postprocessWorkers, promptsPerCall: o.promptsPerCall,
    decoderGraph: o.decoderGraph, filterGraph: o.filterGraph, preset: o.preset, format: o.format as OutputFormat, shard: o.shard,
    overwrite: o.overwrite, downloadTimeout: o.downloadTimeout, downloadLimit: o.downloadLimit, downloadRetries: o.downloadRetries,
    pointGrids: o.pointGrids, sampling: o.sampling as Sampling | undefined, names: 'flags',
  };
  // Commander keeps each setting's flag under its camelCase name, the setting's key.
  for (const spec of SETTING_SPECS) {
    const v = o[spec.key];
    if (v !== undefined) options[spec.key] = v as string;
  }
  const reporter = chooseReporter(o, interval);
  const controller = new AbortController();
  const onSignal = (signal: NodeJS.Signals) => {
    if (controller.signal.aborted) process.exit(EXIT.interrupted);
    reporter.note(`sam-amg: ${signal}: stopping; writes under way finish (send it again to stop at once)`);
    controller.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const pull = printedPull(o.quiet);
    const summary = await runDataset({
      ...options,
      signal: controller.signal,
      onNotice: pull.onNotice,
      onModelDownload: pull.onDownload,
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
      process.stderr.write(`sam-amg: ${count(summary.images, 'image')}: ${summary.written} written, ` +
        `${summary.changed ? `${summary.changed} changed, ` : ''}` +
        `${summary.skipped} already done, ${summary.failed.length} failed` +
        `${summary.skippedNonImages ? `, ${count(summary.skippedNonImages, 'non-image file')} skipped` : ''}; ` +
        `${count(summary.masks, 'mask')} from ${count(summary.prompts, 'prompt')} in ${summary.seconds.toFixed(1)} s (${rate} images/s)` +
        `${summary.interrupted ? '; interrupted' : ''}\n`);
    }
    if (summary.interrupted) return EXIT.interrupted;
    return summary.failed.length > 0 ? EXIT.someFailed : EXIT.ok;
  } catch (err) {
    // Stopped before the run began (a model being pulled or loaded): nothing more to say.
    if (controller.signal.aborted && isAbort(err)) return EXIT.interrupted;
    throw err;
  } finally {
    reporter.close();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

export function isUserFacing(err: unknown): err is Error {
  return err instanceof UsageError || err instanceof ModelError;
}
